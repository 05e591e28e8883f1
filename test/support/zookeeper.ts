/**
 * Starts and stops real ZooKeeper servers (Debian's `zookeeper` package) on loopback for tests:
 * one server or a three-node ensemble, each a `QuorumPeerMain` JVM with its own conf and data
 * dirs in a temp dir. Every JVM is killed when the ensemble closes and, failing that, when the
 * test process exits (the test runner also kills the test file's process group).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_LOCAL_ZOOKEEPER_LIMITS,
  ZooKeeperServer,
  ZooKeeperStartError,
  withPortRetries,
  zookeeperMissing,
} from '../../master/election/local-zookeeper.js';

export { fourLetterWord } from '../../master/election/local-zookeeper.js';

/** Short ticks keep session timeouts (2..20 ticks) and elections quick in tests. */
export const TEST_TICK_MS = 500;

export class ZkEnsemble {
  private constructor(
    private readonly dir: string,
    private readonly nodes: readonly ZooKeeperServer[],
  ) {}

  /**
   * Starts `size` servers (1 or 3) and waits until every one serves. An ensemble with a
   * server that died before serving (a port taken meanwhile) is started again on new ports.
   */
  static async start(size: 1 | 3, tickMs = TEST_TICK_MS): Promise<ZkEnsemble> {
    const missing = zookeeperMissing();
    if (missing) throw new Error(missing);
    const limits = { ...DEFAULT_LOCAL_ZOOKEEPER_LIMITS, tickMs };
    return withPortRetries(limits, async (ports) => {
      const dir = mkdtempSync(join(tmpdir(), 'wasmos-zk-'));
      const clientPorts = await ports(size);
      const peerPorts = await ports(size * 2);
      const quorum =
        size === 1
          ? []
          : clientPorts.map(
              (_, index) =>
                `server.${index + 1}=127.0.0.1:${peerPorts[index * 2]}:${peerPorts[index * 2 + 1]}`,
            );
      const nodes = clientPorts.map(
        (clientPort, index) =>
          new ZooKeeperServer(
            join(dir, `node${index + 1}`),
            { id: index + 1, clientPort, quorum, tickMs },
            limits,
          ),
      );
      const ensemble = new ZkEnsemble(dir, nodes);
      try {
        for (const node of nodes) node.launch();
        await Promise.all(nodes.map((node) => node.waitServing()));
      } catch (error) {
        await ensemble.close();
        // A quorum member that never serves is as good as dead: start over on new ports.
        if (error instanceof Error && !(error instanceof ZooKeeperStartError)) {
          throw new ZooKeeperStartError(error.message);
        }
        throw error;
      }
      return ensemble;
    });
  }

  /** The connection string for all servers (or the given ones), e.g. `127.0.0.1:2181,...`. */
  servers(ids?: readonly number[]): string {
    return this.nodes
      .filter((node) => ids === undefined || ids.includes(node.config.id))
      .map((node) => node.address)
      .join(',');
  }

  get ids(): number[] {
    return this.nodes.map((node) => node.config.id);
  }

  /** kill -9: the server vanishes without closing anything. */
  async kill(id: number): Promise<void> {
    await this.node(id).terminate('SIGKILL');
  }

  /** A clean stop (SIGTERM). */
  async stop(id: number): Promise<void> {
    await this.node(id).terminate('SIGTERM');
  }

  /** Starts a stopped or killed server again with its data; resolves once it serves clients. */
  async restart(id: number, waitServing = true): Promise<void> {
    const node = this.node(id);
    node.launch();
    if (waitServing) await node.waitServing();
  }

  /** Waits until the server answers `srvr` with a mode (it serves only while in a quorum). */
  async waitServing(id: number, timeoutMs?: number): Promise<void> {
    await this.node(id).waitServing(timeoutMs);
  }

  /** Kills every server and removes the temp dir. Safe to call twice. */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.terminate('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private node(id: number): ZooKeeperServer {
    const node = this.nodes.find((candidate) => candidate.config.id === id);
    if (!node) throw new Error(`no ZooKeeper server ${id}`);
    return node;
  }
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
