/**
 * The worker isolate's entry point: waits for one task at a time, builds a
 * fresh context and host for it, runs it, and reports the verdict. Nothing
 * survives from one task to the next except compiled code (the artifacts it
 * was sent, kept by id) and the runners.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { assert } from '../../lib/assert.js';
import type { GuestArtifact, GuestRunner } from '../guest.js';
import { runPreview1 } from '../preview1/run.js';
import { createTaskContext } from './context.js';
import { SpareMemories } from './spare-memories.js';
import type {
  DoneMessage,
  OutputChunk,
  OutputMessage,
  RunMessage,
  WorkerSetup,
} from './messages.js';
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

const setup = workerData as WorkerSetup;
assert(setup.progress instanceof SharedArrayBuffer, 'the worker is given its progress array');
const progress = new Float64Array(setup.progress);

const spareMemories = new SpareMemories();

/** Artifacts this worker was sent, by the pool's id; the pool bounds them (RunMessage.forget). */
const artifacts = new Map<number, GuestArtifact>();

function artifactOf(message: RunMessage): GuestArtifact {
  for (const id of message.forget) artifacts.delete(id);
  if (message.artifact !== undefined) artifacts.set(message.artifactId, message.artifact);
  const artifact = artifacts.get(message.artifactId);
  assert(artifact !== undefined, 'the pool sends an artifact before referring to it');
  return artifact;
}

async function runTask(message: RunMessage): Promise<DoneMessage> {
  const port = parentPort;
  assert(port !== null, 'the worker has a parent port');
  const artifact = artifactOf(message);
  /** Once the guest is done, what the last flush emits rides in the done message. */
  let ended = false;
  const heldToTheEnd: OutputChunk[] = [];
  const context = createTaskContext(
    message.spec,
    message.limits,
    progress,
    (stream, bytes, truncated) => {
      if (ended) {
        heldToTheEnd.push({ stream, bytes, truncated });
        return;
      }
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
    spareMemories,
  );
  let verdict: Verdict;
  try {
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
  ended = true;
  context.flushOutput();
  const done: DoneMessage = {
    type: 'done',
    taskId: message.taskId,
    verdict,
    fuelConsumed: context.fuelConsumed(),
    peakMemoryBytes: context.memoryBytes(),
    stdoutTruncated: context.stdout.truncated,
    stderrTruncated: context.stderr.truncated,
    output: heldToTheEnd,
  };
  // A preview1 task is over when _start returns or throws: nothing of it runs again.
  if (artifact.kind === 'preview1') context.releaseMemories();
  return done;
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
