import type { Command } from 'commander';
import { WasmosError } from '../../lib/errors.js';
import { loadTrustStore, type TrustedKey } from '../../protocol/index.js';

/** `wasmos keys list DIR`: the keys a trust directory holds, with ids and roles. */
export function register(program: Command): void {
  const keys = program.command('keys').description('inspect key and trust directories');
  keys
    .command('list')
    .description('list the public keys (*.pub) in a trust directory')
    .argument('<dir>', 'trust directory')
    .option('--json', 'print JSON lines instead of a table')
    .action(async (dir: string, options: { json?: boolean }) => {
      const trust = await loadTrustStore(dir);
      if (!trust.ok) throw new WasmosError(trust.error.code, trust.error.message);
      process.stdout.write(
        options.json ? jsonLines(trust.value.list()) : table(trust.value.list()),
      );
    });
}

function jsonLines(entries: readonly TrustedKey[]): string {
  return entries
    .map(({ keyId, role, name }) => JSON.stringify({ key_id: keyId, role, name }) + '\n')
    .join('');
}

function table(entries: readonly TrustedKey[]): string {
  const rows = [
    ['KEY ID', 'ROLE', 'NAME'],
    ...entries.map((entry) => [entry.keyId, entry.role, entry.name]),
  ];
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map(
      (row) =>
        row
          .map((cell, column) => cell.padEnd(widths[column] ?? 0))
          .join('  ')
          .trimEnd() + '\n',
    )
    .join('');
}
