/**
 * Starts and stops real ZooKeeper servers (Debian's `zookeeper` package) on loopback for tests:
 * one server or a three-node ensemble, each a `QuorumPeerMain` JVM with its own conf and data
 * dirs in a temp dir. Every JVM is killed when the ensemble closes and, failing that, when the
 * test process exits (the test runner also kills the test file's process group).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  openSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const JARS = ['zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-api.jar', 'slf4j-simple.jar'];
const JAVA_DIR = '/usr/share/java';
/** Short ticks keep session timeouts (2..20 ticks) and elections quick in tests. */
export const TEST_TICK_MS = 500;
const SERVING_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

interface ZkNode {
  readonly id: number;
  readonly clientPort: number;
  readonly confDir: string;
  readonly logPath: string;
  process?: ChildProcess;
}

export class ZkEnsemble {
  private constructor(
    private readonly dir: string,
    private readonly nodes: readonly ZkNode[],
  ) {}

  /** Starts `size` servers (1 or 3) and waits until every one serves clients. */
  static async start(size: 1 | 3, tickMs = TEST_TICK_MS): Promise<ZkEnsemble> {
    for (const jar of JARS) {
      if (!existsSync(join(JAVA_DIR, jar)))
        throw new Error(`ZooKeeper jar missing: ${jar} (apt-get install zookeeper)`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'wasmos-zk-'));
    const ports = await freePorts(size * 3);
    const servers = Array.from({ length: size }, (_, index) => {
      const peer = ports[size + index * 2]!;
      const election = ports[size + index * 2 + 1]!;
      return `server.${index + 1}=127.0.0.1:${peer}:${election}`;
    });
    const nodes = Array.from({ length: size }, (_, index) =>
      writeNode(dir, index + 1, ports[index]!, tickMs, size > 1 ? servers : []),
    );
    const ensemble = new ZkEnsemble(dir, nodes);
    try {
      for (const node of nodes) ensemble.launch(node);
      await Promise.all(nodes.map((node) => ensemble.waitServing(node.id)));
    } catch (error) {
      await ensemble.close();
      throw error;
    }
    return ensemble;
  }

  /** The connection string for all servers (or the given ones), e.g. `127.0.0.1:2181,...`. */
  servers(ids?: readonly number[]): string {
    return this.nodes
      .filter((node) => ids === undefined || ids.includes(node.id))
      .map((node) => `127.0.0.1:${node.clientPort}`)
      .join(',');
  }

  get ids(): number[] {
    return this.nodes.map((node) => node.id);
  }

  /** kill -9: the server vanishes without closing anything. */
  async kill(id: number): Promise<void> {
    await this.terminate(this.node(id), 'SIGKILL');
  }

  /** A clean stop (SIGTERM). */
  async stop(id: number): Promise<void> {
    await this.terminate(this.node(id), 'SIGTERM');
  }

  /** Starts a stopped or killed server again with its data; resolves once it serves clients. */
  async restart(id: number, waitServing = true): Promise<void> {
    const node = this.node(id);
    if (!node.process) this.launch(node);
    if (waitServing) await this.waitServing(id);
  }

  /** Waits until the server answers `srvr` with a mode (it serves only while in a quorum). */
  async waitServing(id: number, timeoutMs = SERVING_TIMEOUT_MS): Promise<void> {
    const node = this.node(id);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!node.process) throw new Error(`ZooKeeper server ${id} is not running`);
      const answer = await fourLetterWord(node.clientPort, 'srvr').catch(() => '');
      if (/Mode: (standalone|leader|follower)/.test(answer)) return;
      await sleep(100);
    }
    throw new Error(
      `ZooKeeper server ${id} did not serve within ${timeoutMs} ms; log: ${node.logPath}`,
    );
  }

  /** Kills every server and removes the temp dir. Safe to call twice. */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.terminate(node, 'SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private node(id: number): ZkNode {
    const node = this.nodes.find((candidate) => candidate.id === id);
    if (!node) throw new Error(`no ZooKeeper server ${id}`);
    return node;
  }

  private launch(node: ZkNode): void {
    const classpath = [node.confDir, ...JARS.map((jar) => join(JAVA_DIR, jar))].join(':');
    const log = openSync(node.logPath, 'a');
    const child = spawn(
      'java',
      [
        '-Xmx128m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        '-Dzookeeper.cnxTimeout=1000',
        '-cp',
        classpath,
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        join(node.confDir, 'zoo.cfg'),
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    node.process = child;
    running.add(child);
    child.on('exit', () => {
      running.delete(child);
      if (node.process === child) node.process = undefined;
    });
  }

  private async terminate(node: ZkNode, signal: NodeJS.Signals): Promise<void> {
    const child = node.process;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}

function writeNode(
  dir: string,
  id: number,
  clientPort: number,
  tickMs: number,
  servers: string[],
): ZkNode {
  const confDir = join(dir, `node${id}`, 'conf');
  const dataDir = join(dir, `node${id}`, 'data');
  mkdirSync(confDir, { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  const config = [
    `tickTime=${tickMs}`,
    'initLimit=10',
    'syncLimit=5',
    `dataDir=${dataDir}`,
    `clientPort=${clientPort}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr',
    'maxClientCnxns=0',
    ...servers,
  ];
  writeFileSync(join(confDir, 'zoo.cfg'), `${config.join('\n')}\n`);
  writeFileSync(join(dataDir, 'myid'), `${id}\n`);
  return { id, clientPort, confDir, logPath: join(dir, `node${id}`, 'server.log') };
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

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export function sleep(delayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, delayMs));
}

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes (then throws `what`). */
export async function waitFor(
  condition: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
