/**
 * Only the leading master accepts framework and agent calls. On any other master the gate
 * answers 307 to the same path on the leader (307 keeps the method and body, so a client
 * simply re-sends), or 503 when no leader is known. Read-only endpoints stay open on every
 * master and say which master leads.
 */
import type { MiddlewareHandler } from 'hono';
import type { MasterInfo } from '../election/layout.js';

/** What the gate needs to know; `Leadership` provides it. */
export interface LeaderView {
  /** True only while this master leads AND its leading master runs. Checked per request. */
  isServing(): boolean;
  /** Where clients should go: this master while serving, else the leader if one is known. */
  leader(): MasterInfo | undefined;
}

/** The header every gated or read-only answer carries: the leader's address, if known. */
export const LEADER_HEADER = 'wasmos-leader';

/** Seconds a client should wait before retrying a 503 (no leader known). */
export const NO_LEADER_RETRY_AFTER_S = 1;

const errorBody = (code: string, message: string) => ({ error: { code, message } });

/**
 * Middleware for the scheduler and agent routes: passes the request on only while this
 * master serves as leader.
 *
 * @example
 * app.use('/api/v1/scheduler', leaderGate(leadership));
 * app.use('/api/v1/agent/*', leaderGate(leadership));
 */
export function leaderGate(view: LeaderView): MiddlewareHandler {
  return async function leaderGateMiddleware(context, next) {
    if (view.isServing()) return next();
    const leader = view.leader();
    const target = leader && redirectTarget(leader.address, context.req.url);
    if (!target) {
      return context.json(
        errorBody(
          'NO_LEADER',
          leader
            ? `the leading master's address is unusable: ${JSON.stringify(leader.address)}`
            : 'this master does not lead and no leading master is known; retry shortly',
        ),
        503,
        { 'retry-after': String(NO_LEADER_RETRY_AFTER_S) },
      );
    }
    return context.body(null, 307, { location: target, [LEADER_HEADER]: leader.address });
  };
}

/**
 * Middleware for read-only endpoints: always served, with the leader's address in a header
 * (handlers put `leaderSummary()` into their JSON too).
 */
export function leaderHeader(view: LeaderView): MiddlewareHandler {
  return async function leaderHeaderMiddleware(context, next) {
    await next();
    const leader = view.leader();
    if (leader) context.res.headers.set(LEADER_HEADER, leader.address);
  };
}

/** The part of read-only state that names the leader. */
export function leaderSummary(view: LeaderView): {
  readonly leading: boolean;
  readonly leader: { readonly id: string; readonly address: string } | null;
} {
  const leader = view.leader();
  return {
    leading: view.isServing(),
    leader: leader ? { id: leader.id, address: leader.address } : null,
  };
}

/**
 * The same path and query on the leader. The address comes from ZooKeeper (written by a
 * master, but still outside input): only an http(s) origin is accepted, and a path in it is
 * kept as a prefix (a master behind a reverse proxy).
 */
export function redirectTarget(leaderAddress: string, requestUrl: string): string | undefined {
  let base: URL;
  let request: URL;
  try {
    base = new URL(leaderAddress);
    request = new URL(requestUrl);
  } catch {
    return undefined;
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') return undefined;
  if (base.username || base.password || base.search || base.hash) return undefined;
  const prefix = base.pathname.replace(/\/+$/, '');
  return `${base.origin}${prefix}${request.pathname}${request.search}`;
}
