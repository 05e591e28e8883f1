import { fork, type ChildProcess } from 'node:child_process';

/**
 * Plain request/report messages between a bench and its child processes (agents, load
 * generators), over Node's IPC channel. Every message is an object with a `type`.
 */
export interface BenchMessage {
  readonly type: string;
  readonly [field: string]: unknown;
}

function isMessage(value: unknown): value is BenchMessage {
  return (
    typeof value === 'object' && value !== null && typeof (value as BenchMessage).type === 'string'
  );
}

/** Messages received and not yet taken, in order, with waiters for the next of a type. */
class Inbox {
  private readonly held: BenchMessage[] = [];
  private readonly waiters: Array<{ type: string; resolve: (message: BenchMessage) => void }> = [];
  private failure: Error | undefined;
  private readonly rejecters = new Set<(error: Error) => void>();

  push(value: unknown): void {
    if (!isMessage(value)) return;
    const index = this.waiters.findIndex((waiter) => waiter.type === value.type);
    if (index >= 0) this.waiters.splice(index, 1)[0]!.resolve(value);
    else this.held.push(value);
  }

  fail(error: Error): void {
    this.failure ??= error;
    for (const reject of this.rejecters) reject(error);
  }

  take(type: string, timeoutMs: number): Promise<BenchMessage> {
    const index = this.held.findIndex((message) => message.type === type);
    if (index >= 0) return Promise.resolve(this.held.splice(index, 1)[0]!);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`no ${type} message within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const fail = (error: Error): void => {
        clearTimeout(timer);
        this.rejecters.delete(fail);
        reject(error);
      };
      this.rejecters.add(fail);
      this.waiters.push({
        type,
        resolve: (message) => {
          clearTimeout(timer);
          this.rejecters.delete(fail);
          resolve(message);
        },
      });
    });
  }
}

/** A child process of the bench, and its messages. */
export class BenchChild {
  private readonly inbox = new Inbox();
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly process: ChildProcess,
  ) {
    process.on('message', (message) => this.inbox.push(message));
    this.exited = new Promise((resolve) => {
      process.once('exit', (code, signal) => {
        this.inbox.fail(new Error(`${name} exited (code ${code}, signal ${signal})`));
        resolve(code);
      });
    });
  }

  /** Forks `modulePath` (a compiled .js) with `args`; `execArgv` e.g. ['--cpu-prof']. */
  static fork(
    name: string,
    modulePath: string,
    args: string[],
    execArgv: string[] = [],
  ): BenchChild {
    return new BenchChild(
      name,
      fork(modulePath, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
  }

  send(message: BenchMessage): void {
    this.process.send(message);
  }

  receive(type: string, timeoutMs = 120_000): Promise<BenchMessage> {
    return this.inbox.take(type, timeoutMs);
  }

  /** Asks the child to stop and waits for it (killed after `graceMs`). */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    if (this.process.connected) this.send({ type: 'stop' });
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The child side: messages from the parent bench. */
export class ParentChannel {
  private readonly inbox = new Inbox();

  constructor() {
    if (!process.send) throw new Error('this module runs as a child of a bench (no IPC channel)');
    process.on('message', (message) => this.inbox.push(message));
    process.once('disconnect', () => this.inbox.fail(new Error('the bench went away')));
  }

  send(message: BenchMessage): void {
    process.send!(message);
  }

  receive(type: string, timeoutMs = 24 * 3600_000): Promise<BenchMessage> {
    return this.inbox.take(type, timeoutMs);
  }
}
