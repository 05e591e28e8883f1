import { assert } from '../../lib/assert.js';
import { LruMap } from '../../lib/lru.js';
import { protocolLimits } from '../limits.js';

export type ReplayVerdict = 'fresh' | 'duplicate' | 'too_old' | 'evicted_session';

/**
 * Which sequence numbers each (sender, session) has used. Per session: the highest seq seen and
 * a bitmap of the `windowSeqs` below it; a seq at or under `highest - windowSeqs` is refused as
 * too old. Sessions are kept in an LRU bounded by `sessionsMax`. Evicting a session must not
 * reopen it to replays, so the newest timestamp accepted in any evicted session is kept as a
 * horizon: a message for a session not (or no longer) tracked must be newer than that horizon.
 * The least recently used session is the one evicted, so in practice the horizon trails the
 * present and fresh sessions pass; with eviction pressure and skewed clocks a genuinely new
 * session may be refused until its clock passes the horizon (fail closed).
 */
export class ReplayGuard {
  private readonly sessions: LruMap<string, SessionWindow>;
  private evictedHorizonMs = Number.NEGATIVE_INFINITY;
  private evictions = 0;

  constructor(
    readonly sessionsMax: number = protocolLimits.replaySessionsMax,
    readonly windowSeqs: number = protocolLimits.replayWindowSeqs,
  ) {
    assert(Number.isInteger(windowSeqs) && windowSeqs > 0, 'replay window must be positive');
    assert(windowSeqs % 32 === 0, 'replay window is a whole number of 32-bit words');
    this.sessions = new LruMap(sessionsMax);
  }

  /** Checks a seq without recording it. */
  check(sender: string, sid: string, seq: number, tsMs: number): ReplayVerdict {
    const window = this.sessions.get(sessionKey(sender, sid));
    if (!window) return tsMs > this.evictedHorizonMs ? 'fresh' : 'evicted_session';
    return window.check(seq);
  }

  /** Records a seq that `check` found fresh (call only after the signature verified). */
  record(sender: string, sid: string, seq: number, tsMs: number): void {
    const key = sessionKey(sender, sid);
    let window = this.sessions.get(key);
    if (!window) {
      window = new SessionWindow(this.windowSeqs);
      const evicted = this.sessions.set(key, window);
      if (evicted) {
        this.evictions++;
        this.evictedHorizonMs = Math.max(this.evictedHorizonMs, evicted[1].newestTsMs);
      }
    }
    window.record(seq, tsMs);
  }

  get sessionsTracked(): number {
    return this.sessions.size;
  }

  get sessionsEvicted(): number {
    return this.evictions;
  }
}

function sessionKey(sender: string, sid: string): string {
  // Neither a key id nor a session id contains a space.
  return `${sender} ${sid}`;
}

class SessionWindow {
  private highest = 0;
  /** Bit (seq mod windowSeqs) is set when that seq, within the window, was seen. */
  private readonly seen: Uint32Array;
  newestTsMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly windowSeqs: number) {
    this.seen = new Uint32Array(windowSeqs / 32);
  }

  check(seq: number): ReplayVerdict {
    if (seq > this.highest) return 'fresh';
    if (seq <= this.highest - this.windowSeqs) return 'too_old';
    return this.isSeen(seq) ? 'duplicate' : 'fresh';
  }

  record(seq: number, tsMs: number): void {
    assert(this.check(seq) === 'fresh', 'only a fresh seq is recorded');
    if (seq > this.highest) this.advanceTo(seq);
    const bit = seq % this.windowSeqs;
    this.seen[bit >>> 5]! |= 1 << (bit & 31);
    this.newestTsMs = Math.max(this.newestTsMs, tsMs);
    assert(this.isSeen(seq), 'a recorded seq reads back as seen');
  }

  private isSeen(seq: number): boolean {
    const bit = seq % this.windowSeqs;
    return (this.seen[bit >>> 5]! & (1 << (bit & 31))) !== 0;
  }

  /** Clears the bits of the seqs the new highest brings into the window (they held older seqs). */
  private advanceTo(seq: number): void {
    const steps = Math.min(seq - this.highest, this.windowSeqs);
    if (steps === this.windowSeqs) {
      this.seen.fill(0);
    } else {
      for (let next = this.highest + 1; next <= this.highest + steps; next++) {
        const bit = next % this.windowSeqs;
        this.seen[bit >>> 5]! &= ~(1 << (bit & 31));
      }
    }
    this.highest = seq;
  }
}
