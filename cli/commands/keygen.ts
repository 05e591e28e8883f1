import { Option, type Command } from 'commander';
import { WasmosError } from '../../lib/errors.js';
import { generateIdentity, roles, writeKeyPair, type Role } from '../../protocol/index.js';

/** `wasmos keygen --out DIR --name NAME [--role ROLE]`: prints the new key id on stdout. */
export function register(program: Command): void {
  program
    .command('keygen')
    .description('generate an Ed25519 keypair: DIR/NAME.key (mode 0600) and DIR/NAME.pub')
    .requiredOption(
      '--out <dir>',
      'directory to write the key files into (created 0700 if missing)',
    )
    .requiredOption('--name <name>', 'key name: letters, digits, ".", "_", "-"')
    .addOption(
      new Option('--role <role>', 'role recorded in the .pub file').choices(roles).default('agent'),
    )
    .action(async (options: { out: string; name: string; role: Role }) => {
      const written = await writeKeyPair(
        options.out,
        options.name,
        options.role,
        generateIdentity(),
      );
      if (!written.ok) throw new WasmosError(written.error.code, written.error.message);
      process.stdout.write(`${written.value.keyId}\n`);
      process.stderr.write(
        `wrote ${written.value.privateKeyPath} (private, 0600) and ${written.value.publicKeyPath} (role ${options.role})\n`,
      );
    });
}
