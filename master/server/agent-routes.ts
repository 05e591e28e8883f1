import { Hono, type Context } from 'hono';
import { open, protocolLimits, type AgentCall, type StatusUpdate } from '../../protocol/index.js';
import type { CoreError } from '../core/errors.js';
import type { AgentInput } from '../core/messages.js';
import type { SubmitError } from './driver.js';
import { readBodyLimited } from '../http/body.js';
import { ENVELOPE_REFUSAL_STATUS } from '../http/envelope-status.js';
import { callAgentId, statusUpdateFromWire, subscribeInputFromWire } from './agent-codec.js';
import { agentHubOf, type AgentConnection } from './agent-hub.js';
import type { MasterContext } from './context.js';

/** Where the agent channel is mounted: `app.route(AGENT_CHANNEL_PATH, agentRoutes(ctx))`. */
export const AGENT_CHANNEL_PATH = '/api/v1/agent';
export const STREAM_ID_HEADER = 'Mesos-Stream-Id';

type Status = 400 | 403 | 413 | 415 | 503;

/** A refused update's message in a STATUS_UPDATES answer is cut to this (the answer stays small). */
export const REFUSED_UPDATE_MESSAGE_CHARS_MAX = 200;

/** How each core refusal answers: a key or stream that is not the agent's is 403, the rest 400. */
const CORE_STATUS: Readonly<Record<CoreError['code'], Status>> = {
  invalid: 400,
  limit_exceeded: 400,
  wrong_stream: 403,
  key_mismatch: 403,
  principal_mismatch: 403,
  agent_gone: 403,
  agent_unknown: 400,
  agent_not_registered: 400,
  framework_unknown: 400,
  framework_removed: 400,
};

interface Refusal {
  readonly status: Status;
  readonly code: string;
  readonly message: string;
}

function refuse(context: Context, refusal: Refusal): Response {
  return context.json({ error: { code: refusal.code, message: refusal.message } }, refusal.status);
}

function submitRefusal(error: SubmitError): Refusal {
  if (error.kind === 'core')
    return {
      status: CORE_STATUS[error.error.code] ?? 400,
      code: error.error.code.toUpperCase(),
      message: error.error.message,
    };
  if (error.kind === 'persist')
    return { status: 503, code: 'UNAVAILABLE', message: `not recorded: ${error.error.message}` };
  return { status: 503, code: 'UNAVAILABLE', message: error.message };
}

/**
 * `POST /api/v1/agent`: the agent channel (docs/AGENT-CHANNEL.md). Every request is one signed
 * `agent.call` envelope, opened against the master's trust store and replay guard before
 * anything else happens; REGISTER/REREGISTER answer with the agent's event stream, every other
 * call must name that stream (Mesos-Stream-Id) and answers 202. Mount it behind the leader gate.
 */
