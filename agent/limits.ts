import { assert } from '../lib/assert.js';
import { agentBatchLimits } from '../protocol/messages/agent.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Every bound of the agent, in one place, with its default. Documented in docs/AGENT.md.
 * Options passed to `startAgent` may override them; relationships are checked below.
 */
export const agentLimits = {
  /** CPUs kept back from what the host has, for the agent itself (never offered). */
  reserveCpus: 0.5,
  /** Memory kept back from what the host has, for the agent itself. */
  reserveMemMiB: 512,
  /** Disk offered when the work dir's free space cannot be read. */
  defaultDiskMiB: 10_240,
  /** Bytes of one log file (stdout, stderr) before it is rotated. */
  logBytesMax: 8 * MiB,
  /** Rotated files kept per stream (stdout.1 … stdout.N); older ones are deleted. */
  logRotationsKept: 2,
  /** Bytes one LOGS call may carry (a chunk of a log file). */
  logChunkBytesMax: 64 * 1024,
  /** Total bytes of components kept in the cache (entries in use may exceed it briefly). */
  cacheBytesMax: 1024 * MiB,
  /** Largest component accepted for download. */
  componentBytesMax: 128 * MiB,
  /** How long a component download may take before it is abandoned. */
  fetchTimeoutMs: 60_000,
  /**
   * How long a download that failed on the way (master unreachable, a new leader not serving
   * yet) is retried, each time from the master of the current stream, before the task fails.
   */
  componentFetchRetryMs: 30_000,
  /** Reconnect backoff: first delay, and the cap it doubles up to (plus up to 50% jitter). */
  reconnectBackoffBaseMs: 250,
  reconnectBackoffMaxMs: 15_000,
  /**
   * Status update retry: first interval, doubling up to this cap, until acknowledged. 10 s as in
   * Mesos: a reconnect resends at once anyway, and a shorter first retry resends updates whose
   * acknowledgement is only queued behind a burst, adding work exactly when the cluster is busy
   * (bench/cluster/throughput.ts: 400 tasks at once drew 1.6 resends per task at 1 s).
   */
  updateRetryBaseMs: 10_000,
  updateRetryMaxMs: 60_000,
  /**
   * The update and task checkpoint journals are rewritten from their live state once they hold
   * this many bytes (and four times what the last rewrite wrote); about 1 KiB per task each.
   */
  journalCompactBytesMin: 4 * MiB,
  /**
   * Status updates due within this window go to the master in one STATUS_UPDATES call (one
   * signature, one HTTP request); 0 batches only what is due in the same turn of the event loop.
   * Adds at most this much to each update's delivery.
   */
  updateBatchWindowMs: 2,
  /** Updates in one call (at most the protocol's agentBatchLimits.statusUpdatesPerCallMax). */
  updateBatchUpdatesMax: 128,
  /**
   * Estimated bytes of the updates in one call (well inside the protocol's 1 MiB envelope):
   * an update with a large `message` or `data` closes the batch early.
   */
  updateBatchBytesMax: 256 * KiB,
  /** Unacknowledged updates kept per task (a task that floods updates is refused more). */
  updatesPerTaskMax: 64,
  /** Tasks (active or awaiting acknowledgement of their last update) on one agent. */
  tasksMax: 10_000,
  /** Sandboxes of finished tasks kept for `wasmos logs`; the oldest are removed first. */
  finishedSandboxesKept: 200,
  /** Heartbeat intervals without any event after which the stream is treated as dead. */
  missedHeartbeatsMax: 3,
  /** Kill grace period when the master does not name one. */
  killGracePeriodMs: 3_000,
  /**
   * Bytes a wasm task may print per stream over its life; past it output is dropped (the
   * executor also keeps a copy of this much in memory for its result, so keep it modest).
   */
  wasmOutputBytesMax: 16 * MiB,
  /** A wasm task's wall-clock limit when its `wasm.timeout_ms` is absent. */
  defaultWasmTimeoutMs: 3_600_000,
  /**
   * How often each running task's sandbox is measured against its `disk` resource (Mesos's
   * `--container_disk_watch_interval`); a task over it is killed. 0 turns the check off.
   */
  diskCheckIntervalMs: 15_000,
  /** Files and directories one sandbox measurement visits at most (a bound on its I/O). */
  diskScanEntriesMax: 100_000,
} as const;

export type AgentLimits = { -readonly [K in keyof typeof agentLimits]: number };

/** Checks a full set of limits (defaults merged with overrides) for consistency. */
export function checkAgentLimits(limits: AgentLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    assert(
      Number.isFinite(value) && value >= 0,
      `agent limit ${name} must be a non-negative number`,
    );
  }
  assert(limits.reconnectBackoffBaseMs > 0, 'reconnect backoff needs a positive base');
  assert(
    limits.reconnectBackoffBaseMs <= limits.reconnectBackoffMaxMs,
    'reconnect backoff base must not exceed its cap',
  );
  assert(limits.updateRetryBaseMs > 0, 'update retry needs a positive base');
  assert(
    limits.updateRetryBaseMs <= limits.updateRetryMaxMs,
    'update retry base must not exceed its cap',
  );
  assert(limits.logBytesMax > 0, 'log files need a positive size');
  assert(limits.logChunkBytesMax > 0, 'log chunks need a positive size');
  assert(
    limits.componentBytesMax <= limits.cacheBytesMax,
    'the cache must hold the largest component',
  );
  assert(
    limits.updateBatchUpdatesMax >= 1 &&
      limits.updateBatchUpdatesMax <= agentBatchLimits.statusUpdatesPerCallMax,
    `a status update call carries 1 to ${agentBatchLimits.statusUpdatesPerCallMax} updates`,
  );
  assert(limits.updateBatchBytesMax > 0, 'a status update call needs a positive size');
  assert(limits.updatesPerTaskMax >= 2, 'a task needs room for a running and a terminal update');
  assert(limits.journalCompactBytesMin > 0, 'a journal is compacted past a positive size');
  assert(limits.tasksMax > 0, 'an agent must accept at least one task');
  assert(limits.missedHeartbeatsMax >= 1, 'at least one heartbeat interval must pass');
  assert(limits.diskScanEntriesMax >= 1, 'a sandbox measurement visits at least the sandbox');
}

checkAgentLimits({ ...agentLimits });
