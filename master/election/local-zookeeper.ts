/**
 * Runs real ZooKeeper servers on loopback from Debian's `zookeeper` package (its jars in
 * /usr/share/java, run with `java`): a single server for `wasmos dev --ha`, and the servers of
 * the test ensembles. Each server is a `QuorumPeerMain` JVM with its own conf and data dirs.
 * Every JVM this process started is killed when it exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert } from '../../lib/assert.js';

export const ZOOKEEPER_JARS = [
  'zookeeper.jar',
  'zookeeper-jute.jar',
  'slf4j-api.jar',
  'slf4j-simple.jar',
] as const;
export const ZOOKEEPER_JAVA_DIR = '/usr/share/java';

export interface LocalZooKeeperLimits {
  /**
   * ZooKeeper's tick. Sessions may last 2 to 20 ticks, so 500 ms allows 1 to 10 s (the
   * default 2 s tick would refuse anything under 4 s).
   */
  readonly tickMs: number;
  /** How long a server may take to start serving clients (a JVM start on a busy machine). */
  readonly servingTimeoutMs: number;
  /** How long a SIGTERM may take before SIGKILL. */
  readonly stopTimeoutMs: number;
  /**
   * Ports are picked at random in this range, below Linux's ephemeral range (32768-60999)
   * so that an outgoing connection cannot grab a port between our bind test and the JVM's.
   */
  readonly portMin: number;
  readonly portMax: number;
  /** Starts tried (each with new ports) when a server dies before serving, e.g. port taken. */
  readonly startAttemptsMax: number;
}

export const DEFAULT_LOCAL_ZOOKEEPER_LIMITS: LocalZooKeeperLimits = {
  tickMs: 500,
  servingTimeoutMs: 60_000,
  stopTimeoutMs: 10_000,
  portMin: 20_000,
  portMax: 32_000,
  startAttemptsMax: 3,
};

function checkLimits(limits: LocalZooKeeperLimits): void {
  assert(limits.tickMs >= 50, 'tickMs too small');
  assert(limits.portMin >= 1024 && limits.portMin < limits.portMax, 'bad port range');
  assert(limits.portMax <= 65535, 'portMax above 65535');
  assert(limits.startAttemptsMax >= 1, 'startAttemptsMax must be at least 1');
  assert(limits.servingTimeoutMs > 0 && limits.stopTimeoutMs > 0, 'timeouts must be positive');
}

/** Why ZooKeeper cannot run here, or undefined when the package and `java` are present. */
export function zookeeperMissing(): string | undefined {
  for (const jar of ZOOKEEPER_JARS) {
    if (!existsSync(join(ZOOKEEPER_JAVA_DIR, jar))) {
      return `ZooKeeper is not installed: ${join(ZOOKEEPER_JAVA_DIR, jar)} is missing (apt-get install zookeeper)`;
    }
  }
  return undefined;
}

/** A server died before it served clients (port taken, bad config, no java). */
export class ZooKeeperStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZooKeeperStartError';
  }
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface ServerConfig {
  /** 1-based server id (`myid`). */
  readonly id: number;
  readonly clientPort: number;
  /** `server.N=host:peer:election` lines; empty for a standalone server. */
  readonly quorum: readonly string[];
  readonly tickMs: number;
}

/** One ZooKeeper server process in `dir` (conf, data and log inside it). */
export class ZooKeeperServer {
  private child: ChildProcess | undefined;
  private exitNote = '';
  readonly confDir: string;
  readonly dataDir: string;
  readonly logPath: string;

  constructor(
    readonly dir: string,
    readonly config: ServerConfig,
    private readonly limits: LocalZooKeeperLimits = DEFAULT_LOCAL_ZOOKEEPER_LIMITS,
  ) {
    this.confDir = join(dir, 'conf');
    this.dataDir = join(dir, 'data');
    this.logPath = join(dir, 'server.log');
    mkdirSync(this.confDir, { recursive: true });
    mkdirSync(this.dataDir, { recursive: true });
    writeFileSync(join(this.confDir, 'zoo.cfg'), serverConfigText(config, this.dataDir));
    writeFileSync(join(this.dataDir, 'myid'), `${config.id}\n`);
  }

  get address(): string {
    return `127.0.0.1:${this.config.clientPort}`;
  }

  get isRunning(): boolean {
    return this.child !== undefined;
  }

