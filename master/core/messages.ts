import type { Resources } from './resources.js';
import type { Registry } from './registry.js';
import type { Runtime, TaskState, TaskStatusFacts, TaskStatusView } from './tasks.js';

/**
 * What goes into the core (`step` inputs) and what comes out (`Ready`). These are the core's
 * own camelCase domain types; the HTTP shell maps the Mesos v1 wire messages (protocol/) onto
 * them after validating the envelope and the schema.
 */

// ---- framework side ------------------------------------------------------------------

export interface FrameworkSpec {
  /** Present when resubscribing (failover or reconnect). */
  readonly id?: string;
  readonly name: string;
  readonly role: string;
  readonly user: string;
  /** The authenticated principal (the key or HTTP credential), checked on resubscription. */
  readonly principal: string;
  readonly failoverTimeoutMs: number;
  /** Mesos capability PARTITION_AWARE: sees TASK_UNREACHABLE/GONE/DROPPED instead of TASK_LOST. */
  readonly partitionAware: boolean;
}

export interface TaskLaunch {
  readonly taskId: string;
  readonly name: string;
  /** If given, must match the offers' agent (Mesos requires it). */
  readonly agentId?: string;
  readonly resources: Resources;
  readonly runtime: Runtime;
  /** What the agent needs to run it (command or wasm digest, fuel, permissions): opaque here. */
  readonly payload: unknown;
}

interface StreamCall {
  readonly frameworkId: string;
  /** The Mesos-Stream-Id the call carried; must be the framework's current stream. */
  readonly streamId: string;
}

export type FrameworkInput =
  | { readonly kind: 'subscribe'; readonly streamId: string; readonly framework: FrameworkSpec }
  | ({ readonly kind: 'teardown' } & StreamCall)
  | ({
      readonly kind: 'accept';
      readonly offerIds: readonly string[];
      readonly launches: readonly TaskLaunch[];
      /** Filter for the unused resources; default `refuseMsDefault`. */
      readonly refuseMs?: number;
    } & StreamCall)
  | ({
      readonly kind: 'decline';
      readonly offerIds: readonly string[];
      readonly refuseMs?: number;
    } & StreamCall)
  | ({ readonly kind: 'revive'; readonly roles?: readonly string[] } & StreamCall)
  | ({ readonly kind: 'suppress'; readonly roles?: readonly string[] } & StreamCall)
  | ({ readonly kind: 'kill'; readonly taskId: string; readonly agentId?: string } & StreamCall)
  | ({
      readonly kind: 'acknowledge';
      readonly agentId: string;
      readonly taskId: string;
      readonly uuid: string;
    } & StreamCall)
  | ({
      readonly kind: 'reconcile';
      readonly tasks: readonly { readonly taskId: string; readonly agentId?: string }[];
    } & StreamCall)
  | ({
      readonly kind: 'message';
      readonly agentId: string;
      readonly executorId: string;
      readonly data: Uint8Array;
    } & StreamCall)
  /** The shell saw the framework's event stream close. */
  | ({ readonly kind: 'frameworkDisconnected' } & StreamCall);

// ---- agent side ----------------------------------------------------------------------

export interface AgentSpec {
  readonly hostname: string;
  readonly resources: Resources;
  readonly runtimes: readonly Runtime[];
  /** `zone:edge-1` → { zone: 'edge-1' }. */
  readonly attributes: Readonly<Record<string, string>>;
  /** Runtimes the agent does not offer, and why (protocol `unavailable_runtimes`); none if absent. */
  readonly unavailableRuntimes?: readonly UnavailableRuntime[];
}

/**
 * A runtime an agent does not offer: `disabled` by its operator, or `unsupported` by its host
 * (e.g. no root or cgroups for `linux`). For operators only: the allocator reads `runtimes`.
 */
export interface UnavailableRuntime {
  readonly runtime: Runtime;
  readonly cause: 'disabled' | 'unsupported';
  readonly reason: string;
}

/** A task as an agent reports it when re-registering. */
export interface ReportedTask {
  readonly frameworkId: string;
  readonly taskId: string;
  readonly name: string;
  readonly state: TaskState;
  readonly resources: Resources;
  readonly runtime: Runtime;
}

export interface AgentStatusUpdate extends TaskStatusFacts {
  readonly frameworkId: string;
  readonly taskId: string;
  readonly uuid: string;
  readonly source: 'SOURCE_AGENT' | 'SOURCE_EXECUTOR';
}

/** `keyId`: the key that signed the call (checked against the admitted agent's key). */
export type AgentInput =
  | { readonly kind: 'registerAgent'; readonly keyId: string; readonly agent: AgentSpec }
  | {
      readonly kind: 'reregisterAgent';
      readonly keyId: string;
      readonly agentId: string;
      readonly agent: AgentSpec;
      readonly tasks: readonly ReportedTask[];
      /**
       * The agent's unacknowledged status updates, oldest first. A task that ended on the agent
       * while its terminal update waits for an acknowledgement is here, not in `tasks`.
       */
      readonly unacknowledged?: readonly AgentStatusUpdate[];
    }
  | { readonly kind: 'agentHeartbeat'; readonly keyId: string; readonly agentId: string }
  | {
      readonly kind: 'statusUpdate';
      readonly keyId: string;
      readonly agentId: string;
      readonly update: AgentStatusUpdate;
    }
  | { readonly kind: 'unregisterAgent'; readonly keyId: string; readonly agentId: string }
  /** The shell saw the agent's event stream close. */
  | { readonly kind: 'agentDisconnected'; readonly agentId: string };

