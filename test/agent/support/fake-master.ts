/**
 * A small stand-in for the master end of docs/AGENT-CHANNEL.md, for agent tests: it opens the
 * agent's signed calls, answers REGISTER/REREGISTER with a RecordIO stream of signed events, and
 * records every call. It serves components from memory at /api/v1/blobs/<hex>.
 */
import { serve, type ServerType } from '@hono/node-server';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { ReplayGuard } from '../../../protocol/envelope/replay.js';
import { open } from '../../../protocol/envelope/open.js';
import { Signer } from '../../../protocol/envelope/seal.js';
import { generateIdentity, type Identity } from '../../../protocol/keys/identity.js';
import { TrustStore } from '../../../protocol/keys/trust.js';
import type { AgentCall, AgentEvent } from '../../../protocol/messages/agent.js';
import { encodeRecord } from '../../../protocol/recordio.js';

export interface RecordedCall {
  readonly call: AgentCall;
  readonly streamId: string | undefined;
}

export class FakeMaster {
  readonly identity: Identity = generateIdentity();
  readonly calls: RecordedCall[] = [];
  readonly agentTrust = new TrustStore();
  heartbeatIntervalSeconds = 1;
  private readonly signer = new Signer(this.identity);
  private readonly replay = new ReplayGuard();
  private readonly blobs = new Map<string, Uint8Array>();
  /** Blob downloads to answer 503 (a master not serving yet) before serving again. */
  blobFailuresLeft = 0;
  blobRequests = 0;
  /** False: STATUS_UPDATES is refused with 400 SCHEMA, as a master from before it would. */
  takesBatches = true;
  /** Task ids whose updates in a STATUS_UPDATES call are refused (202 with `refused`). */
  readonly refuseTasks = new Set<string>();
  private stream:
    { id: string; controller: ReadableStreamDefaultController<Uint8Array> } | undefined;
  /** Sends HEARTBEAT on the current stream every interval, as a real master does. */
  private heartbeats: ReturnType<typeof setInterval> | undefined;
  private streams = 0;
  private server: ServerType | undefined;
  url = '';

  /** What an agent of this master trusts: its key, with the master role. */
  masterTrust(): TrustStore {
    return new TrustStore([{ publicKey: this.identity.publicKey, role: 'master', name: 'master' }]);
  }

  trustAgent(identity: Identity): void {
    this.agentTrust.add({ publicKey: identity.publicKey, role: 'agent', name: 'agent' });
  }

  addBlob(bytes: Uint8Array): string {
    const hex = createHash('sha256').update(bytes).digest('hex');
    this.blobs.set(hex, bytes);
    return `sha256:${hex}`;
  }

  async start(): Promise<void> {
    const app = new Hono();
    app.get('/api/v1/blobs/:hex', (c) => {
      this.blobRequests++;
      if (this.blobFailuresLeft > 0) {
        this.blobFailuresLeft--;
        return c.json({ error: { code: 'NO_LEADER', message: 'no leader yet' } }, 503);
      }
      const bytes = this.blobs.get(c.req.param('hex'));
      return bytes
        ? c.body(new Uint8Array(bytes), 200, { 'content-type': 'application/wasm' })
        : c.json({}, 404);
    });
    app.post('/api/v1/agent', async (c) => {
      const opened = open(new Uint8Array(await c.req.arrayBuffer()), this.agentTrust, this.replay, {
        nowMs: Date.now(),
        types: ['agent.call'],
      });
      if (!opened.ok)
        return c.json({ error: opened.error }, opened.error.code === 'UNKNOWN_KEY' ? 403 : 400);
      if (opened.value.type !== 'agent.call') return c.json({}, 400);
      const call = opened.value.body;
      const streamId = c.req.header('mesos-stream-id');
      if (call.type === 'STATUS_UPDATES' && !this.takesBatches)
        return c.json({ error: { code: 'SCHEMA', message: 'unknown call type' } }, 400);
      this.calls.push({ call, streamId });
      if (call.type === 'REGISTER' || call.type === 'REREGISTER') return this.subscribe(call);
      if (!this.stream || streamId !== this.stream.id)
        return c.json({ error: { code: 'STREAM', message: 'wrong stream' } }, 403);
      if (call.type === 'STATUS_UPDATES') {
        const refused = call.status_updates.updates.flatMap((update, index) =>
          this.refuseTasks.has(update.status.task_id.value)
            ? [{ index, code: 'INVALID', message: 'refused by the test' }]
            : [],
        );
        if (refused.length > 0) return c.json({ refused }, 202);
      }
      return c.body(null, 202);
    });
    await new Promise<void>((resolve) => {
      this.server = serve(
        { fetch: app.fetch, port: 0, hostname: '127.0.0.1' },
        (info: AddressInfo) => {
          this.url = `http://127.0.0.1:${info.port}`;
          resolve();
        },
      );
    });
  }

