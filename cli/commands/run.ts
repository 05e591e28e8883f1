import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { WasmosError } from '../../lib/errors.js';
import { parseDurationMs } from '../../lib/units.js';
import { LogFollower, followLogs } from '../client/follow-logs.js';
import { formatBytes, formatCount, formatDuration } from '../client/format.js';
import { isEndedJob, type JobAnswer } from '../client/jobs.js';
import { MASTER_OPTION_HELP, MasterClient } from '../client/master-client.js';

/** How often `wasmos run` asks for the job's state and output. */
const POLL_MS = 100;

export interface RunFlags {
  readonly master?: string;
  readonly cpus: string;
  readonly mem: string;
  readonly disk?: string;
  readonly fuel?: string;
  readonly timeout?: string;
  readonly allowRead: string[];
  readonly allowWrite: string[];
  readonly allowNet: string[];
  readonly env: string[];
  readonly attr: string[];
  readonly name?: string;
  readonly linux?: boolean;
  readonly readOnly?: boolean;
  readonly detach?: boolean;
  readonly quiet?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new WasmosError('BAD_OPTION', `--${flag} expects a positive number, got "${text}"`);
  return value;
}

function pairs(flag: string, texts: readonly string[], separator: '=' | ':'): [string, string][] {
  return texts.map((text) => {
    const at = text.indexOf(separator);
    if (at <= 0)
      throw new WasmosError('BAD_OPTION', `--${flag} expects NAME${separator}VALUE, got "${text}"`);
    return [text.slice(0, at), text.slice(at + 1)];
  });
}

/** The POST /api/v1/jobs body for these flags (pure; `digest` only for wasm). */
export function jobRequestOf(
  argv: readonly string[],
  flags: RunFlags,
  digest: string | undefined,
): Record<string, unknown> {
  const resources = {
    cpus: positiveNumber('cpus', flags.cpus),
    mem: positiveNumber('mem', flags.mem),
    ...(flags.disk === undefined ? {} : { disk: positiveNumber('disk', flags.disk) }),
  };
  const attributes = Object.fromEntries(pairs('attr', flags.attr, ':'));
  const env = pairs('env', flags.env, '=').map(([name, value]) => ({ name, value }));
  const common = {
    ...(flags.name === undefined ? {} : { name: flags.name }),
    resources,
    attributes,
  };
  if (flags.readOnly && !flags.linux)
    throw new WasmosError(
      'BAD_OPTION',
      '--read-only is for Linux commands (--linux); a component sees only the paths granted to it',
    );
  if (flags.linux) {
    if (argv.length === 0)
      throw new WasmosError(
        'BAD_OPTION',
        "--linux needs a command after --, e.g. -- /bin/sh -c 'echo hi'",
      );
    return {
      ...common,
      name: flags.name ?? argv[0],
      command: {
        // Mesos CommandInfo without a shell: `value` is the executable, `arguments` its argv.
        shell: false,
        value: argv[0],
        arguments: argv,
        ...(env.length > 0 ? { environment: { variables: env } } : {}),
        ...(flags.readOnly ? { filesystem: 'read-only' } : {}),
      },
    };
  }
  if (digest === undefined) throw new WasmosError('BAD_OPTION', 'a wasm job needs a component');
  return {
    ...common,
    // Named after its file, as a user would look for it in `wasmos tasks`.
    ...(flags.name === undefined && argv[0] !== undefined ? { name: basename(argv[0]) } : {}),
    wasm: wasmInfoOf(argv.slice(1), flags, digest, env),
  };
}

function wasmInfoOf(
  args: readonly string[],
  flags: RunFlags,
  digest: string,
  env: readonly { name: string; value: string }[],
): Record<string, unknown> {
  let timeoutMs: number | undefined;
  if (flags.timeout !== undefined) {
    const parsed = parseDurationMs(flags.timeout);
    if (!parsed.ok) throw new WasmosError('BAD_OPTION', `--timeout: ${parsed.error}`);
    timeoutMs = parsed.value;
  }
  let fuel: number | undefined;
  if (flags.fuel !== undefined) {
    fuel = Number(flags.fuel.replaceAll('_', ''));
    if (!Number.isSafeInteger(fuel) || fuel <= 0)
      throw new WasmosError('BAD_OPTION', `--fuel expects a positive integer, got "${flags.fuel}"`);
  }
  const permissions = {
    ...(flags.allowRead.length > 0 ? { read: flags.allowRead } : {}),
    ...(flags.allowWrite.length > 0 ? { write: flags.allowWrite } : {}),
    ...(flags.allowNet.length > 0 ? { net: flags.allowNet } : {}),
  };
  return {
    digest,
    args: [...args],
    ...(env.length > 0 ? { env } : {}),
    ...(fuel === undefined ? {} : { fuel }),
    ...(timeoutMs === undefined ? {} : { timeout_ms: timeoutMs }),
    ...(Object.keys(permissions).length > 0 ? { permissions } : {}),
  };
}

/** The shell status for an ended job: its exit code, else what `wasmos exec` would say. */
export function exitStatusOfJob(job: JobAnswer): number {
  if (job.exitCode !== undefined) return job.exitCode & 0xff;
  if (job.state === 'finished') return 0;
  if (job.state === 'killed') return 137;
  if (job.reason === 'REASON_TIMEOUT') return 124;
  if (job.state === 'failed') return 134;
  return 1;
}

/** One line per visible change: queued (and why), placed on agent X, running, ended. */
export class ProgressReporter {
  private last = '';
  constructor(private readonly write: (line: string) => void) {}

  report(job: JobAnswer): void {
    const line = progressLine(job);
    if (line === this.last) return;
    this.last = line;
    this.write(`wasmos: ${line}\n`);
  }
}

