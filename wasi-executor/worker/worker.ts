/**
 * The worker isolate's entry point: waits for one task at a time, builds a
 * fresh context and host for it, runs it, and reports the verdict. Nothing
 * survives from one task to the next except compiled code and the runners.
 */
import { parentPort } from 'node:worker_threads';
import { assert } from '../../lib/assert.js';
import type { GuestArtifact, GuestRunner } from '../guest.js';
import { runPreview1 } from '../preview1/run.js';
import { createTaskContext } from './context.js';
import type { DoneMessage, OutputMessage, RunMessage } from './messages.js';
import { verdictOfOutcome, verdictOfThrown, type Verdict } from './verdict.js';

type ComponentArtifact = Extract<GuestArtifact, { kind: 'component' }>;
let componentRunner: GuestRunner<ComponentArtifact> | undefined;

/** Loaded on first use: a worker that only runs preview1 modules never loads the component host. */
async function loadComponentRunner(): Promise<GuestRunner<ComponentArtifact>> {
  if (componentRunner === undefined) {
    // Named at run time: the component path is built beside this one and may be absent.
    const specifier = '../component/run.js';
    const loaded = (await import(specifier)) as {
      runComponent: GuestRunner<ComponentArtifact>;
    };
    componentRunner = loaded.runComponent;
  }
  return componentRunner;
}

async function runTask(message: RunMessage): Promise<DoneMessage> {
  const port = parentPort;
  assert(port !== null, 'the worker has a parent port');
  const context = createTaskContext(
    message.spec,
    message.limits,
    new Float64Array(message.progress),
    (stream, bytes, truncated) => {
      const output: OutputMessage = {
        type: 'output',
        taskId: message.taskId,
        stream,
        bytes,
        truncated,
      };
      port.postMessage(output);
    },
    message.fuelSliceUnits,
  );
  let verdict: Verdict;
  try {
    const artifact = message.artifact;
    const outcome =
      artifact.kind === 'preview1'
        ? await runPreview1(artifact, context)
        : await (
            await loadComponentRunner()
          )(artifact, context);
    verdict = verdictOfOutcome(outcome, facts(context, message));
  } catch (thrown) {
    verdict = verdictOfThrown(thrown, facts(context, message));
  }
  context.flushOutput();
  return {
    type: 'done',
    taskId: message.taskId,
    verdict,
    fuelConsumed: context.fuelConsumed(),
    peakMemoryBytes: context.memoryBytes(),
    stdoutTruncated: context.stdout.truncated,
    stderrTruncated: context.stderr.truncated,
  };
}

function facts(context: ReturnType<typeof createTaskContext>, message: RunMessage) {
  return {
    fuelExhausted: context.fuelExhausted,
    memoryGrowFailed: context.memoryGrowFailed,
    memoryBytes: context.memoryBytes(),
    memoryBytesMax: message.limits.memoryBytesMax,
  };
}

const port = parentPort;
assert(port !== null, 'worker.ts runs only as a worker');
port.on('message', (message: RunMessage) => {
  assert(message.type === 'run', 'a worker receives only run messages');
  void runTask(message).then((done) => port.postMessage(done));
});
port.postMessage({ type: 'ready' });
