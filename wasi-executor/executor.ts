/**
 * The executor: untrusted .wasm in, TaskResult out.
 *
 *   const executor = new Executor({ workDir });
 *   const prepared = await executor.prepare(bytes);       // Result: invalid_wasm, missing_import, …
 *   if (!prepared.ok) return reject(prepared.error);
 *   const result = await executor.run(prepared.value, { args, env, preopens, limits }, { onStdout });
 *   await executor.close();
 *
 * prepare: digest → in-memory LRU → disk cache (keyed by digest and tool
 * versions) → kind (preview1 core module or component) → instrument →
 * compile once → check imports. The CPU-heavy synchronous part (jco's
 * transpile, instrumenting) runs in the prepare worker (prepare-worker/), so
 * the caller's event loop keeps running; compiling is asynchronous. run: check the spec, queue the task for a
 * worker isolate, which builds a fresh host and instance for it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { assert } from '../lib/assert.js';
import { silentLogger, type Logger } from '../lib/log.js';
import { LruMap } from '../lib/lru.js';
import { err, ok, type Result } from '../lib/result.js';
import { DiskCache, cacheKey } from './disk-cache.js';
import { applyEngineTiering, type EngineTiering } from './engine.js';
import type { GuestArtifact } from './guest.js';
import { LIMITS_IMPORT_MODULE, instrumenterVersion } from './instrumentation.js';
import { resolveExecutorLimits, type ExecutorLimits } from './limits.js';
import {
  checkPreview1Exports,
  checkPreview1Imports,
  detectBinaryKind,
  type BinaryKind,
} from './prepare.js';
import { PrepareWorker, type PrepareJob } from './prepare-worker/client.js';
import type { PreparedData } from './prepare-worker/messages.js';
import { checkTaskSpec } from './spec.js';
import { ExecutorError, type TaskResult, type TaskSpec } from './types.js';
import { WorkerPool } from './worker/pool.js';

export interface ExecutorOptions {
  /** Where prepared artifacts are cached on disk; no disk cache when absent. */
  readonly workDir?: string;
  readonly limits?: Partial<ExecutorLimits>;
  /** Fuel metering and memory caps (default true). Off only to measure their cost. */
  readonly instrument?: boolean;
  readonly logger?: Logger;
  /** Process-wide (see engine.ts); default 'optimized'. */
  readonly tiering?: EngineTiering;
}

export interface WarmOptions {
  /** Load and run jco and the instrumenter once, so a new component's first prepare is fast. */
  readonly componentTools?: boolean;
  /** The component to warm them with (default WARM_SAMPLE_COMPONENT). */
  readonly sampleComponent?: Uint8Array;
}

/** A 29 KB wasi:cli/command component shipped with the repository (components/p2/hello.c). */
export const WARM_SAMPLE_COMPONENT = new URL(
  '../../components/built/p2/hello.wasm',
  import.meta.url,
);

export interface PreparedModule {
  /** sha256 of the input bytes, hex. */
  readonly digest: string;
  readonly kind: BinaryKind;
  readonly artifact: GuestArtifact;
  /** Where it came from this time: work done, or which cache. */
  readonly source: 'compiled' | 'memory_cache' | 'disk_cache';
  readonly prepareMs: number;
  /** Where prepareMs went (absent for a memory cache hit, which costs nothing). */
  readonly phasesMs?: PreparePhases;
}

type PreparedModuleTimes = Pick<PreparePhases, 'transpileMs' | 'instrumentMs'>;

/** The parts of one prepare, in ms; a part that did not run is 0. */
export interface PreparePhases {
  /** Looking up and reading the disk cache entry. */
  readonly cacheReadMs: number;
  /** jco's transpile and the checks of the glue (components only). */
  readonly transpileMs: number;
  readonly instrumentMs: number;
  /** Compiling the core modules (V8), and the import checks of a core module. */
  readonly compileMs: number;
}

export interface RunOptions {
  readonly onStdout?: (bytes: Uint8Array) => void;
  readonly onStderr?: (bytes: Uint8Array) => void;
  readonly signal?: AbortSignal;
}

const CORE_FILE = 'module.wasm';

/**
 * How often warm() instruments the sample's core modules (about 18 KB): V8
 * optimizes the instrumenter only after it has run a while. After one pass a
 * new 180 KB core module took 100-250 ms to instrument on a loaded machine,
 * after ten 10-40 ms (docs/BENCHMARKS.md, cold start).
 */
