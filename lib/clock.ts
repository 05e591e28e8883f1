import { assert } from './assert.js';

export type Cancel = () => void;

/** Time is injected: the core never reads the system clock itself. */
export interface Clock {
  nowMs(): number;
  after(delayMs: number, callback: () => void): Cancel;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  after(delayMs, callback) {
    const timer = setTimeout(callback, delayMs);
    return () => clearTimeout(timer);
  },
};

interface PendingTimer {
  readonly dueMs: number;
  readonly order: number;
  readonly callback: () => void;
}

/** A clock for tests and simulations: time moves only when told to. */
export class ManualClock implements Clock {
  private timers: PendingTimer[] = [];
  private timersCreated = 0;

  constructor(private currentMs = 0) {}

  nowMs(): number {
    return this.currentMs;
  }

  after(delayMs: number, callback: () => void): Cancel {
    assert(delayMs >= 0, 'timer delay must not be negative');
    const timer: PendingTimer = {
      dueMs: this.currentMs + delayMs,
      order: this.timersCreated++,
      callback,
    };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((pending) => pending !== timer);
    };
  }

  /** Moves time forward, firing due callbacks synchronously in due order (ties: creation order). */
  advanceMs(deltaMs: number): void {
    assert(deltaMs >= 0, 'time must not move backwards');
    const targetMs = this.currentMs + deltaMs;
    for (;;) {
      const next = this.nextDue(targetMs);
      if (!next) break;
      this.timers = this.timers.filter((pending) => pending !== next);
      this.currentMs = next.dueMs;
      next.callback();
    }
    this.currentMs = targetMs;
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  private nextDue(targetMs: number): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const timer of this.timers) {
      if (timer.dueMs > targetMs) continue;
      if (
        !best ||
        timer.dueMs < best.dueMs ||
        (timer.dueMs === best.dueMs && timer.order < best.order)
      ) {
        best = timer;
      }
    }
    return best;
  }
}
