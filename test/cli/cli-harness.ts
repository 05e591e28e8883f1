import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (dist/cli/main.js) and the repository root, from dist/test/cli/. */
export const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEV_START_DEADLINE_MS = 60_000;

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `wasmos ARGS` to the end (bounded by a generous deadline: the machine may be busy). */
export function wasmos(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  deadlineMs = 120_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wasmos ${args.join(' ')} ran past ${deadlineMs} ms:\n${stderr}`));
    }, deadlineMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `wasmos dev` in the background on an ephemeral port; stopped with SIGINT like a user would. */
export class DevCluster {
  private exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly output: () => string,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      else child.once('exit', (code) => resolve(code));
    });
  }

  static async start(stateDir: string, extra: readonly string[] = []): Promise<DevCluster> {
    const child = spawn(
      process.execPath,
      [CLI, 'dev', '--port', '0', '--state-dir', stateDir, ...extra],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + DEV_START_DEADLINE_MS;
    for (;;) {
      const match = /master at (http:\/\/\S+)/.exec(stdout);
      if (match && stdout.includes('Ctrl-C stops the cluster'))
        return new DevCluster(child, match[1]!, () => stdout + stderr);
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`wasmos dev did not start:\n${stdout}\n${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Ctrl-C; the exit code (0 when it stopped cleanly). */
  async stop(): Promise<number | null> {
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
