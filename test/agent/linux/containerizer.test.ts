import type { SuiteTask, SuiteTaskKind } from '../containerizer-suite.js';
import { runContainerizerSuite } from '../containerizer-suite.js';
import { linuxHarness } from './harness.js';

const SCRIPTS: Record<SuiteTaskKind, string> = {
  'exit-zero': 'exit 0',
  'exit-three': 'exit 3',
  // The shell is PID 1 of its namespace: it receives SIGTERM only because it traps it.
  'run-until-stopped': "trap 'exit 0' TERM; while :; do sleep 0.05; done",
  // An ignored signal stays ignored in the sleeps it forks, so only SIGKILL ends this.
  'ignore-stop': "trap '' TERM; while :; do sleep 0.05; done",
  'exit-after-a-second': 'sleep 1',
};

function linuxTask(kind: SuiteTaskKind): SuiteTask {
  return {
    runtime: 'linux',
    resources: { cpus: 0.5, memMiB: 64, diskMiB: 16 },
    command: { shell: true, value: SCRIPTS[kind], arguments: [], environment: {} },
  };
}

runContainerizerSuite({
  name: 'linux',
  make: async () => {
    const harness = await linuxHarness();
    return {
      containerizer: harness.make(),
      task: linuxTask,
      restart: async () => harness.make(),
      close: () => harness.cleanup(),
    };
  },
  survivesAgentRestart: true,
});
