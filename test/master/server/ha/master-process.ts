/** A `wasmos master --zk` process for HA tests, which can be signalled (kill -9, SIGSTOP). */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../../../cli/main.js', import.meta.url));
const LISTEN_DEADLINE_MS = 60_000;

export interface HaMasterArgs {
  readonly workDir: string;
  readonly keyFile: string;
  readonly trustDir: string;
  readonly zkUrl: string;
  readonly credentialsFile: string;
  readonly sessionTimeout: string;
}

export class HaMasterProcess {
  readonly messages: string[] = [];
  readonly exited: Promise<void>;
  private running = true;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      child.once('exit', () => resolve());
    });
    void this.exited.then(() => (this.running = false));
  }

  static start(name: string, args: HaMasterArgs): Promise<HaMasterProcess> {
    const child = spawn(
      process.execPath,
      [
        cli,
        'master',
        '--work-dir',
        join(args.workDir, name),
        '--key',
        args.keyFile,
        '--trust',
        args.trustDir,
        '--port',
        '0',
        '--zk',
        args.zkUrl,
        '--zk-session-timeout',
        args.sessionTimeout,
        '--zk-credentials',
        args.credentialsFile,
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, WASMOS_LOG_FORMAT: 'json', WASMOS_LOG: 'info' },
      },
    );
    const messages: string[] = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`master ${name} did not listen: ${messages.slice(-10).join(' | ')}`));
      }, LISTEN_DEADLINE_MS);
      let master: HaMasterProcess | undefined;
      let pending = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (text: string) => {
        pending += text;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          let parsed: { message?: string; url?: string; reason?: string } = {};
          try {
            parsed = JSON.parse(line) as typeof parsed;
          } catch {
            parsed = { message: line };
          }
          const message = `${parsed.message ?? ''}${parsed.reason ? ` (${parsed.reason})` : ''}`;
          (master?.messages ?? messages).push(message);
          if (!master && parsed.message === 'master listening' && parsed.url) {
            clearTimeout(timer);
            master = new HaMasterProcess(child, parsed.url);
            master.messages.push(...messages);
            resolve(master);
          }
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!master)
          reject(new Error(`master ${name} exited (${code ?? signal}): ${messages.join(' | ')}`));
      });
    });
  }

  get isRunning(): boolean {
    return this.running;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
