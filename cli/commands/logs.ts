import type { Command } from 'commander';
import { WasmosError } from '../../lib/errors.js';
import { LogFollower, followLogs } from '../client/follow-logs.js';
import { isEndedJob, type JobAnswer } from '../client/jobs.js';
import { MASTER_OPTION_HELP, MasterClient } from '../client/master-client.js';

const POLL_MS = 250;

/**
 * `wasmos logs TASK [-f]`: the task's stdout (to our stdout) and stderr (to our stderr), from the
 * start (or what the agent still keeps of it); `-f` follows until the task ends.
 */
export function register(program: Command): void {
  program
    .command('logs')
    .description("print a task's stdout and stderr (-f: follow until it ends)")
    .argument('<task>', 'task (or job) id')
    .option('--master <where>', MASTER_OPTION_HELP)
    .option('-f, --follow', 'keep printing output until the task ends')
    .action(async (taskId: string, flags: { master?: string; follow?: boolean }) => {
      const client = new MasterClient({ ...(flags.master ? { master: flags.master } : {}) });
      const known = await client.request(
        `/api/v1/tasks/${encodeURIComponent(taskId)}/logs?length=0`,
      );
      if (known.status === 404) {
        const body = (await known.json()) as { error?: { message?: string } };
        throw new WasmosError(
          'TASK_UNKNOWN',
          `${body.error?.message ?? `no task ${taskId}`}; see \`wasmos tasks\` for the ids`,
        );
      }
      await known.body?.cancel();
      const followers = [
        new LogFollower(client, taskId, 'stdout', (chunk) => process.stdout.write(chunk)),
        new LogFollower(client, taskId, 'stderr', (chunk) => process.stderr.write(chunk)),
      ];
      if (!flags.follow) {
        for (const follower of followers) while (await follower.poll());
        return;
      }
      let ended = false;
      const watchJob = async (): Promise<void> => {
        while (!ended) {
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          const response = await client.request(`/api/v1/jobs/${encodeURIComponent(taskId)}`);
          // Not a job: follow until both streams say complete.
          if (response.status === 404) return void (await response.body?.cancel());
          ended = isEndedJob((await response.json()) as JobAnswer);
        }
      };
      const watching = watchJob();
      await followLogs(
        followers,
        () => ended || followers.every((follower) => follower.done),
        POLL_MS,
        20,
      );
      ended = true;
      await watching;
    });
}
