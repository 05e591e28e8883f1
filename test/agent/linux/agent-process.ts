/**
 * Stands in for an agent process in the restart tests: launches one container, prints the state
 * it would checkpoint as one JSON line, then idles until it is killed.
 *
 *   node agent-process.js <agentName> <runDir> <sandboxDir> <containerId> <shell command>
 */
import { linuxCapabilities } from '../../../agent/containerizer/linux/capabilities.js';
import { LinuxContainerizer } from '../../../agent/containerizer/linux/linux-containerizer.js';

const [agentName, runDir, sandboxDir, containerId, command] = process.argv.slice(2);
if (!agentName || !runDir || !sandboxDir || !containerId || !command) {
  throw new Error(
    'usage: agent-process.js <agentName> <runDir> <sandboxDir> <containerId> <command>',
  );
}
const capabilities = await linuxCapabilities();
if (!capabilities.ok) throw new Error(capabilities.reasons.join('; '));
const containerizer = new LinuxContainerizer(capabilities, {
  agentName,
  runDir,
  pollIntervalMs: 50,
});
const state = await containerizer.launch({
  containerId,
  taskId: `task-${containerId}`,
  sandboxDir,
  runtime: 'linux',
  resources: { cpus: 0.5, memMiB: 64, diskMiB: 16 },
  command: { shell: true, value: command, arguments: [], environment: {} },
});
process.stdout.write(`${JSON.stringify(state)}\n`);
// Keep the event loop alive as a real agent would; the test kills this process with SIGKILL.
setInterval(() => undefined, 60_000);