  /** Starts the JVM (if not running); does not wait for it to serve. */
  launch(): void {
    if (this.child) return;
    const classpath = [
      this.confDir,
      ...ZOOKEEPER_JARS.map((jar) => join(ZOOKEEPER_JAVA_DIR, jar)),
    ].join(':');
    const log = openSync(this.logPath, 'a');
    const child = spawn(
      'java',
      [
        // Small and quick to start: one of several JVMs on a shared two-core machine.
        '-Xmx128m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        '-Dzookeeper.cnxTimeout=1000',
        '-cp',
        classpath,
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        join(this.confDir, 'zoo.cfg'),
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    this.child = child;
    running.add(child);
    child.on('error', (error) => (this.exitNote = String(error)));
    child.on('exit', (code, signal) => {
      running.delete(child);
      this.exitNote ||= `exited with ${code ?? signal}`;
      if (this.child === child) this.child = undefined;
    });
  }

  /** Waits until the server answers `srvr` with a mode (it serves only while in a quorum). */
  async waitServing(timeoutMs = this.limits.servingTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.child) {
        throw new ZooKeeperStartError(
          `ZooKeeper server ${this.config.id} is not running (${this.exitNote || 'never started'}); ${this.logTail()}`,
        );
      }
      const answer = await fourLetterWord(this.config.clientPort, 'srvr').catch(() => '');
      if (/Mode: (standalone|leader|follower)/.test(answer)) return;
      await sleep(100);
    }
    throw new Error(
      `ZooKeeper server ${this.config.id} did not serve within ${timeoutMs} ms; log: ${this.logPath}`,
    );
  }

  /** Stops the JVM with `signal` (SIGKILL after stopTimeoutMs); resolves once it exited. */
  async terminate(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), this.limits.stopTimeoutMs);
    await exited;
    clearTimeout(timer);
  }

  private logTail(): string {
    try {
      const text = readFileSync(this.logPath, 'utf8');
      return `log (${this.logPath}): ${text.slice(-600)}`;
    } catch {
      return `no log at ${this.logPath}`;
    }
  }
}

function serverConfigText(config: ServerConfig, dataDir: string): string {
  const lines = [
    `tickTime=${config.tickMs}`,
    'initLimit=10',
    'syncLimit=5',
    `dataDir=${dataDir}`,
    `clientPort=${config.clientPort}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr',
    'maxClientCnxns=0',
    ...config.quorum,
  ];
  return `${lines.join('\n')}\n`;
}

/** A single local server for trying HA out (`wasmos dev --ha`). */
export interface LocalZooKeeper {
  /** `127.0.0.1:PORT`, for a `zk://` URL. */
  readonly servers: string;
  readonly server: ZooKeeperServer;
  /** Stops the server (SIGTERM) and, if it made a temp dir, removes it. */
  stop(): Promise<void>;
}

/**
 * Starts one ZooKeeper server on loopback and waits until it serves. With `dir` the data
 * persists there across runs; without it a temp dir is used and removed on stop. A start
 * that dies before serving (most likely a port taken after our bind test) is retried with
 * new ports.
 */
export async function startLocalZooKeeper(
  options: { dir?: string; limits?: LocalZooKeeperLimits } = {},
): Promise<LocalZooKeeper> {
  const limits = options.limits ?? DEFAULT_LOCAL_ZOOKEEPER_LIMITS;
  checkLimits(limits);
  const missing = zookeeperMissing();
  if (missing) throw new ZooKeeperStartError(missing);
  const temporary = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'wasmos-zk-'));
  try {
    const server = await withPortRetries(limits, async (ports) => {
      const [clientPort] = await ports(1);
      const candidate = new ZooKeeperServer(
        join(dir, 'server'),
        { id: 1, clientPort: clientPort!, quorum: [], tickMs: limits.tickMs },
        limits,
      );
      candidate.launch();
      try {
        await candidate.waitServing();
      } catch (error) {
        await candidate.terminate('SIGKILL');
        throw error;
      }
      return candidate;
    });
    return {
      servers: server.address,
      server,
      stop: async () => {
        await server.terminate('SIGTERM');
        if (temporary) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (temporary) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Runs `start` with a port picker; when it fails with ZooKeeperStartError (the server died
 * before serving), tries again with new ports, up to startAttemptsMax times.
 */
export async function withPortRetries<T>(
  limits: LocalZooKeeperLimits,
  start: (ports: (count: number) => Promise<number[]>) => Promise<T>,
): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= limits.startAttemptsMax; attempt++) {
    const used = new Set<number>();
    const ports = async (count: number): Promise<number[]> => {
      const picked = await pickFreePorts(count, limits, used);
      for (const port of picked) used.add(port);
      return picked;
    };
    try {
      return await start(ports);
    } catch (error) {
      if (!(error instanceof ZooKeeperStartError)) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

/**
 * `count` distinct ports in [portMin, portMax] that could be bound on 127.0.0.1 just now
 * (picked at random, each tested by binding and releasing it).
 */
export async function pickFreePorts(
  count: number,
  limits: LocalZooKeeperLimits = DEFAULT_LOCAL_ZOOKEEPER_LIMITS,
  avoid: ReadonlySet<number> = new Set(),
): Promise<number[]> {
  const span = limits.portMax - limits.portMin + 1;
  assert(count > 0 && count * 4 <= span, 'port range too small for that many ports');
  const found = new Set<number>();
  for (let tries = 0; found.size < count; tries++) {
    assert(tries < count * 50, 'no free ports in the range');
    const port = limits.portMin + Math.floor(Math.random() * span);
    if (!found.has(port) && !avoid.has(port) && (await canBind(port))) found.add(port);
  }
  return [...found];
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}

/** Sends a four-letter command (`ruok`, `srvr`) and returns the answer. */
export function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let answer = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('four-letter word timed out')));
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

function sleep(delayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, delayMs));
}
