import type { Command } from 'commander';
import { WasmosError } from '../../lib/errors.js';
import type { JobAnswer } from '../client/jobs.js';
import { MASTER_OPTION_HELP, MasterClient } from '../client/master-client.js';

/**
 * `wasmos kill TASK`: kills a job (a task started with `wasmos run` or POST /api/v1/jobs).
 * Tasks of other frameworks are theirs to kill (as in Mesos, operators do not kill them).
 */
export function register(program: Command): void {
  program
    .command('kill')
    .description('kill a job started with `wasmos run` (or the jobs API)')
    .argument('<task>', 'job (task) id')
    .option('--master <where>', MASTER_OPTION_HELP)
    .action(async (taskId: string, flags: { master?: string }) => {
      const client = new MasterClient({ ...(flags.master ? { master: flags.master } : {}) });
      const path = `/api/v1/jobs/${encodeURIComponent(taskId)}`;
      let job: JobAnswer;
      try {
        job = await client.json<JobAnswer>(path, { method: 'DELETE' });
      } catch (error) {
        if (!(error instanceof WasmosError) || error.code !== 'NOT_FOUND') throw error;
        throw new WasmosError(
          'NOT_A_JOB',
          `${taskId} is not a job on this master; only jobs can be killed here (a framework's ` +
            'tasks are killed by that framework). See `wasmos tasks` for the ids.',
        );
      }
      const sent = job.state === 'running' || job.state === 'placed';
      process.stderr.write(
        `wasmos: job ${taskId} ${job.state === 'killed' ? 'killed' : `is ${job.state}`}` +
          `${sent ? '; kill sent to its agent' : ''}\n`,
      );
    });
}
