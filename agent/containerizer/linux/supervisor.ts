/**
 * The detached supervisor: one small Node process per container, started in a session of its
 * own so that it outlives the agent. It starts the task (which joins its cgroup before exec),
 * waits for it, reads the final usage and OOM count, kills anything left in the cgroup, writes
 * termination.json atomically, removes the cgroup and exits. A restarted agent re-attaches by
 * watching the run directory and this process's pid file.
 *
 *   node supervisor.js <container run dir>
 */
import { spawn } from 'node:child_process';
import { chown, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { nodeCgroupFs } from './cgroups/fs.js';
import { createCgroupBackend } from './cgroups/index.js';
import { subsystemRegistry } from './cgroups/subsystems/index.js';
import type { CgroupBackend } from './cgroups/backend.js';
import { JOINED_MESSAGE } from './namespaces/filesystem.js';
import { launchReportCharsMax } from './limits.js';
import { readProcessIdentity } from './process-identity.js';
import { readJsonFile, RUN_FILES, writeFileAtomic } from './run-dir.js';
import { parseSupervisorSpec, type SupervisorSpec } from './run-records.js';
import { classifyEnd, type ObservedEnd } from './termination.js';
import { fileExists } from './files.js';

interface ChildEnd {
  readonly joined: boolean;
  readonly launchError?: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
}

async function openOutput(path: string, spec: SupervisorSpec) {
  const file = await open(path, 'a', 0o640);
  await chown(path, spec.uid, spec.gid);
  return file;
}

interface LaunchReport {
  readonly joined: boolean;
  /** What the launch steps wrote on fd 3 instead (why a mount failed), bounded. */
  readonly text: string;
}

const joinedLine = new RegExp(`^${JOINED_MESSAGE}$`, 'm');

/**
 * Resolves joined once the filesystem step reported on fd 3 (a line of its own: an error text
 * naming a path could contain the word), not joined if fd 3 closed without it.
 */
function readJoined(stream: Readable): Promise<LaunchReport> {
  return new Promise((resolve) => {
    let text = '';
    const report = (joined: boolean) =>
      resolve({ joined, text: text.trim().slice(0, launchReportCharsMax) });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      if (text.length < launchReportCharsMax * 2) text += chunk;
      if (joinedLine.test(text)) report(true);
    });
    stream.on('close', () => report(joinedLine.test(text)));
    stream.on('error', () => report(false));
  });
}

async function runTask(spec: SupervisorSpec, runDir: string): Promise<ChildEnd> {
  const stdout = await openOutput(spec.stdoutPath, spec);
  const stderr = await openOutput(spec.stderrPath, spec);
  try {
    const child = spawn(spec.file, spec.args, {
      cwd: spec.sandboxDir,
      env: spec.env,
      stdio: ['ignore', stdout.fd, stderr.fd, 'pipe'],
    });
    const exited = new Promise<ChildEnd>((resolve) => {
      child.on('error', (error) =>
        resolve({ joined: false, launchError: error.message, exitCode: null, signal: null }),
      );
      child.on('exit', (code, signal) =>
        resolve({ joined: true, exitCode: code, signal: signal ?? null }),
      );
    });
    const channel = child.stdio[3] as Readable | null;
    const { joined, text } = channel
      ? await readJoined(channel)
      : { joined: false, text: 'no launch channel' };
    if (joined && child.pid !== undefined) {
      const running = { taskPid: child.pid, startedAtMs: Date.now() };
      await writeFileAtomic(join(runDir, RUN_FILES.running), JSON.stringify(running));
    }
    const end = await exited;
    if (joined) return end;
    return { ...end, joined: false, ...(text === '' ? {} : { launchError: text }) };
  } finally {
    await stdout.close();
    await stderr.close();
  }
}

async function finish(
  spec: SupervisorSpec,
  runDir: string,
  backend: CgroupBackend,
  end: ChildEnd,
  startedAtMs: number,
): Promise<void> {
  const usage = await backend.usage(spec.cgroup);
  // The PID namespace died with its PID 1, but a launch that failed half-way may leave
  // something behind: nothing outlives the container.
  await backend.killAll(spec.cgroup);
  const observed: ObservedEnd = {
    ...end,
    oomKills: usage.oomKills,
    killRequested: await fileExists(join(runDir, RUN_FILES.killRequested)),
    memLimitBytes: spec.memLimitBytes,
    durationMs: Date.now() - startedAtMs,
    cpuTimeMs: usage.cpuTimeMs,
    peakMemoryBytes: usage.peakMemoryBytes,
  };
  const termination = classifyEnd(observed);
  await writeFileAtomic(join(runDir, RUN_FILES.termination), JSON.stringify(termination));
  await backend.destroy(spec.cgroup);
}

async function main(runDir: string): Promise<void> {
  const startedAtMs = Date.now();
  const identity = await readProcessIdentity(process.pid);
  if (identity) {
    await writeFileAtomic(join(runDir, RUN_FILES.supervisor), JSON.stringify(identity));
  }
  const spec = await readJsonFile(join(runDir, RUN_FILES.spec), parseSupervisorSpec);
  if (!spec) throw new Error(`no readable ${RUN_FILES.spec} in ${runDir}`);
  const subsystems = spec.subsystems.map((name) => subsystemRegistry[name]);
  const backend = createCgroupBackend(nodeCgroupFs, spec.layout, subsystems);
  let end: ChildEnd;
  try {
    end = await runTask(spec, runDir);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    end = { joined: false, launchError: message, exitCode: null, signal: null };
  }
  await finish(spec, runDir, backend, end, startedAtMs);
}

const runDir = process.argv[2];
if (runDir === undefined) {
  process.stderr.write('usage: supervisor.js <container run dir>\n');
  process.exitCode = 2;
} else {
  main(runDir).catch((error: unknown) => {
    process.stderr.write(
      `supervisor failed: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}
