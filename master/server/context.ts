import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { ReplayGuard, Signer, TrustStore } from '../../protocol/index.js';
import type { BlobStore } from '../blobs/blob-store.js';
import type { HttpCredentials } from '../http/credentials.js';
import type { MasterDriver } from './driver.js';
import type { StreamTable } from './streams.js';

/** Everything the master's HTTP routes share. Built once per leading term by the master process. */
export interface MasterContext {
  readonly masterId: string;
  readonly driver: MasterDriver;
  readonly streams: StreamTable;
  /** The master's own key: signs every event it sends. */
  readonly signer: Signer;
  readonly trust: TrustStore;
  /** One replay guard for every signed call the master receives. */
  readonly replay: ReplayGuard;
  readonly clock: Clock;
  readonly log: Logger;
  readonly blobs: BlobStore;
  /** Absent: the Mesos JSON encoding of the scheduler API is off. */
  readonly credentials?: HttpCredentials;
  readonly limits: MasterHttpLimits;
}

/** Bounds on what the master's HTTP side accepts and buffers (docs/MASTER.md lists them). */
export interface MasterHttpLimits {
  /** Largest request body of a call (scheduler, agent, jobs). */
  readonly callBytesMax: number;
  /** Largest component upload. */
  readonly blobBytesMax: number;
  /** Events queued for one slow subscriber before its stream is cut. */
  readonly streamRecordsQueuedMax: number;
}

export const DEFAULT_MASTER_HTTP_LIMITS: MasterHttpLimits = {
  callBytesMax: 4 * 1024 * 1024,
  blobBytesMax: 64 * 1024 * 1024,
  streamRecordsQueuedMax: 4096,
};
