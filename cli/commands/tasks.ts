import type { Command } from 'commander';
import { formatBytes, formatCount, formatDuration, formatTable } from '../client/format.js';
import type { JobAnswer } from '../client/jobs.js';
import { MASTER_OPTION_HELP, MasterClient } from '../client/master-client.js';

interface TaskAnswer {
  readonly id: string;
  readonly name: string;
  readonly framework_id: string;
  readonly agent_id: string;
  readonly state: string;
  readonly reason?: string;
  readonly exit_code?: number;
  readonly fuel_consumed?: number;
  readonly peak_memory_bytes?: number;
  readonly duration_ms?: number;
}

/** The master's tasks, plus the jobs still queued (they have no task yet). */
export async function listTasks(client: MasterClient): Promise<{
  tasks: readonly TaskAnswer[];
  queued: readonly JobAnswer[];
}> {
  const [tasks, jobs] = await Promise.all([
    client.json<{ tasks: TaskAnswer[] }>('/api/v1/tasks'),
    client.json<{ jobs: JobAnswer[] }>('/api/v1/jobs'),
  ]);
  return { tasks: tasks.tasks, queued: jobs.jobs.filter((job) => job.state === 'queued') };
}

export function tasksTable(tasks: readonly TaskAnswer[], queued: readonly JobAnswer[]): string {
  const rows = [
    ...queued.map((job) => [
      job.id,
      job.name,
      'QUEUED',
      '-',
      '-',
      '-',
      '-',
      '-',
      '-',
      job.waiting?.message ?? '',
    ]),
    ...tasks.map((task) => [
      task.id,
      task.name,
      task.state.replace(/^TASK_/, ''),
      task.agent_id,
      task.framework_id,
      task.exit_code === undefined ? '-' : String(task.exit_code),
      formatCount(task.fuel_consumed),
      formatBytes(task.peak_memory_bytes),
      formatDuration(task.duration_ms),
      task.reason ?? '',
    ]),
  ];
  return formatTable(
    ['ID', 'NAME', 'STATE', 'AGENT', 'FRAMEWORK', 'EXIT', 'FUEL', 'MEMORY', 'TIME', 'REASON'],
    rows,
  );
}

/** `wasmos tasks [--json]`. */
export function register(program: Command): void {
  program
    .command('tasks')
    .description('list the tasks the master knows (and jobs still queued)')
    .option('--master <where>', MASTER_OPTION_HELP)
    .option('--json', 'print JSON instead of a table')
    .action(async (flags: { master?: string; json?: boolean }) => {
      const client = new MasterClient({ ...(flags.master ? { master: flags.master } : {}) });
      const { tasks, queued } = await listTasks(client);
      process.stdout.write(
        flags.json
          ? `${JSON.stringify({ tasks, queued_jobs: queued }, null, 2)}\n`
          : tasksTable(tasks, queued),
      );
    });
}
