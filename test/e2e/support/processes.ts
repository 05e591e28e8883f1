import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ClusterKeys } from './keys.js';
import { until } from '../../support/until.js';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = join(repoRoot, 'dist', 'cli', 'main.js');

export type LogLine = Readonly<Record<string, unknown>>;

/**
 * A real `wasmos` process (`node dist/cli/main.js ...`) with JSON logs on stderr, kept as parsed
 * lines so tests can wait for what the process says it did.
 */
export class CliProcess {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private readonly child: ChildProcess;

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [cli, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, WASMOS_LOG_FORMAT: 'json', WASMOS_LOG: 'info' },
    });
    createInterface({ input: this.child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as LogLine);
      } catch {
        this.lines.push({ message: line });
      }
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Waits for a log line; fails early (with the output) if the process exits first. */
  waitForLog(predicate: (line: LogLine) => boolean, what: string): Promise<LogLine> {
    return until(() => {
      const found = this.lines.find(predicate);
      if (found) return found;
      if (!this.running) throw new Error(`process exited before ${what}:\n${this.output()}`);
      return undefined;
    }, what);
  }

  output(): string {
    return this.lines
      .slice(-40)
      .map((line) => JSON.stringify(line))
      .join('\n');
  }

  /** kill -9: no cleanup, as after a crash or power loss. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL if it does not exit within the deadline. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * `wasmos master` on the given port (0: any); resolves once it listens, with its URL. A restart
 * on the same port is tried a few times: the port may still be held for a moment.
 */
export async function startMasterProcess(
  keys: ClusterKeys,
  workDir: string,
  port = 0,
): Promise<{ process: CliProcess; url: string; port: number }> {
  const attempts = port === 0 ? 1 : 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startMasterOnce(keys, workDir, port);
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function startMasterOnce(
  keys: ClusterKeys,
  workDir: string,
  port = 0,
): Promise<{ process: CliProcess; url: string; port: number }> {
  const master = new CliProcess([
    'master',
    '--work-dir',
    workDir,
    '--key',
    keys.masterKeyFile,
    '--trust',
    keys.trustDir,
    '--port',
    String(port),
    '--allocation-interval',
    '100ms',
  ]);
  let listening: LogLine;
  try {
    listening = await master.waitForLog(
      (line) => line['message'] === 'master listening',
      'the master to listen',
    );
  } catch (error) {
    await master.kill();
    throw error;
  }
  const url = String(listening['url']);
  return { process: master, url, port: Number(new URL(url).port) };
}

/** `wasmos agent` with the index-th agent key of `keys`. */
export function startAgentProcess(
  keys: ClusterKeys,
  index: number,
  masterUrl: string,
  workDir: string,
  runtimes = 'wasm',
): CliProcess {
  return new CliProcess([
    'agent',
    '--master',
    masterUrl,
    '--work-dir',
    workDir,
    '--key',
    keys.agentKeyFiles[index]!,
    '--trust',
    keys.trustDir,
    '--resources',
    'cpus:2;mem:1024',
    '--runtimes',
    runtimes,
  ]);
}

/**
 * Status updates an agent has checkpointed but not seen acknowledged, read from its work dir
 * (`updates/*.log`: one JSON line per update and per acknowledgement). Zero means its retries
 * have stopped.
 */
export async function unacknowledgedOnDisk(agentWorkDir: string): Promise<number> {
  const dir = join(agentWorkDir, 'updates');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let count = 0;
  for (const name of names.filter((each) => each.endsWith('.log'))) {
    let text: string;
    try {
      text = await readFile(join(dir, name), 'utf8');
    } catch {
      continue; // removed meanwhile: fully acknowledged
    }
    const updates = new Set<string>();
    const acks = new Set<string>();
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const record = JSON.parse(line) as {
          kind?: string;
          uuid?: string;
          status?: { uuid?: string };
        };
        if (record.kind === 'update' && record.status?.uuid) updates.add(record.status.uuid);
        if (record.kind === 'ack' && record.uuid) acks.add(record.uuid);
      } catch {
        // a torn last line: that update was never sent
      }
    }
    for (const uuid of updates) if (!acks.has(uuid)) count++;
  }
  return count;
}
