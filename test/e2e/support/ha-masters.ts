import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HaMasterProcess } from '../../master/server/ha/master-process.js';
import type { ZkEnsemble } from '../../support/zookeeper.js';
import type { ClusterKeys } from './keys.js';

export interface HaMastersOptions {
  /** Names of the masters, one process each; their work dirs are `<keys.dir>/masters/<name>`. */
  readonly names: readonly string[];
  /** The ZooKeeper root (chroot) the masters elect under. */
  readonly root: string;
  /** `--zk-session-timeout`: how long a master that stops answering keeps its lead. */
  readonly sessionTimeout: string;
}

/**
 * `wasmos master --zk` processes on one ZooKeeper root, with the cluster's keys and a ZooKeeper
 * credentials file written for them, all started at once. The HA end-to-end and UI tests start
 * their masters this way; the caller kills them (they are returned as soon as each listens).
 */
export async function startHaMasters(
  keys: ClusterKeys,
  zk: ZkEnsemble,
  { names, root, sessionTimeout }: HaMastersOptions,
): Promise<{ readonly zkUrl: string; readonly masters: HaMasterProcess[] }> {
  const zkUrl = `zk://${zk.servers()}/${root}`;
  const credentialsFile = join(keys.dir, 'zk-credentials');
  await writeFile(credentialsFile, `masters:${root}\n`, { mode: 0o600 });
  const masters = await Promise.all(
    names.map((name) =>
      HaMasterProcess.start(name, {
        workDir: join(keys.dir, 'masters'),
        keyFile: keys.masterKeyFile,
        trustDir: keys.trustDir,
        zkUrl,
        credentialsFile,
        sessionTimeout,
      }),
    ),
  );
  return { zkUrl, masters };
}