export function agentRoutes(ctx: MasterContext): Hono {
  const hub = agentHubOf(ctx);
  const app = new Hono();

  app.post('/', async (context) => {
    const mediaType = (context.req.header('content-type') ?? '').split(';')[0]!.trim();
    if (mediaType.toLowerCase() !== 'application/cbor') {
      return refuse(context, {
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'the agent channel takes signed envelopes: send application/cbor',
      });
    }
    const body = await readBodyLimited(context.req.raw, ctx.limits.callBytesMax);
    if (!body.ok)
      return refuse(context, {
        status: body.error.code === 'TOO_LARGE' ? 413 : 400,
        ...body.error,
      });
    const opened = open(body.value, ctx.trust, ctx.replay, {
      nowMs: ctx.clock.nowMs(),
      envelopeBytesMax: Math.min(ctx.limits.callBytesMax, protocolLimits.envelopeBytesMax),
      types: ['agent.call'],
    });
    if (!opened.ok)
      return refuse(context, {
        status: ENVELOPE_REFUSAL_STATUS[opened.error.code],
        ...opened.error,
      });
    const message = opened.value;
    if (message.type !== 'agent.call' || message.signer.role !== 'agent') {
      return refuse(context, {
        status: 403,
        code: 'WRONG_ROLE',
        message: 'agent calls must be signed by an agent key',
      });
    }
    const call = message.body;
    if (call.type === 'REGISTER' || call.type === 'REREGISTER')
      return subscribe(context, call, message.sender);
    return onStream(context, call, message.sender);
  });

  /** REGISTER / REREGISTER: step the core, answer with the agent's event stream. */
  async function subscribe(
    context: Context,
    call: Extract<AgentCall, { type: 'REGISTER' | 'REREGISTER' }>,
    keyId: string,
  ): Promise<Response> {
    const input = subscribeInputFromWire(call, keyId, ctx.driver.view(), ctx.clock.nowMs());
    if (!input.ok) return refuse(context, input.error);
    const intervalMs = ctx.driver.view().config.timings.agentHeartbeatIntervalMs;
    if (input.value.kind === 'reregisterAgent') {
      const agentId = input.value.agentId;
      // Only the admitted key may replace an agent's stream; checked before the old one closes.
      const admitted = ctx.driver.view().agents.get(agentId);
      if (admitted && admitted.keyId !== keyId) {
        return refuse(context, {
          status: 403,
          code: 'KEY_MISMATCH',
          message: `agent ${agentId} was admitted with another key`,
        });
      }
      // The stream exists before the step, so REREGISTERED and whatever the core sends with it
      // (kills, framework shutdowns) are queued on it in order.
      const connection = hub.open(agentId, keyId);
      const reply = await ctx.driver.submit(input.value);
      if (!reply.ok) {
        connection.close();
        return refuse(context, submitRefusal(reply.error));
      }
      return streamResponse(context, connection, intervalMs);
    }
    const reply = await ctx.driver.submit(input.value);
    if (!reply.ok) return refuse(context, submitRefusal(reply.error));
    if (reply.value.kind !== 'agentRegistered')
      return refuse(context, { status: 503, code: 'UNAVAILABLE', message: 'no agent id assigned' });
    // The id is new: the core's REGISTERED went out before this stream existed, so send our own.
    const connection = hub.open(reply.value.agentId, keyId);
    connection.send({
      type: 'registered',
      agentId: reply.value.agentId,
      heartbeatIntervalMs: intervalMs,
    });
    return streamResponse(context, connection, intervalMs);
  }

  function streamResponse(
    context: Context,
    connection: AgentConnection,
    intervalMs: number,
  ): Response {
    connection.startHeartbeats(intervalMs);
    return context.body(connection.stream.body, 200, {
      'content-type': 'application/recordio',
      'cache-control': 'no-store',
      [STREAM_ID_HEADER]: connection.streamId,
    });
  }

  /** Calls on an open stream: the stream must exist and belong to the calling agent and key. */
  async function onStream(context: Context, call: AgentCall, keyId: string): Promise<Response> {
    const streamId = context.req.header(STREAM_ID_HEADER);
    if (!streamId) {
      return refuse(context, {
        status: 400,
        code: 'MISSING_STREAM_ID',
        message: `${call.type} must carry the ${STREAM_ID_HEADER} header of the agent's stream`,
      });
    }
    const connection = hub.find(streamId);
    const agentId = callAgentId(call);
    if (!connection || !hub.isCurrent(connection) || connection.agentId !== agentId) {
      return refuse(context, {
        status: 403,
        code: 'WRONG_STREAM',
        message: `stream ${streamId.slice(0, 64)} is not the open stream of agent ${agentId ?? '?'}; re-register`,
      });
    }
    if (connection.keyId !== keyId) {
      return refuse(context, {
        status: 403,
        code: 'KEY_MISMATCH',
        message: 'the call is signed by another key than the one that opened the stream',
      });
    }
    let input: AgentInput;
    switch (call.type) {
      case 'HEARTBEAT':
        input = { kind: 'agentHeartbeat', keyId, agentId: connection.agentId };
        break;
      case 'STATUS_UPDATE':
        input = {
          kind: 'statusUpdate',
          keyId,
          agentId: connection.agentId,
          update: statusUpdateFromWire(call.status_update.update, ctx.clock.nowMs()),
        };
        break;
      case 'STATUS_UPDATES':
        return statusUpdates(context, call.status_updates.updates, connection, keyId);
      case 'UNREGISTER':
        input = { kind: 'unregisterAgent', keyId, agentId: connection.agentId };
        break;
      case 'LOGS':
        // A late or unmatched answer is dropped quietly: the request already timed out.
        hub.logs.answer(connection.agentId, call.logs);
        return context.body(null, 202);
      case 'UPDATE_AGENT':
        return refuse(context, {
          status: 400,
          code: 'UNSUPPORTED',
          message: 'UPDATE_AGENT is not supported by this master: re-register to change resources',
        });
      default:
        return refuse(context, {
          status: 400,
          code: 'INVALID',
          message: `unexpected ${call.type}`,
        });
    }
    const reply = await ctx.driver.submit(input);
    if (!reply.ok) return refuse(context, submitRefusal(reply.error));
    return context.body(null, 202);
  }

  /**
   * STATUS_UPDATES: the whole call is checked first (every update names the caller's agent;
   * else 400 and nothing is stepped), then each update is stepped in order, as if each were its
   * own STATUS_UPDATE. An update the core refuses changes nothing and does not hold back its
   * neighbours: the answer is 202 with `{ refused: [{ index, code, message }] }` listing it (an
   * empty body when none was refused). A registry write that fails refuses the whole call (503):
   * the agent resends every update of it, with the same uuids.
   */
  async function statusUpdates(
    context: Context,
    updates: readonly StatusUpdate[],
    connection: AgentConnection,
    keyId: string,
  ): Promise<Response> {
    const stray = updates.findIndex((update) => update.agent_id.value !== connection.agentId);
    if (stray >= 0) {
      return refuse(context, {
        status: 400,
        code: 'INVALID',
        message: `update ${stray} names agent ${updates[stray]!.agent_id.value}, not the caller's agent ${connection.agentId}: nothing was taken`,
      });
    }
    // The agent speaks the batched forms: its acknowledgements may go out as ACKNOWLEDGE_UPDATES.
    connection.takesBatchedAcknowledgements();
    const nowMs = ctx.clock.nowMs();
    // Stepped now, in order (submit steps synchronously); all resolve with one registry write.
    const replies = await Promise.all(
      updates.map((update) =>
        ctx.driver.submit({
          kind: 'statusUpdate',
          keyId,
          agentId: connection.agentId,
          update: statusUpdateFromWire(update, nowMs),
        }),
      ),
    );
    const refused: Array<{ index: number; code: string; message: string }> = [];
    for (const [index, reply] of replies.entries()) {
      if (reply.ok) continue;
      if (reply.error.kind !== 'core') return refuse(context, submitRefusal(reply.error));
      const { code, message } = submitRefusal(reply.error);
      refused.push({ index, code, message: message.slice(0, REFUSED_UPDATE_MESSAGE_CHARS_MAX) });
    }
    if (refused.length === 0) return context.body(null, 202);
    return context.json({ refused }, 202);
  }

  return app;
}