function progressLine(job: JobAnswer): string {
  switch (job.state) {
    case 'queued':
      return `job ${job.id} queued${job.waiting ? ` (${job.waiting.message})` : ''}`;
    case 'placed':
      return `placed on agent ${job.hostname ?? '?'} (${job.agentId ?? '?'})`;
    case 'running':
      return `running on ${job.hostname ?? job.agentId ?? '?'}`;
    default:
      return endLine(job);
  }
}

export function endLine(job: JobAnswer): string {
  const why = job.reason ? ` ${job.reason}${job.message ? `: ${job.message}` : ''}` : '';
  const exit = job.exitCode === undefined ? '' : ` exit=${job.exitCode}`;
  // Fuel counts wasm instructions: a Linux task has none to show.
  const fuel = job.summary?.runtime === 'linux' ? '' : ` fuel=${formatCount(job.fuelConsumed)}`;
  return (
    `${job.state}${why}${exit}${fuel} ` +
    `memory=${formatBytes(job.peakMemoryBytes)} time=${formatDuration(job.durationMs)}`
  );
}

async function submit(file: string | undefined, args: readonly string[], flags: RunFlags) {
  const client = new MasterClient({ ...(flags.master ? { master: flags.master } : {}) });
  let digest: string | undefined;
  if (!flags.linux) {
    if (file === undefined)
      throw new WasmosError('BAD_OPTION', 'name a .wasm file (or use --linux -- COMMAND ...)');
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new WasmosError('FILE_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`);
    }
    digest = (await client.uploadComponent(bytes)).digest;
  }
  const argv = file === undefined ? [...args] : [file, ...args];
  const body = jobRequestOf(argv, flags, digest);
  const answer = await client.postJson<{ id: string; job: JobAnswer }>('/api/v1/jobs', body);
  return { client, job: answer.job };
}

async function watch(
  client: MasterClient,
  submitted: JobAnswer,
  flags: RunFlags,
): Promise<JobAnswer> {
  const progress = new ProgressReporter((line) => {
    if (!flags.quiet) process.stderr.write(line);
  });
  let job = submitted;
  progress.report(job);
  const followers = [
    new LogFollower(client, job.id, 'stdout', (chunk) => process.stdout.write(chunk)),
    new LogFollower(client, job.id, 'stderr', (chunk) => process.stderr.write(chunk)),
  ];
  let hasOutput = false;
  const output = (async () => {
    while (job.state === 'queued') await sleep(POLL_MS);
    hasOutput = job.agentId !== undefined;
    if (hasOutput) await followLogs(followers, () => isEndedJob(job), POLL_MS, 30);
  })();
  const interrupt = onInterrupt(client, job.id);
  try {
    while (!isEndedJob(job)) {
      await sleep(POLL_MS);
      job = await client.json<JobAnswer>(`/api/v1/jobs/${encodeURIComponent(job.id)}`);
      if (!isEndedJob(job)) progress.report(job);
    }
    await output;
  } finally {
    interrupt();
  }
  progress.report(job);
  return job;
}

/** First Ctrl-C kills the job (and waits to show how it ended); a second one leaves at once. */
function onInterrupt(client: MasterClient, jobId: string): () => void {
  let interrupted = false;
  const handler = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`wasmos: killing job ${jobId} (Ctrl-C again to leave now)\n`);
    void client
      .request(`/api/v1/jobs/${encodeURIComponent(jobId)}`, { method: 'DELETE' })
      .catch(() => undefined);
  };
  process.on('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `wasmos run FILE.wasm [options] -- ARGS`: uploads the component (unless the master has it),
 * submits it as a job, shows its progress, streams its output, and exits with its exit code.
 */
export function register(program: Command): void {
  program
    .command('run')
    .description('run a .wasm component (or, with --linux, a command) on the cluster as a job')
    .argument('[file]', 'the .wasm file (with --linux: the program to run)')
    .argument('[args...]', 'arguments (after --)')
    .option('--master <where>', MASTER_OPTION_HELP)
    .option('--cpus <n>', 'cpus the task needs', '0.1')
    .option('--mem <MiB>', 'memory the task needs (caps a component memory), MiB', '64')
    .option('--disk <MiB>', 'disk the task needs, MiB')
    .option('--fuel <n>', 'instruction budget of the component (default: the agent default)')
    .option('--timeout <duration>', 'wall-clock limit, e.g. 30s (default: the agent default)')
    .option('--allow-read <path>', 'a path the component may read (repeatable)', collect, [])
    .option('--allow-write <path>', 'a path the component may write (repeatable)', collect, [])
    .option(
      '--allow-net <host:port>',
      'a host the component may connect to (repeatable)',
      collect,
      [],
    )
    .option('--env <name=value>', 'an environment variable (repeatable)', collect, [])
    .option(
      '--attr <name:value>',
      'run only on agents with this attribute (repeatable)',
      collect,
      [],
    )
    .option('--name <name>', 'a name for the job')
    .option('--linux', 'run a Linux command (given after --) instead of a component')
    .option(
      '--read-only',
      'with --linux: the host files are read-only for the command (but its sandbox and private /tmp)',
    )
    .option('--detach', 'print the job id and return at once')
    .option('-q, --quiet', 'no progress lines on stderr')
    .action(async (file: string | undefined, args: string[], flags: RunFlags) => {
      const { client, job } = await submit(file, args, flags);
      if (flags.detach) {
        process.stdout.write(`${job.id}\n`);
        return;
      }
      const ended = await watch(client, job, flags);
      process.exitCode = exitStatusOfJob(ended);
    });
}
