/**
 * `POST /api/v1/scheduler`: the framework API with Mesos v1 scheduler semantics, in two
 * encodings on one endpoint (docs/MASTER.md). SUBSCRIBE answers 200 with a streaming RecordIO
 * body and a `Mesos-Stream-Id`; every other call must carry that header and answers 202 once
 * its effects are durable. Refusals answer `{ error: { code, message } }` and change nothing.
 */
import { Hono, type Context } from 'hono';
import type { Cancel } from '../../lib/clock.js';
import type { SchedulerCall, SchedulerEvent } from '../../protocol/index.js';
import { EventStream } from '../http/event-stream.js';
import {
  decodeSchedulerCall,
  encodeSchedulerEvent,
  MEDIA_TYPE,
  type Caller,
  type Encoding,
} from '../http/scheduler-codec.js';
import type { CoreErrorCode } from '../core/errors.js';
import type { FrameworkEvent, FrameworkInput } from '../core/messages.js';
import type { MasterContext } from './context.js';
import type { SubmitError } from './driver.js';
import {
  callInput,
  coreRoles,
  HEARTBEAT_EVENT,
  masterInfoFor,
  principalOf,
  schedulerEventsOf,
  subscribeInput,
  type MasterInfoWire,
} from './scheduler-mapping.js';
import type { Sink } from './streams.js';

export const STREAM_ID_HEADER = 'Mesos-Stream-Id';

type ErrorStatus = 400 | 401 | 403 | 404 | 413 | 415 | 503;

const errorBody = (code: string, message: string) => ({ error: { code, message } });

/** How each core refusal answers (master/core/errors.ts). */
const CORE_STATUS: Readonly<Record<CoreErrorCode, ErrorStatus>> = {
  invalid: 400,
  limit_exceeded: 400,
  wrong_stream: 403,
  key_mismatch: 403,
  principal_mismatch: 403,
  framework_unknown: 404,
  framework_removed: 404,
  agent_unknown: 404,
  agent_gone: 404,
  agent_not_registered: 404,
};

function submitFailure(c: Context, failure: SubmitError): Response {
  switch (failure.kind) {
    case 'core':
      return c.json(
        errorBody(failure.error.code.toUpperCase(), failure.error.message),
        CORE_STATUS[failure.error.code],
      );
    case 'persist':
      return c.json(
        errorBody('UNAVAILABLE', `the master could not persist the call: ${failure.error.message}`),
        503,
      );
    case 'stopped':
      return c.json(errorBody('UNAVAILABLE', failure.message), 503);
  }
}

export function schedulerRoutes(ctx: MasterContext): Hono {
  const routes = new Hono();
  routes.post('/', async (c) => {
    const decoded = await decodeSchedulerCall(c.req.raw, {
      trust: ctx.trust,
      replay: ctx.replay,
      clock: ctx.clock,
      bodyBytesMax: ctx.limits.callBytesMax,
      ...(ctx.credentials ? { credentials: ctx.credentials } : {}),
    });
    if (!decoded.ok) {
      const { status, code, message } = decoded.error;
      return c.json(errorBody(code, message), status);
    }
    const { call, caller, encoding } = decoded.value;
    const streamHeader = c.req.header(STREAM_ID_HEADER);
    if (call.type === 'SUBSCRIBE') {
      if (streamHeader !== undefined) {
        return c.json(
          errorBody('BAD_STREAM_HEADER', `SUBSCRIBE must not carry a ${STREAM_ID_HEADER} header`),
          400,
        );
      }
      return subscribe(c, ctx, call, caller, encoding);
    }
    if (!streamHeader) {
      return c.json(
        errorBody('MISSING_STREAM_ID', `every call but SUBSCRIBE needs its ${STREAM_ID_HEADER}`),
        400,
      );
    }
    const owner = checkCaller(ctx, call.framework_id.value, caller);
    if (owner) return c.json(errorBody(owner.code, owner.message), owner.status);
    if (call.type === 'SHUTDOWN') return shutdown(c, ctx, call.framework_id.value, streamHeader);
    const input = callInput(call, streamHeader);
    if (!input.ok) return c.json(errorBody(input.error.code, input.error.message), 400);
    const reply = await ctx.driver.submit(input.value);
    if (!reply.ok) return submitFailure(c, reply.error);
    return c.body(null, 202);
  });
  return routes;
}

/** A call names a framework; only the principal that subscribed it may act for it. */
function checkCaller(
  ctx: MasterContext,
  frameworkId: string,
  caller: Caller,
): { status: ErrorStatus; code: string; message: string } | undefined {
  const framework = ctx.driver.view().frameworks.get(frameworkId);
  // Unknown frameworks are left to the core, which tells unknown from removed.
  if (!framework || framework.principal === principalOf(caller)) return undefined;
  return {
    status: 403,
    code: 'PRINCIPAL_MISMATCH',
    message: `framework ${frameworkId} belongs to another principal`,
  };
}

/** SHUTDOWN kills an executor in Mesos; wasmos tasks have none, so a valid call does nothing. */
function shutdown(c: Context, ctx: MasterContext, frameworkId: string, streamId: string): Response {
  const framework = ctx.driver.view().frameworks.get(frameworkId);
  if (!framework)
    return c.json(
      errorBody('FRAMEWORK_UNKNOWN', `framework ${frameworkId} is not registered`),
      404,
    );
  if (framework.streamId !== streamId) {
    return c.json(
      errorBody('WRONG_STREAM', `call for ${frameworkId} is not on its current stream`),
      403,
    );
  }
  return c.body(null, 202);
}

