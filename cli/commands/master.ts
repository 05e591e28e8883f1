import type { Command } from 'commander';
import { resolve } from 'node:path';
import { WasmosError } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';
import { parseBytes, parseDurationMs } from '../../lib/units.js';
import type { CoreTimings } from '../../master/core/limits.js';
import { haFlags, startHaMaster } from '../../master/server/ha-master.js';
import { MASTER_DEFAULTS, startMaster } from '../../master/server/master-process.js';

/** How long a stopped master waits for its event loop to empty before it exits anyway. */
const STOPPED_EXIT_GRACE_MS = 5000;

interface MasterFlags {
  readonly workDir: string;
  readonly key?: string;
  readonly trust?: string;
  readonly port: string;
  readonly host: string;
  readonly httpCredentials?: string;
  readonly allocationInterval?: string;
  readonly offerTimeout?: string;
  readonly frameworkHeartbeatInterval?: string;
  readonly agentReregisterTimeout?: string;
  readonly maxCallBytes?: string;
  readonly maxBlobBytes?: string;
  readonly zk?: string;
  readonly zkSessionTimeout?: string;
  readonly zkCredentials?: string;
  readonly advertiseUrl?: string;
}

function durationFlag(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const parsed = parseDurationMs(text);
  if (!parsed.ok) throw new WasmosError('BAD_OPTION', `--${name}: ${parsed.error}`);
  if (parsed.value <= 0) throw new WasmosError('BAD_OPTION', `--${name} must be positive`);
  return parsed.value;
}

function bytesFlag(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const parsed = parseBytes(text);
  if (!parsed.ok) throw new WasmosError('BAD_OPTION', `--${name}: ${parsed.error}`);
  if (parsed.value <= 0) throw new WasmosError('BAD_OPTION', `--${name} must be positive`);
  return parsed.value;
}

function portFlag(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new WasmosError('BAD_OPTION', `--port must be 0..65535, got "${text}"`);
  }
  return port;
}

const defined = <T extends object>(entries: { [K in keyof T]?: T[K] | undefined }): Partial<T> =>
  Object.fromEntries(
    Object.entries(entries).filter(([, value]) => value !== undefined),
  ) as Partial<T>;

/** `wasmos master`: runs a single master until SIGINT/SIGTERM. */
export function register(program: Command): void {
  program
    .command('master')
    .description('run a master: pool the agents and offer their resources to frameworks')
    .option(
      '--work-dir <dir>',
      'where the master keeps its registry and components',
      './wasmos-master',
    )
    .option('--key <file>', "the master's Ed25519 private key (PEM, mode 0600): signs its events")
    .option('--trust <dir>', 'directory of trusted public keys (frameworks, agents, operators)')
    .option('--port <port>', 'HTTP port (0: any free port)', String(MASTER_DEFAULTS.port))
    .option('--host <host>', 'address to listen on', MASTER_DEFAULTS.host)
    .option(
      '--http-credentials <file>',
      'enable the Mesos JSON scheduler API with these HTTP Basic credentials (Mesos JSON format)',
    )
    .option('--allocation-interval <duration>', 'batch allocation interval (default 1s)')
    .option('--offer-timeout <duration>', 'rescind offers not answered within this (default 60s)')
    .option(
      '--framework-heartbeat-interval <duration>',
      'HEARTBEAT events to frameworks every (default 15s)',
    )
    .option(
      '--agent-reregister-timeout <duration>',
      'after a restart, agents must re-register within this (default 60s)',
    )
    .option('--max-call-bytes <size>', 'largest request body of a call (default 4MiB)')
    .option('--max-blob-bytes <size>', 'largest component upload (default 64MiB)')
    .option('--zk <url>', 'high availability: elect a leader through zk://h1:2181,h2:2181/wasmos')
    .option('--zk-session-timeout <duration>', 'ZooKeeper session timeout (default 4s)')
    .option('--zk-credentials <file>', 'ZooKeeper digest credentials "user:password" (mode 0600)')
    .option('--advertise-url <url>', 'URL other masters redirect to (default: the listen address)')
    .action(async (flags: MasterFlags) => {
      if (!flags.key) {
        throw new WasmosError('BAD_OPTION', '--key FILE is required: the master signs its events');
      }
      if (!flags.trust) {
        throw new WasmosError(
          'BAD_OPTION',
          '--trust DIR is required: the master accepts calls only from keys it trusts',
        );
      }
      const timings = defined<CoreTimings>({
        allocationIntervalMs: durationFlag('allocation-interval', flags.allocationInterval),
        offerTimeoutMs: durationFlag('offer-timeout', flags.offerTimeout),
        frameworkHeartbeatIntervalMs: durationFlag(
          'framework-heartbeat-interval',
          flags.frameworkHeartbeatInterval,
        ),
        agentReregisterTimeoutMs: durationFlag(
          'agent-reregister-timeout',
          flags.agentReregisterTimeout,
        ),
      });
      const callBytesMax = bytesFlag('max-call-bytes', flags.maxCallBytes);
      const blobBytesMax = bytesFlag('max-blob-bytes', flags.maxBlobBytes);
      const log = createLogger('master');
      // What a single master and an HA master are started with alike.
      const processOptions = {
        workDir: resolve(flags.workDir),
        keyFile: resolve(flags.key),
        trustDir: resolve(flags.trust),
        port: portFlag(flags.port),
        host: flags.host,
        ...(flags.httpCredentials ? { credentialsFile: resolve(flags.httpCredentials) } : {}),
        timings,
        httpLimits: {
          ...(callBytesMax === undefined ? {} : { callBytesMax }),
          ...(blobBytesMax === undefined ? {} : { blobBytesMax }),
        },
        log,
      };
      if (flags.zk !== undefined) {
        const sessionTimeoutMs = durationFlag('zk-session-timeout', flags.zkSessionTimeout);
        const ha = await startHaMaster({
          ...(await haFlags({
            zk: flags.zk,
            ...(flags.zkCredentials ? { credentialsFile: resolve(flags.zkCredentials) } : {}),
            ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }),
          })),
          ...(flags.advertiseUrl ? { advertiseUrl: flags.advertiseUrl } : {}),
          ...processOptions,
        });
        log.info('master listening', { url: ha.url, id: ha.id, keyId: ha.keyId, ha: true });
        await new Promise<void>((done) => {
          const stop = (): void => void ha.stop().then(done);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        return;
      }
      let fatal: (message: string) => void = () => undefined;
      const master = await startMaster({
        ...processOptions,
        onFatal: (message) => fatal(message),
      });
      log.info('master listening', {
        url: master.url,
        masterId: master.masterId,
        keyId: master.keyId,
        json: flags.httpCredentials !== undefined,
      });
      await new Promise<void>((done) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void master.stop().then(done);
        };
        fatal = (message) => {
          process.exitCode = 1;
          log.error('master stopping', { error: message });
          stop();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      // Everything is closed; a handle something leaked must not keep a stopped master alive.
      setTimeout(() => {
        log.warn('master stopped, but something still holds the process open; exiting', {
          graceMs: STOPPED_EXIT_GRACE_MS,
        });
        process.exit();
      }, STOPPED_EXIT_GRACE_MS).unref();
    });
}
