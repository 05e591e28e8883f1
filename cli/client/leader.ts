/**
 * How clients (CLI, frameworks, agents) reach the leading master: either through ZooKeeper
 * (`--master zk://h1:2181,h2:2181/wasmos`: read the lowest election znode) or from a plain
 * list of master URLs, following the 307 a standby answers with and skipping masters that are
 * down or know no leader (503).
 */
import { assert } from '../../lib/assert.js';
import { err, ok, type Result } from '../../lib/result.js';
import { parseZkUrl, type ZkUrl } from '../../lib/zookeeper/url.js';
import { LeaderDetector } from '../../master/election/detector.js';
import type { MasterInfo } from '../../master/election/layout.js';
import { DEFAULT_ELECTION_LIMITS, type ElectionLimits } from '../../master/election/limits.js';

/** Where the masters are, as given to `--master`. */
export type MasterLocation =
  | { readonly kind: 'zookeeper'; readonly zk: ZkUrl }
  | { readonly kind: 'urls'; readonly urls: readonly string[] };

export interface LeaderClientLimits {
  /** How long to keep looking for a leader (ZooKeeper, or cycling through the URLs). */
  readonly findTimeoutMs: number;
  /** Redirects followed for one request; more means masters disagree (a loop). */
  readonly redirectsMax: number;
  /** Pause after every master of the list answered 503 or was unreachable. */
  readonly retryDelayMs: number;
  /** At most this many master URLs in a list. */
  readonly urlsMax: number;
}

export const DEFAULT_LEADER_CLIENT_LIMITS: LeaderClientLimits = {
  findTimeoutMs: 30_000,
  redirectsMax: 5,
  retryDelayMs: 500,
  urlsMax: 16,
};

/** `zk://h1:2181,h2:2181/wasmos`, or one or more comma-separated `http(s)://` master URLs. */
export function parseMasterLocation(
  text: string,
  limits: LeaderClientLimits = DEFAULT_LEADER_CLIENT_LIMITS,
): Result<MasterLocation, string> {
  const trimmed = text.trim();
  if (trimmed.startsWith('zk://')) {
    const zk = parseZkUrl(trimmed);
    return zk.ok ? ok({ kind: 'zookeeper', zk: zk.value }) : zk;
  }
  const urls: string[] = [];
  const parts = trimmed.split(',').map((part) => part.trim());
  if (parts.length > limits.urlsMax) {
    return err(`too many master URLs: ${parts.length} (urlsMax ${limits.urlsMax})`);
  }
  for (const part of parts) {
    const base = masterBase(part);
    if (!base)
      return err(`bad master URL "${part}" (try http://host:5050 or zk://host:2181/wasmos)`);
    urls.push(base);
  }
  return ok({ kind: 'urls', urls });
}

/** An http(s) base URL without a trailing slash, or undefined. */
export function masterBase(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password || url.search || url.hash) return undefined;
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The current leader's info from ZooKeeper's election znodes (world-readable: no credentials
 * needed). Waits up to `findTimeoutMs` for one to be elected.
 */
export async function findLeader(
  zk: ZkUrl,
  options: { limits?: LeaderClientLimits; election?: ElectionLimits } = {},
): Promise<MasterInfo> {
  const limits = options.limits ?? DEFAULT_LEADER_CLIENT_LIMITS;
  const detector = new LeaderDetector({
    servers: zk.servers,
    rootPath: zk.rootPath,
    limits: options.election ?? DEFAULT_ELECTION_LIMITS,
  });
  detector.start();
  try {
    const leader = await detector.waitForLeader(limits.findTimeoutMs);
    const base = masterBase(leader.address);
    if (!base) throw new Error(`the leader's address is not an http(s) URL: ${leader.address}`);
    return { ...leader, address: base };
  } finally {
    await detector.stop();
  }
}

/** A request that can be sent again as is after a redirect (no streamed body). */
export interface LeaderRequest {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

/**
 * Sends requests to whichever master of a list leads. Starts with the master that answered
 * last; a 307/308 is followed (at most `redirectsMax` in a row); a 503 or an unreachable
 * master moves on to the next; after a whole round without an answer it waits
 * `retryDelayMs` and goes round again until `findTimeoutMs`.
 */
export class LeaderFollower {
  private readonly limits: LeaderClientLimits;
  private preferred: string;

  constructor(
    private readonly masters: readonly string[],
    limits: LeaderClientLimits = DEFAULT_LEADER_CLIENT_LIMITS,
  ) {
    assert(masters.length > 0, 'at least one master URL');
    assert(limits.redirectsMax >= 1, 'redirectsMax must be at least 1');
    this.limits = limits;
    this.preferred = masters[0]!;
  }

  /** The base URL of the master that answered last (the leader, as far as we know). */
  get current(): string {
    return this.preferred;
  }

  /** Sends `request` to `path` (e.g. `/api/v1/scheduler`) on the leader. */
  async fetch(path: string, request: LeaderRequest = {}): Promise<Response> {
    assert(path.startsWith('/'), 'path must start with /');
    const deadline = Date.now() + this.limits.findTimeoutMs;
    const failures: string[] = [];
    for (;;) {
      for (const base of this.roundOrder()) {
        const answer = await this.tryMaster(base, path, request);
        if (answer.ok) {
          this.preferred = answer.value.base;
          return answer.value.response;
        }
        failures.push(answer.error);
        if (failures.length > 8) failures.shift();
      }
      if (Date.now() + this.limits.retryDelayMs > deadline) {
        throw new Error(
          `no leading master answered within ${this.limits.findTimeoutMs} ms: ${failures.join('; ')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, this.limits.retryDelayMs));
    }
  }

  private roundOrder(): string[] {
    return [this.preferred, ...this.masters.filter((each) => each !== this.preferred)];
  }

  /** One master, following its redirects. */
  private async tryMaster(
    first: string,
    path: string,
    request: LeaderRequest,
  ): Promise<Result<{ response: Response; base: string }, string>> {
    let base = first;
    for (let hop = 0; hop <= this.limits.redirectsMax; hop++) {
      let response: Response;
      try {
        response = await fetch(`${base}${path}`, {
          method: request.method ?? 'GET',
          ...(request.headers ? { headers: request.headers } : {}),
          ...(request.body !== undefined ? { body: request.body } : {}),
          redirect: 'manual',
        });
      } catch (error) {
        return err(`${base}: ${String(error)}`);
      }
      if (response.status === 503) {
        await response.body?.cancel();
        return err(`${base}: no leader known (503)`);
      }
      if (response.status !== 307 && response.status !== 308) return ok({ response, base });
      await response.body?.cancel();
      const next = leaderBaseFrom(response.headers.get('location'), path);
      if (!next) return err(`${base}: redirect without a usable Location`);
      base = next;
    }
    return err(`${first}: more than ${this.limits.redirectsMax} redirects (masters disagree)`);
  }
}

/** The leader's base URL from a redirect to `<base><path>[?query]`. */
export function leaderBaseFrom(location: string | null, path: string): string | undefined {
  if (!location) return undefined;
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return undefined;
  }
  const prefix = url.pathname.endsWith(path) ? url.pathname.slice(0, -path.length) : '';
  return masterBase(`${url.origin}${prefix}`);
}