const INSTRUMENTER_WARM_PASSES = 10;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Executor {
  readonly limits: ExecutorLimits;
  private readonly logger: Logger;
  private readonly instrument: boolean;
  private readonly memoryCache: LruMap<string, PreparedModule>;
  private readonly inflight = new Map<string, Promise<Result<PreparedModule, ExecutorError>>>();
  private readonly diskCache: DiskCache | undefined;
  private readonly pool: WorkerPool;
  private readonly preparer: PrepareWorker;
  private componentTools: string | undefined;
  private readonly tiering: EngineTiering;

  constructor(options: ExecutorOptions = {}) {
    const limits = resolveExecutorLimits(options.limits);
    if (!limits.ok) throw new ExecutorError('invalid_spec', limits.error);
    this.limits = limits.value;
    this.logger = options.logger ?? silentLogger;
    this.instrument = options.instrument ?? true;
    this.tiering = options.tiering ?? 'optimized';
    applyEngineTiering(this.tiering);
    this.memoryCache = new LruMap(this.limits.preparedEntriesMax);
    this.diskCache =
      options.workDir === undefined ? undefined : new DiskCache(options.workDir, this.logger);
    this.pool = new WorkerPool(this.limits, this.logger);
    this.preparer = new PrepareWorker(this.limits, this.logger);
  }

  async prepare(bytes: Uint8Array): Promise<Result<PreparedModule, ExecutorError>> {
    if (bytes.length > this.limits.moduleBytesMax) {
      const message = `the binary is ${bytes.length} bytes, above the limit of ${this.limits.moduleBytesMax}`;
      return err(new ExecutorError('invalid_wasm', message));
    }
    const digest = createHash('sha256').update(bytes).digest('hex');
    const cached = this.memoryCache.get(digest);
    if (cached !== undefined) {
      // The phases were those of the prepare that made the entry; this one did no work.
      const { phasesMs: _phases, ...entry } = cached;
      return ok({ ...entry, source: 'memory_cache', prepareMs: 0 });
    }
    let pending = this.inflight.get(digest);
    if (pending === undefined) {
      pending = this.prepareUncached(bytes, digest).finally(() => this.inflight.delete(digest));
      this.inflight.set(digest, pending);
    }
    const prepared = await pending;
    if (prepared.ok) this.memoryCache.set(digest, prepared.value);
    return prepared;
  }

  async run(
    prepared: PreparedModule,
    spec: TaskSpec,
    options: RunOptions = {},
  ): Promise<Result<TaskResult, ExecutorError>> {
    const checked = checkTaskSpec(spec, this.limits);
    if (!checked.ok) return checked;
    return this.pool.run({
      artifact: prepared.artifact,
      spec: checked.value.guest,
      limits: checked.value.limits,
      ...(options.onStdout ? { onStdout: options.onStdout } : {}),
      ...(options.onStderr ? { onStderr: options.onStderr } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * Starts the worker pool and the prepare worker ahead of the first task
   * (otherwise they start on demand). With `componentTools`, also runs the component pipeline on a
   * sample component (WARM_SAMPLE_COMPONENT unless given), bypassing the
   * caches: the first prepare in a process otherwise pays seconds for jco
   * loading and compiling its wasm-tools, and a new component's first task
   * would (docs/BENCHMARKS.md). All of that happens in the prepare worker,
   * not on the caller's thread. The instrumenter runs over the sample's core
   * modules `INSTRUMENTER_WARM_PASSES` times, so V8 has optimized it before
   * the first real module; then the sample runs once in every worker, which
   * loads the component host there (otherwise each worker's first component
   * task pays for it).
   */
  async warm(options: WarmOptions = {}): Promise<void> {
    const pool = this.pool.warm();
    this.preparer.start();
    if (options.componentTools !== true) return pool;
    const sample = new Uint8Array(
      options.sampleComponent ?? (await readFile(WARM_SAMPLE_COMPONENT)),
    );
    const prepared = await this.preparer.prepare({
      kind: 'component',
      bytes: sample,
      instrument: this.instrument,
      passes: INSTRUMENTER_WARM_PASSES,
    });
    const artifact = prepared.ok
      ? await this.compile(prepared.value.data, sample)
      : err(prepared.error.error);
    await pool;
    if (!artifact.ok) {
      this.logger.warn('warming the component tools failed', { error: artifact.error.message });
      return;
    }
    const spec = checkTaskSpec({}, this.limits);
    assert(spec.ok, 'an empty task spec is valid');
    await Promise.all(
      Array.from({ length: this.pool.workerCount }, () =>
        this.pool.run({
          artifact: artifact.value,
          spec: spec.value.guest,
          limits: spec.value.limits,
        }),
      ),
    );
  }

  /** Ends every task (queued ones as killed), every worker and the prepare worker. */
  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.preparer.close()]);
  }

  get workerCount(): number {
    return this.pool.workerCount;
  }

  private async prepareUncached(
    bytes: Uint8Array,
    digest: string,
  ): Promise<Result<PreparedModule, ExecutorError>> {
    const startedMs = performance.now();
    const kind = detectBinaryKind(bytes);
    if (!kind.ok) return kind;
    const key = cacheKey(digest, await this.toolVersions(kind.value));
    const cacheStartedMs = performance.now();
    let data = this.readCache(key);
    const cacheReadMs = performance.now() - cacheStartedMs;
    const source = data === undefined ? 'compiled' : 'disk_cache';
    let times = { transpileMs: 0, instrumentMs: 0 };
    if (data === undefined) {
      const made = await this.prepareInWorker({
        kind: kind.value,
        bytes,
        instrument: this.instrument,
      });
      if (!made.ok) return made;
      ({ data, times } = made.value);
      this.writeCache(key, data);
    }
    const compileStartedMs = performance.now();
    const artifact = await this.compile(data, bytes);
    if (!artifact.ok) return artifact;
    const compileMs = performance.now() - compileStartedMs;
    return ok({
      digest,
      kind: kind.value,
      artifact: artifact.value,
      source,
      prepareMs: performance.now() - startedMs,
      phasesMs: { cacheReadMs, ...times, compileMs },
    });
  }

  private async toolVersions(kind: BinaryKind): Promise<string> {
    const engine = `node@${process.versions.node}+v8@${process.versions.v8}`;
    const instrument = this.instrument ? `instrument@${instrumenterVersion()}` : 'unmetered';
    if (kind === 'core') return `${engine}+${instrument}`;
    if (this.componentTools === undefined) {
      // Not prepare.js: that would load jco on this thread.
      const component = await import('./component/versions.js');
      this.componentTools = component.componentToolVersions;
    }
    return `${engine}+${instrument}+${this.componentTools}`;
  }

  /** Transpiles and instruments in the prepare worker; the times are the worker's. */
  private async prepareInWorker(
    job: PrepareJob,
  ): Promise<Result<{ data: PreparedData; times: PreparedModuleTimes }, ExecutorError>> {
    const made = await this.preparer.prepare(job);
    if (made.ok) return ok(made.value);
    if (made.error.askEngine) {
      // The engine's own words say best what is wrong with an invalid module.
      const engineMessage = await compileError(job.bytes);
      if (engineMessage !== undefined)
        return err(new ExecutorError('invalid_wasm', `invalid module: ${engineMessage}`));
    }
    return err(made.error.error);
  }

  /** Compiles every core module once; the result is sent to workers as is. */
  private async compile(
    data: PreparedData,
    original: Uint8Array,
  ): Promise<Result<GuestArtifact, ExecutorError>> {
    const modules: Record<string, WebAssembly.Module> = {};
    for (const [name, file] of Object.entries(data.files)) {
      try {
        modules[name] = await WebAssembly.compile(file);
      } catch (error) {
        if (data.kind === 'core') {
          const engineMessage = await compileError(original);
          if (engineMessage !== undefined)
            return err(new ExecutorError('invalid_wasm', `invalid module: ${engineMessage}`));
        }
        this.logger.error('instrumented module does not compile', {
          name,
          error: messageOf(error),
        });
        return err(
          new ExecutorError(
            'invalid_wasm',
            `${name} does not compile after instrumentation: ${messageOf(error)}`,
          ),
        );
      }
    }
    if (data.kind === 'component') {
      assert(
        data.world !== undefined && data.glueSource !== undefined,
        'a prepared component has world and glue',
      );
      return ok({
        kind: 'component',
        world: data.world,
        glueSource: data.glueSource,
        coreModules: modules,
        limits: data.limits,
      });
    }
    const module = modules[CORE_FILE];
    const limits = data.limits[CORE_FILE];
    assert(
      module !== undefined && limits !== undefined,
      'a prepared core module has its module and plan',
    );
    const imports = checkPreview1Imports(WebAssembly.Module.imports(module), LIMITS_IMPORT_MODULE);
    if (!imports.ok) return imports;
    const exports = checkPreview1Exports(WebAssembly.Module.exports(module));
    if (!exports.ok) return exports;
    return ok({ kind: 'preview1', module, limits });
  }

  private readCache(key: string): PreparedData | undefined {
    const entry = this.diskCache?.get(key);
    if (entry === undefined) return undefined;
    const meta = entry.meta as Omit<PreparedData, 'files'>;
    return { ...meta, files: entry.files };
  }

  private writeCache(key: string, data: PreparedData): void {
    if (this.diskCache === undefined) return;
    const { files, ...meta } = data;
    this.diskCache.put(key, { meta, files });
  }
}

/** The engine's message for bytes that do not compile; undefined when they do. */
async function compileError(bytes: Uint8Array): Promise<string | undefined> {
  try {
    await WebAssembly.compile(bytes);
    return undefined;
  } catch (error) {
    return messageOf(error);
  }
}
