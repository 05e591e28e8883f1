/**
 * The prepare worker's entry point: one prepare at a time, bytes in, plain
 * data out (glue text and instrumented core modules, their buffers
 * transferred). jco is loaded on the first component, and stays loaded.
 * Nothing here compiles guest code to run: the caller's thread compiles the
 * result (WebAssembly.compile is asynchronous there).
 */
import { parentPort } from 'node:worker_threads';
import { assert } from '../../lib/assert.js';
import { ok, type Result } from '../../lib/result.js';
import { instrumentCore, UNMETERED_PLAN, type InstrumentedCore } from '../instrumentation.js';
import type { PrepareReply, PrepareRequest, PreparedData } from './messages.js';

const CORE_FILE = 'module.wasm';

interface Work {
  instrumentMs: number;
}

function instrumentOne(
  request: PrepareRequest,
  bytes: Uint8Array,
  work: Work,
): Result<InstrumentedCore, string> {
  if (!request.instrument) return ok({ bytes, limits: UNMETERED_PLAN });
  const startedMs = performance.now();
  let instrumented = instrumentCore(bytes, request.moduleBytesMax);
  for (let pass = 1; pass < request.passes; pass++) {
    instrumented = instrumentCore(bytes, request.moduleBytesMax);
  }
  work.instrumentMs += performance.now() - startedMs;
  return instrumented;
}

async function prepare(request: PrepareRequest): Promise<PrepareReply> {
  const work: Work = { instrumentMs: 0 };
  const startedMs = performance.now();
  const times = () => ({
    transpileMs:
      request.kind === 'component' ? performance.now() - startedMs - work.instrumentMs : 0,
    instrumentMs: work.instrumentMs,
  });
  const { jobId } = request;
  if (request.kind === 'core') {
    const instrumented = instrumentOne(request, request.bytes, work);
    if (!instrumented.ok) {
      const message = `invalid module: ${instrumented.error}`;
      return {
        type: 'refused',
        jobId,
        code: 'invalid_wasm',
        message,
        times: times(),
        askEngine: true,
      };
    }
    const data: PreparedData = {
      kind: 'core',
      limits: { [CORE_FILE]: instrumented.value.limits },
      files: { [CORE_FILE]: instrumented.value.bytes },
    };
    return { type: 'prepared', jobId, data, times: times() };
  }
  const { prepareComponent } = await import('../component/prepare.js');
  const prepared = await prepareComponent(request.bytes, {
    instrument: (_name, core) => instrumentOne(request, core, work),
  });
  if (!prepared.ok) {
    const { code, message, details } = prepared.error;
    return {
      type: 'refused',
      jobId,
      code,
      message,
      ...(details !== undefined ? { details } : {}),
      times: times(),
    };
  }
  const data: PreparedData = {
    kind: 'component',
    world: prepared.value.world,
    glueSource: prepared.value.glueSource,
    limits: prepared.value.limits,
    files: prepared.value.coreModules,
  };
  return { type: 'prepared', jobId, data, times: times() };
}

/**
 * Each file's bytes in a buffer of their own, listed once: the buffers move
 * to the caller instead of being copied. A view into a larger or shared
 * buffer (jco's output may be) is copied first, so nothing else is detached.
 */
function ownedFiles(files: Readonly<Record<string, Uint8Array>>): {
  files: Record<string, Uint8Array>;
  transfer: ArrayBuffer[];
} {
  const owned: Record<string, Uint8Array> = {};
  const transfer = new Set<ArrayBuffer>();
  for (const [name, bytes] of Object.entries(files)) {
    const whole =
      bytes.buffer instanceof ArrayBuffer &&
      bytes.byteOffset === 0 &&
      bytes.byteLength === bytes.buffer.byteLength &&
      !transfer.has(bytes.buffer);
    const file = whole ? bytes : bytes.slice();
    owned[name] = file;
    transfer.add(file.buffer as ArrayBuffer);
  }
  return { files: owned, transfer: [...transfer] };
}

const port = parentPort;
assert(port !== null, 'the prepare worker has a parent port');
// One at a time: the client sends the next request only after this reply.
port.on('message', (request: PrepareRequest) => {
  void prepare(request)
    .catch((error: unknown): PrepareReply => ({
      type: 'refused',
      jobId: request.jobId,
      code: 'prepare_failed',
      message: `preparing threw: ${error instanceof Error ? error.message : String(error)}`,
      times: { transpileMs: 0, instrumentMs: 0 },
    }))
    .then((reply) => {
      if (reply.type !== 'prepared') return port.postMessage(reply);
      const { files, transfer } = ownedFiles(reply.data.files);
      port.postMessage({ ...reply, data: { ...reply.data, files } }, transfer);
    });
});
