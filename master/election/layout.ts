import { z } from 'zod';
import { err, ok, type Result } from '../../lib/result.js';

/** Election znodes live in `<root>/masters`, named `info_NNNNNNNNNN` as in Mesos. */
export function mastersPath(rootPath: string): string {
  return `${rootPath}/masters`;
}

export const INFO_PREFIX = 'info_';
const INFO_NAME = /^info_(\d{10})$/;

/** What a candidate publishes about itself; agents and the CLI read the leader's. */
export const MasterInfoSchema = z.object({
  id: z.string().min(1).max(256),
  address: z.string().min(1).max(1024),
  publicKey: z.string().max(1024),
});
export type MasterInfo = z.infer<typeof MasterInfoSchema>;

export function encodeMasterInfo(info: MasterInfo): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(MasterInfoSchema.parse(info)));
}

export function decodeMasterInfo(data: Uint8Array, bytesMax: number): Result<MasterInfo, string> {
  if (data.byteLength > bytesMax)
    return err(`master info is ${data.byteLength} bytes (max ${bytesMax})`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    return err('master info is not JSON');
  }
  const parsed = MasterInfoSchema.safeParse(value);
  return parsed.success ? ok(parsed.data) : err(`bad master info: ${parsed.error.message}`);
}

/** The candidates among a listing, lowest sequence first; other names are ignored. */
export function candidatesInOrder(children: readonly string[]): string[] {
  return children
    .filter((name) => INFO_NAME.test(name))
    .sort(
      (left, right) =>
        Number(left.slice(INFO_PREFIX.length)) - Number(right.slice(INFO_PREFIX.length)),
    );
}

/** The candidate that leads: the lowest sequence number. */
export function leaderOf(children: readonly string[]): string | undefined {
  return candidatesInOrder(children)[0];
}

/**
 * The candidate just before `mine`: the only one `mine` watches (no herd when the leader goes).
 * Undefined when `mine` is the lowest, i.e. leads; throws if `mine` is not in the listing.
 */
export function predecessorOf(children: readonly string[], mine: string): string | undefined {
  const ordered = candidatesInOrder(children);
  const index = ordered.indexOf(mine);
  if (index < 0) throw new Error(`election znode ${mine} is gone`);
  return index === 0 ? undefined : ordered[index - 1];
}