  private subscribe(call: AgentCall): Response {
    const id = `stream-${++this.streams}`;
    const agentId =
      call.type === 'REREGISTER' ? call.reregister.agent_id.value : `agent-${this.streams}`;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.stream = { id, controller };
        const registered = {
          agent_id: { value: agentId },
          heartbeat_interval_seconds: this.heartbeatIntervalSeconds,
        };
        this.send(
          call.type === 'REGISTER'
            ? { type: 'REGISTERED', registered }
            : { type: 'REREGISTERED', reregistered: registered },
        );
        this.beat();
      },
      cancel: () => {
        if (this.stream?.id !== id) return;
        this.stream = undefined;
        clearInterval(this.heartbeats);
      },
    });
    return new Response(body, {
      status: 200,
      headers: { 'content-type': 'application/recordio', 'Mesos-Stream-Id': id },
    });
  }

  send(event: AgentEvent): void {
    if (!this.stream) throw new Error('no agent is subscribed');
    this.stream.controller.enqueue(encodeRecord(this.signer.seal('agent.event', event)));
  }

  /** Ends the current stream as a master that went away would. */
  dropStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    clearInterval(this.heartbeats);
    this.heartbeats = undefined;
    stream?.controller.close();
  }

  /**
   * Heartbeats keep the agent from taking a silent stream for a dead one: without them a test
   * that waits a few intervals between events (on a loaded machine) would see it reconnect.
   */
  private beat(): void {
    clearInterval(this.heartbeats);
    this.heartbeats = setInterval(() => {
      try {
        if (this.stream) this.send({ type: 'HEARTBEAT' });
      } catch {
        // The agent's side went away without a cancel: the next subscribe starts again.
        clearInterval(this.heartbeats);
      }
    }, this.heartbeatIntervalSeconds * 1000);
    this.heartbeats.unref();
  }

  get subscribed(): boolean {
    return this.stream !== undefined;
  }

  /** Every update received, in either form, in order. */
  statusUpdates() {
    return this.calls.flatMap((each) =>
      each.call.type === 'STATUS_UPDATE'
        ? [each.call.status_update.update]
        : each.call.type === 'STATUS_UPDATES'
          ? each.call.status_updates.updates
          : [],
    );
  }

  /** Acknowledges several updates in one ACKNOWLEDGE_UPDATES record. */
  acknowledgeAll(
    updates: ReadonlyArray<{
      framework_id: { value: string };
      status: { task_id: { value: string }; uuid: string };
    }>,
  ): void {
    this.send({
      type: 'ACKNOWLEDGE_UPDATES',
      acknowledge_updates: {
        acknowledgements: updates.map((update) => ({
          framework_id: update.framework_id,
          task_id: update.status.task_id,
          uuid: update.status.uuid,
        })),
      },
    });
  }

  acknowledge(update: {
    framework_id: { value: string };
    status: { task_id: { value: string }; uuid: string };
  }): void {
    this.send({
      type: 'ACKNOWLEDGE_UPDATE',
      acknowledge_update: {
        framework_id: update.framework_id,
        task_id: update.status.task_id,
        uuid: update.status.uuid,
      },
    });
  }

  async stop(): Promise<void> {
    this.dropStream();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}

/** Polls until `check` returns a value (not undefined); fails after `timeoutMs` (a hang guard, not a timing assertion). */
export async function eventually<T>(
  what: string,
  check: () => T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