// ---- operator, jobs, time ------------------------------------------------------------

/** JSON-like values the built-in job framework keeps in the registry. */
export type PlainValue =
  string | number | boolean | null | readonly PlainValue[] | { readonly [key: string]: PlainValue };

export type OperatorInput =
  | { readonly kind: 'updateWeights'; readonly weights: Readonly<Record<string, number>> }
  | { readonly kind: 'markAgentGone'; readonly agentId: string }
  | { readonly kind: 'removeFramework'; readonly frameworkId: string }
  | { readonly kind: 'putJob'; readonly jobId: string; readonly record: PlainValue }
  | { readonly kind: 'deleteJob'; readonly jobId: string }
  /** Timers: offer timeouts, heartbeats, failover and re-registration deadlines, allocation. */
  | { readonly kind: 'tick' };

export type CoreInput = FrameworkInput | AgentInput | OperatorInput;

/** What `step` answers besides obligations: the ids a register/subscribe assigned. */
export type StepReply =
  | { readonly kind: 'done' }
  | { readonly kind: 'subscribed'; readonly frameworkId: string }
  | { readonly kind: 'agentRegistered'; readonly agentId: string };

// ---- out -----------------------------------------------------------------------------

export interface OfferView {
  readonly id: string;
  readonly frameworkId: string;
  readonly agentId: string;
  readonly hostname: string;
  readonly role: string;
  readonly resources: Resources;
  readonly runtimes: readonly Runtime[];
  readonly attributes: Readonly<Record<string, string>>;
}

export type FrameworkEvent =
  | {
      readonly type: 'subscribed';
      readonly frameworkId: string;
      readonly heartbeatIntervalMs: number;
    }
  | { readonly type: 'offers'; readonly offers: readonly OfferView[] }
  | { readonly type: 'rescind'; readonly offerId: string }
  | { readonly type: 'update'; readonly status: TaskStatusView }
  | {
      readonly type: 'message';
      readonly agentId: string;
      readonly executorId: string;
      readonly data: Uint8Array;
    }
  /** An agent was lost (Mesos FAILURE without executor). */
  | { readonly type: 'failure'; readonly agentId: string }
  | { readonly type: 'error'; readonly message: string };

export type AgentMessage =
  | { readonly type: 'registered'; readonly agentId: string; readonly heartbeatIntervalMs: number }
  | {
      readonly type: 'reregistered';
      readonly agentId: string;
      readonly heartbeatIntervalMs: number;
    }
  | {
      readonly type: 'launch';
      readonly frameworkId: string;
      readonly taskId: string;
      readonly name: string;
      readonly resources: Resources;
      readonly runtime: Runtime;
      readonly payload: unknown;
    }
  | { readonly type: 'kill'; readonly frameworkId: string; readonly taskId: string }
  | {
      readonly type: 'acknowledgeUpdate';
      readonly frameworkId: string;
      readonly taskId: string;
      readonly uuid: string;
    }
  | { readonly type: 'shutdownFramework'; readonly frameworkId: string }
  | {
      readonly type: 'frameworkMessage';
      readonly frameworkId: string;
      readonly executorId: string;
      readonly data: Uint8Array;
    }
  | { readonly type: 'error'; readonly message: string };

export interface FrameworkDelivery {
  readonly frameworkId: string;
  readonly streamId: string;
  readonly event: FrameworkEvent;
}

export interface AgentDelivery {
  readonly agentId: string;
  readonly message: AgentMessage;
}

/**
 * The obligations of one batch (etcd raft's Ready). The shell must, in this order:
 * 1. if `persist` is set, write it durably (registry store) and wait;
 * 2. deliver `toAgents` and `toFrameworks` (best effort: the protocol retries what matters);
 * 3. close `closeStreams`;
 * 4. call `advance()`, and call `step({ kind: 'tick' })` again at `wakeAtMs`.
 * Replies to the calls stepped in this batch count as acknowledged only after step 1.
 */
export interface Ready {
  readonly persist: Registry | undefined;
  /**
   * The jobs put or deleted in this batch (a subset of `persist.jobs`' keys, plus deleted ids):
   * what a shell writing changes rather than whole registries must write of the jobs.
   */
  readonly changedJobIds: ReadonlySet<string>;
  readonly toAgents: readonly AgentDelivery[];
  readonly toFrameworks: readonly FrameworkDelivery[];
  readonly closeStreams: readonly { readonly frameworkId: string; readonly streamId: string }[];
  readonly wakeAtMs: number;
}
