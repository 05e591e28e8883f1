import type { Command } from 'commander';
import { formatResources, formatTable } from '../client/format.js';
import { MASTER_OPTION_HELP, MasterClient } from '../client/master-client.js';

interface AgentAnswer {
  readonly id: string;
  readonly hostname: string;
  readonly status: string;
  readonly resources: Readonly<Record<string, unknown>>;
  readonly used_resources: Readonly<Record<string, unknown>>;
  readonly runtimes: readonly string[];
  readonly unavailable_runtimes?: readonly { runtime: string; cause: string; reason: string }[];
  readonly attributes: Readonly<Record<string, string>>;
  readonly tasks: number;
}

export function agentsTable(agents: readonly AgentAnswer[]): string {
  return formatTable(
    ['ID', 'HOSTNAME', 'STATUS', 'TASKS', 'USED', 'TOTAL', 'RUNTIMES', 'ATTRIBUTES', 'UNAVAILABLE'],
    agents.map((agent) => [
      agent.id,
      agent.hostname,
      agent.status,
      String(agent.tasks),
      formatResources(agent.used_resources),
      formatResources(agent.resources),
      agent.runtimes.join(','),
      Object.entries(agent.attributes)
        .map(([name, value]) => `${name}:${value}`)
        .join(';') || '-',
      (agent.unavailable_runtimes ?? [])
        .map((entry) => `${entry.runtime} (${entry.cause}: ${entry.reason})`)
        .join('; '),
    ]),
  );
}

/** `wasmos agents [--json]`. */
export function register(program: Command): void {
  program
    .command('agents')
    .description('list the agents registered with the master')
    .option('--master <where>', MASTER_OPTION_HELP)
    .option('--json', 'print JSON instead of a table')
    .action(async (flags: { master?: string; json?: boolean }) => {
      const client = new MasterClient({ ...(flags.master ? { master: flags.master } : {}) });
      const { agents } = await client.json<{ agents: AgentAnswer[] }>('/api/v1/agents');
      process.stdout.write(
        flags.json ? `${JSON.stringify({ agents }, null, 2)}\n` : agentsTable(agents),
      );
    });
}
