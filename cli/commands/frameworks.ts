import type { Command } from 'commander';
import { formatResources, formatTable } from '../client/format.js';
import { MASTER_OPTION_HELP, MasterClient } from '../client/master-client.js';

interface FrameworkAnswer {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly principal: string;
  readonly connected: boolean;
  readonly suppressed: boolean;
  readonly tasks: number;
  readonly offers: number;
  readonly used_resources: Readonly<Record<string, unknown>>;
}

export function frameworksTable(frameworks: readonly FrameworkAnswer[]): string {
  return formatTable(
    ['ID', 'NAME', 'ROLE', 'PRINCIPAL', 'CONNECTED', 'TASKS', 'OFFERS', 'USED'],
    frameworks.map((framework) => [
      framework.id,
      framework.name,
      framework.role,
      framework.principal,
      framework.connected ? (framework.suppressed ? 'yes (suppressed)' : 'yes') : 'no',
      String(framework.tasks),
      String(framework.offers),
      formatResources(framework.used_resources),
    ]),
  );
}

/** `wasmos frameworks [--json]`. */
export function register(program: Command): void {
  program
    .command('frameworks')
    .description('list the frameworks registered with the master')
    .option('--master <where>', MASTER_OPTION_HELP)
    .option('--json', 'print JSON instead of a table')
    .action(async (flags: { master?: string; json?: boolean }) => {
      const client = new MasterClient({ ...(flags.master ? { master: flags.master } : {}) });
      const { frameworks } = await client.json<{ frameworks: FrameworkAnswer[] }>(
        '/api/v1/frameworks',
      );
      process.stdout.write(
        flags.json ? `${JSON.stringify({ frameworks }, null, 2)}\n` : frameworksTable(frameworks),
      );
    });
}
