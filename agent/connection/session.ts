import { assert } from '../../lib/assert.js';
import type { Cancel, Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { AgentCall, AgentEvent } from '../../protocol/messages/agent.js';
import { backoffDelayMs } from '../core/backoff.js';
import { ChannelFailure, type AgentChannel, type Subscription } from './channel.js';

export interface SessionHandlers {
  /** The call that opens a stream: REGISTER first time, REREGISTER once the agent has an id. */
  subscribeCall(): AgentCall;
  /** REGISTERED/REREGISTERED arrived: the stream is live. */
  connected(streamId: string, agentId: string, heartbeatIntervalMs: number): Promise<void>;
  /** Every later event, in order (the session awaits each before reading the next). */
  event(event: AgentEvent): Promise<void>;
  disconnected(reason: string): void;
}

export interface SessionOptions {
  readonly channel: AgentChannel;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly missedHeartbeatsMax: number;
  /** A draw in [0, 1) for jitter; Math.random in production. */
  readonly random: () => number;
}

/**
 * Keeps the agent subscribed: opens the stream, hands events over, watches for silence (no
 * event for missedHeartbeatsMax heartbeat intervals means the stream is dead even if TCP has
 * not noticed), and reconnects with capped exponential backoff plus jitter. Backoff restarts
 * from the base once a registration succeeded.
 */
export class AgentSession {
  private running = false;
  private current: Subscription | undefined;
  private streamId: string | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly options: SessionOptions,
    private readonly handlers: SessionHandlers,
  ) {}

  start(): void {
    assert(!this.running, 'a session starts once');
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.current?.close();
    this.wake?.();
    // Ends a subscribe that is going round the masters, and stops following ZooKeeper.
    await this.options.channel.close();
    await this.loop;
  }

  /** The id of the live stream, for calls; undefined while disconnected. */
  get liveStreamId(): string | undefined {
    return this.streamId;
  }

  /** Drops the current stream (used when the master reports an error that needs a new session). */
  reconnect(): void {
    this.current?.close();
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (this.running) {
      const registered = await this.once();
      if (!this.running) break;
      attempt = registered ? 0 : attempt + 1;
      const delayMs = backoffDelayMs(
        Math.max(0, attempt - 1),
        this.options.backoffBaseMs,
        this.options.backoffMaxMs,
        this.options.random(),
      );
      this.options.logger.info('reconnecting to the master', { inMs: delayMs, attempt });
      await this.sleep(delayMs);
    }
  }

  /** One subscription, start to end; true when it got as far as a registration. */
  private async once(): Promise<boolean> {
    const subscribed = await this.options.channel.subscribe(this.handlers.subscribeCall());
    if (!subscribed.ok) {
      this.options.logger.warn('could not subscribe to the master', {
        ...subscribed.error,
        master: this.options.channel.master,
      });
      return false;
    }
    const subscription = subscribed.value;
    if (!this.running) {
      subscription.close();
      return false;
    }
    this.current = subscription;
    let registered = false;
    let reason = 'the stream ended';
    let watchdog: Cancel | undefined;
    let silenceMs = Number.POSITIVE_INFINITY;
    const arm = (): void => {
      watchdog?.();
      if (!Number.isFinite(silenceMs)) return;
      watchdog = this.options.clock.after(silenceMs, () => {
        reason = `no event for ${silenceMs} ms`;
        subscription.close();
      });
    };
    try {
      for await (const event of subscription.events) {
        if (!registered) {
          const first =
            event.type === 'REGISTERED'
              ? event.registered
              : event.type === 'REREGISTERED'
                ? event.reregistered
                : undefined;
          if (!first) {
            reason = `first event was ${event.type}, not REGISTERED`;
            break;
          }
          registered = true;
          const intervalMs = first.heartbeat_interval_seconds * 1000;
          if (intervalMs > 0) silenceMs = intervalMs * this.options.missedHeartbeatsMax;
          arm();
          this.streamId = subscription.streamId;
          await this.handlers.connected(subscription.streamId, first.agent_id.value, intervalMs);
          continue;
        }
        arm();
        await this.handlers.event(event);
      }
    } catch (error) {
      reason = error instanceof ChannelFailure ? error.message : `stream failed: ${String(error)}`;
    } finally {
      watchdog?.();
      subscription.close();
      this.current = undefined;
      this.streamId = undefined;
    }
    if (registered) this.handlers.disconnected(reason);
    this.options.logger.warn('disconnected from the master', { reason });
    return registered;
  }

  private sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.options.clock.after(delayMs, () => {
        this.wake = undefined;
        resolve();
      });
      this.wake = () => {
        cancel();
        this.wake = undefined;
        resolve();
      };
    });
  }
}
