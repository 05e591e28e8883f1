import { z } from 'zod';
import { fieldLimits as limits } from '../limits.js';
import { nonEmptyText, naturalNumber } from './common.js';

/**
 * Calls between the masters of one election (`wasmos master --zk`, docs/HA.md): blob
 * replication. Each names the master that sends it (`from`, its id in the election, whose
 * published public key must be the signer's) and the master it is for (`to`), so an envelope
 * captured on its way to one master is refused by every other.
 */

/** A master's id in the election (`master-<12 hex>`; `MasterInfo.id` bounds it the same). */
const MasterId = nonEmptyText(limits.idCharsMax);

/** `POST /api/v1/replica/blobs/<hex>`: the leader asks a standby to fetch a blob from it. */
export const MasterReplicate = z.strictObject({
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex digits>'),
  from: MasterId,
  to: MasterId,
});
export type MasterReplicate = z.infer<typeof MasterReplicate>;

/**
 * `POST /api/v1/replica/blobs`: one page of the digests a master holds, after `after` (bare
 * hex), at most `limit` of them (the receiver's `listPageMax` when absent, refused above it).
 */
export const MasterListBlobs = z.strictObject({
  from: MasterId,
  to: MasterId,
  after: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'expected 64 hex digits')
    .optional(),
  limit: naturalNumber(Number.MAX_SAFE_INTEGER).min(1).optional(),
});
export type MasterListBlobs = z.infer<typeof MasterListBlobs>;
