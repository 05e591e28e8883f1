/**
 * A child process for the crash test in journal.test.ts: opens a status update manager in
 * argv[2] and checkpoints updates for tasks t0, t1, … in bursts (several per turn of the event
 * loop, so they share a group commit), printing each update's uuid once `update` resolved,
 * until it is killed.
 */
import { ManualClock } from '../../../lib/clock.js';
import { silentLogger } from '../../../lib/log.js';
import { newStatusUuid, StatusUpdateManager } from '../../../agent/status/manager.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: update-writer DIR');
const manager = await StatusUpdateManager.open({
  dir,
  clock: new ManualClock(0),
  retry: { baseMs: 1000, maxMs: 4000 },
  updatesPerTaskMax: 8,
  journalCompactBytesMin: 8192,
  logger: silentLogger,
});
for (let burst = 0; ; burst++) {
  await Promise.all(
    Array.from({ length: 8 }, async (_, index) => {
      const uuid = newStatusUuid();
      const taskId = `t${burst * 8 + index}`;
      await manager.update('fw', { task_id: { value: taskId }, state: 'TASK_RUNNING', uuid });
      process.stdout.write(`${taskId} ${uuid}\n`);
    }),
  );
}
