import { randomUUID } from 'node:crypto';
import type { Cancel, Clock } from '../../lib/clock.js';
import { err, ok, type Result } from '../../lib/result.js';
import {
  fieldLimits,
  type AgentCall,
  type AgentEvent,
  type LogStream,
} from '../../protocol/index.js';

/**
 * Task logs travel over the agent channel (docs/AGENT-CHANNEL.md, "Task logs"): the master cannot
 * call an agent that may be behind NAT, so it sends LOGS_REQUEST on the agent's event stream and
 * waits for the agent's LOGS call with the same request_id.
 */

export interface LogsRequest {
  readonly agentId: string;
  readonly frameworkId: string;
  readonly taskId: string;
  readonly stream: LogStream;
  /** Byte offset in the task's stream; absent: the last `length` bytes. */
  readonly offset?: number;
  /** At most this many bytes (at most `LogBrokerLimits.lengthMax`). */
  readonly length: number;
}

export interface LogChunk {
  /** Where `data` starts in the task's stream (old bytes may have been rotated away). */
  readonly offset: number;
  readonly data: Uint8Array;
  /** Bytes the task has written to the stream so far. */
  readonly size: number;
  /** The task has ended: nothing will follow `size`. */
  readonly complete: boolean;
  /** The agent could not read the logs (unknown task, sandbox removed); `data` is empty. */
  readonly error?: string;
}

export type LogsErrorCode =
  /** The agent has no open event stream to this master. */
  | 'AGENT_NOT_CONNECTED'
  /** The agent did not answer within `timeoutMs`, or its stream closed first. */
  | 'TIMEOUT'
  | 'AGENT_DISCONNECTED'
  /** `requestsOutstandingMax` requests are already waiting: try again shortly. */
  | 'TOO_MANY_REQUESTS'
  | 'INVALID';

export interface LogsError {
  readonly code: LogsErrorCode;
  readonly message: string;
}

export interface LogBrokerLimits {
  /** Requests waiting for an answer, across all agents. */
  readonly requestsOutstandingMax: number;
  /** How long to wait for an agent's answer. */
  readonly timeoutMs: number;
  /** Largest chunk asked for (the protocol's dataBytesMax bounds it). */
  readonly lengthMax: number;
}

export const DEFAULT_LOG_BROKER_LIMITS: LogBrokerLimits = {
  requestsOutstandingMax: 256,
  timeoutMs: 10_000,
  lengthMax: fieldLimits.dataBytesMax,
};

type LogsAnswer = Extract<AgentCall, { type: 'LOGS' }>['logs'];

interface Pending {
  readonly request: LogsRequest;
  readonly settle: (result: Result<LogChunk, LogsError>) => void;
  readonly cancelTimer: Cancel;
}

export class AgentLogBroker {
  private readonly pending = new Map<string, Pending>();

  /**
   * @param send puts an event on the agent's current stream; false when it has none.
   */
  constructor(
    private readonly send: (agentId: string, event: AgentEvent) => boolean,
    private readonly clock: Clock,
    readonly limits: LogBrokerLimits = DEFAULT_LOG_BROKER_LIMITS,
  ) {}

  get outstanding(): number {
    return this.pending.size;
  }

  /** Asks the task's agent for a chunk; resolves with its answer or a LogsError (never throws). */
  request(request: LogsRequest): Promise<Result<LogChunk, LogsError>> {
    const { length, offset } = request;
    if (!Number.isInteger(length) || length < 0 || length > this.limits.lengthMax) {
      return Promise.resolve(
        err({ code: 'INVALID', message: `length must be 0 to ${this.limits.lengthMax} bytes` }),
      );
    }
    if (offset !== undefined && (!Number.isSafeInteger(offset) || offset < 0)) {
      return Promise.resolve(
        err({ code: 'INVALID', message: 'offset must be a non-negative integer' }),
      );
    }
    if (this.pending.size >= this.limits.requestsOutstandingMax) {
      return Promise.resolve(
        err({
          code: 'TOO_MANY_REQUESTS',
          message: `${this.limits.requestsOutstandingMax} log requests are waiting; retry shortly`,
        }),
      );
    }
    const requestId = randomUUID();
    const event: AgentEvent = {
      type: 'LOGS_REQUEST',
      logs_request: {
        request_id: requestId,
        framework_id: { value: request.frameworkId },
        task_id: { value: request.taskId },
        stream: request.stream,
        ...(offset === undefined ? {} : { offset }),
        length,
      },
    };
    return new Promise((resolve) => {
      const cancelTimer = this.clock.after(this.limits.timeoutMs, () =>
        this.settle(
          requestId,
          err({
            code: 'TIMEOUT',
            message: `agent ${request.agentId} did not answer within ${this.limits.timeoutMs} ms`,
          }),
        ),
      );
      this.pending.set(requestId, { request, settle: resolve, cancelTimer });
      if (!this.send(request.agentId, event)) {
        this.settle(
          requestId,
          err({
            code: 'AGENT_NOT_CONNECTED',
            message: `agent ${request.agentId} is not connected to this master`,
          }),
        );
      }
    });
  }

  /**
   * The agent's LOGS call. False when nothing waits for it (late, unknown, or from another agent
   * or about another task than asked): such answers are ignored.
   */
  answer(agentId: string, answer: LogsAnswer): boolean {
    const waiting = this.pending.get(answer.request_id);
    if (!waiting) return false;
    const { request } = waiting;
    const matches =
      request.agentId === agentId &&
      request.frameworkId === answer.framework_id.value &&
      request.taskId === answer.task_id.value &&
      request.stream === answer.stream;
    if (!matches) return false;
    const data = Buffer.from(answer.data, 'base64');
    if (data.byteLength > request.length) return false; // more than asked: not an answer to it
    this.settle(
      answer.request_id,
      ok({
        offset: answer.offset,
        data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        size: answer.size,
        complete: answer.complete,
        ...(answer.error === undefined ? {} : { error: answer.error }),
      }),
    );
    return true;
  }

  /** The agent's stream closed: its requests cannot be answered any more. */
  agentDisconnected(agentId: string): void {
    for (const [requestId, waiting] of [...this.pending]) {
      if (waiting.request.agentId !== agentId) continue;
      this.settle(
        requestId,
        err({
          code: 'AGENT_DISCONNECTED',
          message: `agent ${agentId} disconnected before answering`,
        }),
      );
    }
  }

  /** Fails every waiting request (the master stops). */
  close(): void {
    for (const requestId of [...this.pending.keys()]) {
      this.settle(requestId, err({ code: 'AGENT_DISCONNECTED', message: 'the master stopped' }));
    }
  }

  private settle(requestId: string, result: Result<LogChunk, LogsError>): void {
    const waiting = this.pending.get(requestId);
    if (!waiting) return;
    this.pending.delete(requestId);
    waiting.cancelTimer();
    waiting.settle(result);
  }
}
