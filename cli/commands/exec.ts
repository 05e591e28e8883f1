import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { WasmosError } from '../../lib/errors.js';
import { err, ok, type Result } from '../../lib/result.js';
import { formatBytes, formatDurationMs, parseBytes, parseDurationMs } from '../../lib/units.js';
import { Executor } from '../../wasi-executor/executor.js';
import type {
  Preopen,
  TaskLimits,
  TaskReason,
  TaskResult,
  TaskSpec,
} from '../../wasi-executor/types.js';

interface ExecOptions {
  fuel?: string;
  memory?: string;
  timeout?: string;
  allowRead: string[];
  allowWrite: string[];
  env: string[];
  stdin?: string;
  stats?: boolean;
  json?: boolean;
  cacheDir?: string;
}

/** Exit statuses for tasks that did not exit by themselves (as shells report signals and timeouts). */
const EXIT_STATUS_OF: Readonly<Partial<Record<TaskReason, number>>> = {
  timeout: 124,
  killed: 137,
};
/** A trap, a limit hit, a stack overflow: the status of an abort, as wasmtime reports a trap. */
const EXIT_STATUS_ABORTED = 134;

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `HOST[:GUEST]`: the guest path defaults to the host path, as `wasmtime run --dir` does. */
export function parseGrant(text: string, writable: boolean): Preopen {
  const colon = text.indexOf(':');
  const hostPath = colon < 0 ? text : text.slice(0, colon);
  const guestPath = colon < 0 ? text : text.slice(colon + 1);
  return { hostPath, guestPath, writable };
}

export function parseEnv(pairs: readonly string[]): Result<Record<string, string>, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) return err(`--env expects NAME=VALUE, got "${pair}"`);
    env[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return ok(env);
}

export function parseLimits(options: ExecOptions): Result<Partial<TaskLimits>, string> {
  const limits: { -readonly [K in keyof TaskLimits]?: number } = {};
  if (options.fuel !== undefined) {
    const fuel = Number(options.fuel.replaceAll('_', ''));
    if (!Number.isSafeInteger(fuel) || fuel <= 0)
      return err(`--fuel expects a positive integer, got "${options.fuel}"`);
    limits.fuel = fuel;
  }
  if (options.memory !== undefined) {
    const memory = parseBytes(options.memory);
    if (!memory.ok) return err(`--memory: ${memory.error}`);
    limits.memoryBytesMax = memory.value;
  }
  if (options.timeout !== undefined) {
    const timeout = parseDurationMs(options.timeout);
    if (!timeout.ok) return err(`--timeout: ${timeout.error}`);
    limits.timeoutMs = timeout.value;
  }
  return ok(limits);
}

export function exitStatusOf(result: TaskResult): number {
  if (result.exitCode !== null) return result.exitCode & 0xff;
  return EXIT_STATUS_OF[result.reason] ?? EXIT_STATUS_ABORTED;
}

export function statsLine(result: TaskResult): string {
  const exit = result.exitCode === null ? '' : ` exit=${result.exitCode}`;
  const truncated = [result.stdoutTruncated ? 'stdout' : '', result.stderrTruncated ? 'stderr' : '']
    .filter(Boolean)
    .join(',');
  return (
    `wasmos exec: reason=${result.reason}${exit} fuel=${result.fuelConsumed} ` +
    `peak-memory=${formatBytes(result.peakMemoryBytes)} time=${formatDurationMs(result.durationMs)}` +
    (truncated ? ` truncated=${truncated}` : '') +
    '\n'
  );
}

export function resultJson(result: TaskResult): string {
  const decoder = new TextDecoder();
  const { stdout, stderr, handlerOutput, ...rest } = result;
  return (
    JSON.stringify({
      ...rest,
      stdout: decoder.decode(stdout),
      stderr: decoder.decode(stderr),
      ...(handlerOutput ? { handlerOutput: decoder.decode(handlerOutput) } : {}),
    }) + '\n'
  );
}

