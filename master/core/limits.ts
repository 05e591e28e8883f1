import { err, ok, type Result } from '../../lib/result.js';

/**
 * Every bound the master core enforces, with its default. Each is checked where input enters
 * the core (a `step` call) and a violation is a typed `limit_exceeded` error naming the limit;
 * nothing changes when one is hit.
 */
export interface CoreLimits {
  /** Frameworks registered at once (connected or within their failover timeout). */
  readonly frameworksMax: number;
  /** Agents admitted at once (active, disconnected or awaiting re-registration). */
  readonly agentsMax: number;
  /** Unreachable and gone agents remembered in the registry (oldest forgotten first). */
  readonly agentsRememberedMax: number;
  /** Offers a framework may hold at once; the allocator skips a framework at its bound. */
  readonly offersOutstandingPerFrameworkMax: number;
  /** Tasks a framework may have that are not yet terminal and acknowledged. */
  readonly tasksPerFrameworkMax: number;
  /** LAUNCH tasks in one ACCEPT call. */
  readonly tasksPerAcceptMax: number;
  /** Offer ids in one ACCEPT or DECLINE call. */
  readonly offerIdsPerCallMax: number;
  /** Tasks listed in one RECONCILE call. */
  readonly reconcileTasksPerCallMax: number;
  /** Tasks an agent may report when it re-registers. */
  readonly tasksPerAgentReportMax: number;
  /** Terminal, acknowledged tasks kept per framework for the operator views. */
  readonly completedTasksPerFrameworkMax: number;
  /** Removed frameworks remembered (to refuse their ids and show them to operators). */
  readonly completedFrameworksMax: number;
  /** Roles with an explicit weight. */
  readonly weightedRolesMax: number;
  /** Jobs the built-in job framework may keep in the registry. */
  readonly jobsMax: number;
  /** Attributes on one agent. */
  readonly attributesPerAgentMax: number;
  /** Characters in any id (framework, agent, task, offer, job) or name. */
  readonly idCharsMax: number;
  /** Bytes of opaque data in a framework/executor message. */
  readonly messageDataBytesMax: number;
  /** Characters of a status update's human message (longer ones are truncated). */
  readonly statusMessageCharsMax: number;
  /** Status update uuids remembered per task to recognise stale duplicates. */
  readonly statusUuidsPerTaskMax: number;
}

/** Durations the core measures against the `nowMs` its host passes in. */
export interface CoreTimings {
  /** The batch allocation interval (Mesos `--allocation_interval`, default 1 s). */
  readonly allocationIntervalMs: number;
  /** An offer not answered within this is rescinded (Mesos `--offer_timeout`). */
  readonly offerTimeoutMs: number;
  /** The offer filter applied to declined resources when the call names none (Mesos: 5 s). */
  readonly refuseMsDefault: number;
  /** Longer refusals are clamped to this. */
  readonly refuseMsMax: number;
  /** An agent silent for this long (no heartbeat, no call) is marked unreachable. */
  readonly agentHeartbeatTimeoutMs: number;
  /** How often agents are asked to heartbeat (sent in REGISTERED). */
  readonly agentHeartbeatIntervalMs: number;
  /** After a master restart, admitted agents must re-register within this. */
  readonly agentReregisterTimeoutMs: number;
  /** After a master restart, a framework has at least this long to resubscribe. */
  readonly frameworkRecoveryTimeoutMs: number;
  /** The largest failover timeout a framework may ask for. */
  readonly failoverTimeoutMsMax: number;
  /** How often the shell sends HEARTBEAT events to frameworks (announced in SUBSCRIBED). */
  readonly frameworkHeartbeatIntervalMs: number;
}

export const defaultLimits: CoreLimits = {
  frameworksMax: 1000,
  agentsMax: 10_000,
  agentsRememberedMax: 10_000,
  offersOutstandingPerFrameworkMax: 1000,
  tasksPerFrameworkMax: 10_000,
  tasksPerAcceptMax: 1000,
  offerIdsPerCallMax: 1000,
  reconcileTasksPerCallMax: 10_000,
  tasksPerAgentReportMax: 10_000,
  completedTasksPerFrameworkMax: 1000,
  completedFrameworksMax: 50,
  weightedRolesMax: 1000,
  jobsMax: 10_000,
  attributesPerAgentMax: 64,
  idCharsMax: 256,
  messageDataBytesMax: 64 * 1024,
  statusMessageCharsMax: 4096,
  statusUuidsPerTaskMax: 8,
};

const dayMs = 24 * 3600 * 1000;

export const defaultTimings: CoreTimings = {
  allocationIntervalMs: 1000,
  offerTimeoutMs: 60_000,
  refuseMsDefault: 5000,
  refuseMsMax: 365 * dayMs,
  agentHeartbeatTimeoutMs: 15_000,
  agentHeartbeatIntervalMs: 5000,
  agentReregisterTimeoutMs: 60_000,
  frameworkRecoveryTimeoutMs: 60_000,
  failoverTimeoutMsMax: 7 * dayMs,
  frameworkHeartbeatIntervalMs: 15_000,
};

/** Checks values and their relationships once, at construction (a bad config is a startup error). */
export function checkConfig(limits: CoreLimits, timings: CoreTimings): Result<void, string> {
  for (const [name, value] of [...Object.entries(limits), ...Object.entries(timings)]) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      return err(`${name} must be a positive integer, got ${value}`);
    }
  }
  if (timings.agentHeartbeatIntervalMs >= timings.agentHeartbeatTimeoutMs) {
    return err('agentHeartbeatIntervalMs must be below agentHeartbeatTimeoutMs');
  }
  if (timings.refuseMsDefault > timings.refuseMsMax) {
    return err('refuseMsDefault must not exceed refuseMsMax');
  }
  if (limits.completedTasksPerFrameworkMax > limits.tasksPerFrameworkMax) {
    return err('completedTasksPerFrameworkMax must not exceed tasksPerFrameworkMax');
  }
  return ok(undefined);
}
