/**
 * Every limit and default of the Linux containerizer, in one place, with units.
 * Operators override the ones in LinuxContainerizerOptions; the rest are fixed.
 */
import { assert } from '../../../lib/assert.js';

/** Processes and threads a task may have at once when the operator sets nothing (pids.max). */
export const pidsMaxDefault = 1024;
/** A task's memory limit is never set below this: the kernel needs some room to even exec. */
export const memBytesMin = 32 * 1024 * 1024;
/** cpu.shares per whole CPU (v1), as in Mesos. */
export const cpuSharesPerCpu = 1024;
/** The smallest cpu.shares the kernel accepts. */
export const cpuSharesMin = 2;
/** cpu.weight per whole CPU (v2); 100 is the kernel's default for one share of the machine. */
export const cpuWeightPerCpu = 100;
export const cpuWeightMin = 1;
export const cpuWeightMax = 10_000;
/** CFS period (both versions); the quota is cpus × period. */
export const cfsPeriodUs = 100_000;
/** The kernel refuses quotas below 1 ms. */
export const cfsQuotaUsMin = 1_000;

/** From spawning the supervisor to the task running in its cgroup. */
export const launchTimeoutMsDefault = 15_000;
/** How often a watched container's run directory is re-read when no fs event came. */
export const pollIntervalMsDefault = 100;
/** How long a frozen cgroup may take to report FROZEN before we kill it anyway. */
export const freezeTimeoutMs = 2_000;
/** Rounds of freeze / SIGKILL / thaw before giving up on an emptying cgroup. */
export const killRoundsMax = 20;
/** After SIGKILL, how long we wait for the supervisor to write the termination. */
export const killSettleTimeoutMs = 10_000;
/** rmdir of a cgroup whose last process is still exiting fails with EBUSY for a moment. */
export const rmdirAttemptsMax = 50;
export const rmdirRetryMs = 20;
/** Retries of removing a run directory that something was still writing into (ENOTEMPTY). */
export const rmRetriesMax = 10;
/** How much of what the launch steps wrote on fail (a mount error) goes into launch_failed. */
export const launchReportCharsMax = 1_000;
/** A container id becomes a directory and a cgroup name. */
export const containerIdLengthMax = 128;

assert(memBytesMin > 0, 'memBytesMin must be positive');
assert(cfsQuotaUsMin < cfsPeriodUs, 'the smallest quota must fit in a period');
assert(cpuWeightMin <= cpuWeightPerCpu, 'one cpu weighs at least the minimum');
assert(cpuWeightPerCpu <= cpuWeightMax, 'one cpu weighs at most the maximum');
assert(pollIntervalMsDefault < launchTimeoutMsDefault, 'a launch is polled more than once');
