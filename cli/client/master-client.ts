import { createHash } from 'node:crypto';
import { WasmosError } from '../../lib/errors.js';
import type { ZkUrl } from '../../lib/zookeeper/url.js';
import {
  DEFAULT_LEADER_CLIENT_LIMITS,
  findLeader,
  LeaderFollower,
  parseMasterLocation,
  type LeaderClientLimits,
  type LeaderRequest,
} from './leader.js';

/** Where the CLI looks for the master when neither --master nor WASMOS_MASTER says. */
export const DEFAULT_MASTER_URL = 'http://127.0.0.1:5050';

/** The `--master` help of the client commands. */
export const MASTER_OPTION_HELP =
  'master URL, comma-separated master URLs (the leader is followed), or ' +
  'zk://h1:2181,h2:2181/wasmos (else WASMOS_MASTER, else http://127.0.0.1:5050)';

export interface MasterClientOptions {
  /** `--master`; else WASMOS_MASTER; else DEFAULT_MASTER_URL. */
  readonly master?: string;
  /** `principal:secret` for a master with HTTP credentials (else WASMOS_CREDENTIALS). */
  readonly credentials?: string;
  /** How long to keep trying masters that are down or know no leader. */
  readonly findTimeoutMs?: number;
}

/** The master URL the CLI uses: --master, else WASMOS_MASTER, else the local default. */
export function masterUrlFrom(flag: string | undefined): string {
  return flag ?? process.env['WASMOS_MASTER'] ?? DEFAULT_MASTER_URL;
}

/** What the master answers on an error: `{ error: { code, message } }`. */
interface ErrorBody {
  readonly error?: { readonly code?: string; readonly message?: string };
}

/**
 * The CLI's HTTP client for the master's JSON APIs (jobs, operator, blobs): finds the leader
 * among the given URLs (cli/client/leader.ts) and turns every failure into a WasmosError that
 * says what went wrong and what to do.
 */
export class MasterClient {
  readonly location: string;
  /** For a list of URLs: made at once; for zk://: once ZooKeeper named the leader. */
  private follower: LeaderFollower | undefined;
  private readonly zk: ZkUrl | undefined;
  private readonly limits: LeaderClientLimits;
  private readonly authorization: string | undefined;

  constructor(options: MasterClientOptions = {}) {
    this.location = masterUrlFrom(options.master);
    const parsed = parseMasterLocation(this.location);
    if (!parsed.ok) throw new WasmosError('BAD_MASTER_URL', `--master: ${parsed.error}`);
    this.limits = {
      ...DEFAULT_LEADER_CLIENT_LIMITS,
      findTimeoutMs: options.findTimeoutMs ?? 5_000,
    };
    if (parsed.value.kind === 'urls')
      this.follower = new LeaderFollower(parsed.value.urls, this.limits);
    else this.zk = parsed.value.zk;
    const credentials = options.credentials ?? process.env['WASMOS_CREDENTIALS'];
    this.authorization =
      credentials === undefined
        ? undefined
        : `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
  }

  /** The base URL of the master that answered last (before any answered: --master). */
  get url(): string {
    return this.follower?.current ?? this.location;
  }

  async request(path: string, request: LeaderRequest = {}): Promise<Response> {
    const headers = {
      ...(this.authorization ? { authorization: this.authorization } : {}),
      ...request.headers,
    };
    try {
      if (!this.zk) return await this.follower!.fetch(path, { ...request, headers });
      // zk://: ask ZooKeeper for the leader; when it does not answer (it died, or was deposed
      // since), ask again once: the election may have moved on.
      try {
        return await (await this.zkFollower(false)).fetch(path, { ...request, headers });
      } catch {
        return await (await this.zkFollower(true)).fetch(path, { ...request, headers });
      }
    } catch (error) {
      const message = (error as Error).message;
      const cause = message.includes('fetch failed')
        ? 'nothing answers there'
        : message.includes('503')
          ? 'no master there leads'
          : message;
      throw new WasmosError(
        'MASTER_UNREACHABLE',
        `cannot reach a master at ${this.location}: ${cause}. ` +
          'Start one with `wasmos dev`, or point --master (or WASMOS_MASTER) at a running master.',
      );
    }
  }

  /** A follower of the leader ZooKeeper names (a standby it reaches redirects to the leader). */
  private async zkFollower(again: boolean): Promise<LeaderFollower> {
    if (this.follower && !again) return this.follower;
    const leader = await findLeader(this.zk!, { limits: this.limits });
    this.follower = new LeaderFollower([leader.address], this.limits);
    return this.follower;
  }

  /** A JSON answer; any non-2xx becomes a WasmosError carrying the master's reason. */
  async json<T>(path: string, request: LeaderRequest = {}): Promise<T> {
    const response = await this.request(path, request);
    const text = await response.text();
    let body: unknown;
    try {
      body = text.length > 0 ? JSON.parse(text) : {};
    } catch {
      throw new WasmosError(
        'BAD_ANSWER',
        `the master answered ${response.status} with something that is not JSON`,
      );
    }
    if (!response.ok) throw answerError(response.status, body as ErrorBody, path);
    return body as T;
  }

  postJson<T>(path: string, value: unknown): Promise<T> {
    return this.json<T>(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(value),
    });
  }

  /** Uploads a component unless the master has it already; returns its `sha256:` digest. */
  async uploadComponent(bytes: Uint8Array): Promise<{ digest: string; uploaded: boolean }> {
    const hex = createHash('sha256').update(bytes).digest('hex');
    const path = `/api/v1/blobs/${hex}`;
    const head = await this.request(path, { method: 'HEAD' });
    await head.body?.cancel();
    if (head.status === 200) return { digest: `sha256:${hex}`, uploaded: false };
    await this.json(path, {
      method: 'PUT',
      headers: { 'content-type': 'application/wasm' },
      body: bytes,
    });
    return { digest: `sha256:${hex}`, uploaded: true };
  }
}

function answerError(status: number, body: ErrorBody, path: string): WasmosError {
  const code = body.error?.code ?? `HTTP_${status}`;
  const reason = body.error?.message ?? `HTTP ${status}`;
  const hint =
    status === 401
      ? ' Set WASMOS_CREDENTIALS=principal:secret for a master with HTTP credentials.'
      : status === 413
        ? ' Make the request smaller.'
        : status === 429
          ? ' Wait for running jobs to end, then try again.'
          : status === 503
            ? ' The master is starting or changing leader; try again shortly.'
            : '';
  return new WasmosError(code, `the master refused ${path}: ${reason}.${hint}`);
}