async function subscribe(
  c: Context,
  ctx: MasterContext,
  call: Extract<SchedulerCall, { type: 'SUBSCRIBE' }>,
  caller: Caller,
  encoding: Encoding,
): Promise<Response> {
  const stream = new EventStream(ctx.limits.streamRecordsQueuedMax);
  const input = subscribeInput(
    call,
    stream.id,
    principalOf(caller),
    caller.kind === 'principal' ? caller.principal : undefined,
  );
  if (!input.ok) return c.json(errorBody(input.error.code, input.error.message), 400);
  const sink = new FrameworkStreamSink(
    ctx,
    stream,
    encoding,
    masterInfoFor(ctx.masterId, c.req.url),
  );
  // Registered before the call is stepped: SUBSCRIBED is delivered before `submit` resolves.
  ctx.streams.addFramework(stream.id, sink);
  const reply = await ctx.driver.submit(input.value);
  if (!reply.ok || reply.value.kind !== 'subscribed') {
    ctx.streams.removeFramework(stream.id, sink);
    sink.abandon();
    return reply.ok
      ? c.json(errorBody('INTERNAL', 'subscribe did not subscribe'), 503)
      : submitFailure(c, reply.error);
  }
  const frameworkId = reply.value.frameworkId;
  sink.bind(frameworkId);
  const suppressed = call.subscribe.suppressed_roles;
  if (suppressed && suppressed.length > 0) {
    // Mesos applies suppressed_roles with the subscription; here it follows right after.
    ctx.driver.notify({
      kind: 'suppress',
      frameworkId,
      streamId: stream.id,
      roles: coreRoles(suppressed),
    });
  }
  ctx.log.info('framework subscribed', { frameworkId, stream: stream.id, encoding });
  const recordio = (c.req.header('accept') ?? '').includes('application/recordio');
  return new Response(stream.body, {
    status: 200,
    headers: {
      'content-type': recordio ? 'application/recordio' : MEDIA_TYPE[encoding],
      ...(recordio ? { 'message-content-type': MEDIA_TYPE[encoding] } : {}),
      'cache-control': 'no-store',
      [STREAM_ID_HEADER]: stream.id,
    },
  });
}

/**
 * One framework's event stream: encodes core events in the subscriber's encoding, sends a
 * HEARTBEAT every announced interval, and tells the core when the stream ends (client gone,
 * fell too far behind, superseded, or the master stopping).
 */
class FrameworkStreamSink implements Sink<FrameworkEvent> {
  private frameworkId: string | undefined;
  private cancelHeartbeat: Cancel | undefined;
  private heartbeatMs = 0;
  private abandoned = false;

  constructor(
    private readonly ctx: MasterContext,
    private readonly stream: EventStream,
    private readonly encoding: Encoding,
    private readonly masterInfo: MasterInfoWire,
  ) {
    stream.onClose(() => this.closed());
  }

  /** The subscription succeeded: from now on a closing stream is a framework disconnecting. */
  bind(frameworkId: string): void {
    this.frameworkId = frameworkId;
    if (!this.stream.isOpen) this.closed();
  }

  /** The subscription failed: close quietly. */
  abandon(): void {
    this.abandoned = true;
    this.stream.close();
  }

  send(event: FrameworkEvent): void {
    if (event.type === 'subscribed') this.startHeartbeat(event.heartbeatIntervalMs);
    for (const wire of schedulerEventsOf(event, this.masterInfo)) this.write(wire);
  }

  close(): void {
    this.stream.close();
  }

  private write(event: SchedulerEvent): void {
    let record: Uint8Array;
    try {
      record = encodeSchedulerEvent(event, this.encoding, this.ctx.signer);
    } catch (error) {
      // A bug in mapping (an event the schema refuses): lose this event, keep the stream.
      this.ctx.log.error('could not encode a scheduler event', {
        type: event.type,
        error: error instanceof Error ? error.message : String(error),
      });
      return;
    }
    if (this.stream.send(record) === 'overflow') {
      this.ctx.log.warn('framework stream cut: the client fell behind', {
        frameworkId: this.frameworkId,
        recordsQueuedMax: this.stream.recordsQueuedMax,
      });
    }
  }

  private startHeartbeat(intervalMs: number): void {
    if (this.heartbeatMs === intervalMs && this.cancelHeartbeat) return;
    this.cancelHeartbeat?.();
    this.heartbeatMs = intervalMs;
    const beat = (): void => {
      if (!this.stream.isOpen) return;
      this.write(HEARTBEAT_EVENT);
      this.cancelHeartbeat = this.ctx.clock.after(intervalMs, beat);
    };
    this.cancelHeartbeat = this.ctx.clock.after(intervalMs, beat);
  }

  private closed(): void {
    this.cancelHeartbeat?.();
    this.cancelHeartbeat = undefined;
    this.ctx.streams.removeFramework(this.stream.id, this);
    if (this.abandoned || this.frameworkId === undefined) return;
    const input: FrameworkInput = {
      kind: 'frameworkDisconnected',
      frameworkId: this.frameworkId,
      streamId: this.stream.id,
    };
    // Refused as `wrong_stream` when the framework already moved to a newer stream: fine.
    this.ctx.driver.notify(input);
  }
}