function defaultCacheDir(): string {
  const base = process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'wasmos', 'executor');
}

function readInput(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path === '-' ? 0 : path));
  } catch (error) {
    throw new WasmosError('read_failed', `cannot read ${path}: ${(error as Error).message}`);
  }
}

function buildSpec(file: string, args: string[], options: ExecOptions): TaskSpec {
  const limits = parseLimits(options);
  if (!limits.ok) throw new WasmosError('invalid_arguments', limits.error);
  const env = parseEnv(options.env);
  if (!env.ok) throw new WasmosError('invalid_arguments', env.error);
  return {
    programName: basename(file),
    args,
    env: env.value,
    preopens: [
      ...options.allowRead.map((grant) => parseGrant(grant, false)),
      ...options.allowWrite.map((grant) => parseGrant(grant, true)),
    ],
    limits: limits.value,
    ...(options.stdin !== undefined ? { stdin: readInput(options.stdin) } : {}),
  };
}

async function execute(file: string, args: string[], options: ExecOptions): Promise<void> {
  const bytes = readInput(file);
  const spec = buildSpec(file, args, options);
  const executor = new Executor({
    workDir: options.cacheDir ?? defaultCacheDir(),
    limits: { workersMax: 1 },
  });
  try {
    const prepared = await executor.prepare(bytes);
    if (!prepared.ok)
      throw new WasmosError(prepared.error.code, prepared.error.message, prepared.error.details);
    const stream = options.json !== true;
    const run = await executor.run(prepared.value, spec, {
      ...(stream ? { onStdout: (chunk: Uint8Array) => process.stdout.write(chunk) } : {}),
      ...(stream ? { onStderr: (chunk: Uint8Array) => process.stderr.write(chunk) } : {}),
    });
    if (!run.ok) throw new WasmosError(run.error.code, run.error.message, run.error.details);
    const result = run.value;
    if (options.json === true) process.stdout.write(resultJson(result));
    else if (result.reason !== 'exited')
      process.stderr.write(`error: ${result.message} [${result.reason}]\n`);
    if (options.stats === true) process.stderr.write(statsLine(result));
    process.exitCode = exitStatusOf(result);
  } finally {
    await executor.close();
  }
}

/**
 * `wasmos exec FILE.wasm [options] -- ARGS...`: runs a WASI program or component locally,
 * like `wasmtime run`: streams its output and exits with its exit status.
 */
export function register(program: Command): void {
  program
    .command('exec')
    .description(
      'run a WebAssembly program (WASI preview1 module or component) locally, under limits',
    )
    .argument('<file>', 'the .wasm file')
    .argument('[args...]', 'arguments for the program (after --)')
    .option('--fuel <n>', 'instruction budget (default: 1e11 per second of --timeout)')
    .option('--memory <size>', 'cap on linear memory, e.g. 64MiB (default 256MiB)')
    .option('--timeout <duration>', 'wall-clock limit, e.g. 5s (default 30s)')
    .option(
      '--allow-read <host[:guest]>',
      'preopen a directory read-only (repeatable)',
      collect,
      [],
    )
    .option(
      '--allow-write <host[:guest]>',
      'preopen a directory read-write (repeatable)',
      collect,
      [],
    )
    .option(
      '--env <name=value>',
      'set an environment variable (repeatable); nothing else is set',
      collect,
      [],
    )
    .option(
      '--stdin <file>',
      'file whose bytes are the program\'s stdin ("-" for ours); default empty',
    )
    .option('--stats', 'print a one-line summary (reason, fuel, peak memory, time) on stderr')
    .option('--json', 'print the whole result as JSON on stdout (the output is inside it)')
    .option(
      '--cache-dir <dir>',
      'where prepared modules are cached (default ~/.cache/wasmos/executor)',
    )
    .action(async (file: string, args: string[], options: ExecOptions) => {
      await execute(file, args, options);
    });
}
