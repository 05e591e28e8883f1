import type { Command } from 'commander';
import { resolve } from 'node:path';
import { startAgent } from '../../agent/agent.js';
import { readMasterKeys } from '../../agent/checkpoint/identity.js';
import type { Runtime } from '../../agent/containerizer/containerizer.js';
import { parseAttributes, parseResources } from '../../agent/options.js';
import {
  FILESYSTEM_MODES,
  parseFilesystemMode,
} from '../../agent/containerizer/linux/namespaces/filesystem.js';
import { WasmosError } from '../../lib/errors.js';
import { parseMasterLocation } from '../client/leader.js';
import { createLogger } from '../../lib/log.js';

interface AgentFlags {
  readonly master?: string;
  readonly workDir: string;
  readonly resources?: string;
  readonly attributes?: string;
  readonly runtimes?: string;
  readonly key?: string;
  readonly trust?: string;
  readonly allowHostPath: string[];
  readonly linuxFilesystem?: string;
}

const RUNTIMES: readonly Runtime[] = ['wasm', 'linux'];

function parseRuntimes(text: string): Runtime[] {
  const names = text
    .split(',')
    .map((each) => each.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(RUNTIMES as readonly string[]).includes(name)) {
      throw new WasmosError('BAD_OPTION', `unknown runtime "${name}" (expected wasm, linux)`);
    }
  }
  return names as Runtime[];
}

/** `wasmos agent`: runs an agent until SIGINT/SIGTERM. */
export function register(program: Command): void {
  program
    .command('agent')
    .description('run an agent: connect to the master and run the tasks it launches')
    .option(
      '--master <where>',
      'master URL, a comma-separated list of master URLs, or zk://h1:2181,h2:2181/wasmos to ' +
        'follow the leader through ZooKeeper (else WASMOS_MASTER, else http://127.0.0.1:5050)',
    )
    .option(
      '--work-dir <dir>',
      'where the agent keeps its key, state, components and sandboxes',
      './wasmos-agent',
    )
    .option(
      '--resources <list>',
      'resources to offer, e.g. "cpus:2;mem:4096" (default: the host minus a reserve)',
    )
    .option('--attributes <list>', 'agent attributes, e.g. "zone:edge-1;rack:r1"')
    .option(
      '--runtimes <list>',
      'runtimes to offer: wasm,linux (default: wasm, plus linux where it works)',
    )
    .option(
      '--key <file>',
      "the agent's Ed25519 private key (PEM; created if missing; default <work-dir>/agent.key)",
    )
    .option('--trust <dir>', 'directory of master public keys (*.pub, PEM)')
    .option(
      '--allow-host-path <path>',
      'a host path tasks may be granted (repeatable)',
      (value: string, all: string[]) => [...all, value],
      [],
    )
    .option(
      '--linux-filesystem <mode>',
      "what linux tasks may write: writable (the host, with their user's permissions) or " +
        'read-only (only their sandbox and private /tmp, /var/tmp, /dev/shm); default writable',
    )
    .action(async (flags: AgentFlags) => {
      if (!flags.trust)
        throw new WasmosError(
          'BAD_OPTION',
          '--trust DIR is required: the agent opens only events signed by a master key it trusts',
        );
      const resources = flags.resources === undefined ? undefined : parseResources(flags.resources);
      if (resources && !resources.ok) throw new WasmosError('BAD_OPTION', resources.error);
      const attributes =
        flags.attributes === undefined ? undefined : parseAttributes(flags.attributes);
      if (attributes && !attributes.ok) throw new WasmosError('BAD_OPTION', attributes.error);
      const linuxFilesystem =
        flags.linuxFilesystem === undefined
          ? undefined
          : parseFilesystemMode(flags.linuxFilesystem);
      if (flags.linuxFilesystem !== undefined && linuxFilesystem === undefined)
        throw new WasmosError(
          'BAD_OPTION',
          `--linux-filesystem: unknown mode "${flags.linuxFilesystem}" (expected ${FILESYSTEM_MODES.join(', ')})`,
        );
      const masterUrl = flags.master ?? process.env['WASMOS_MASTER'] ?? 'http://127.0.0.1:5050';
      const location = parseMasterLocation(masterUrl);
      if (!location.ok) throw new WasmosError('BAD_OPTION', `--master: ${location.error}`);
      const logger = createLogger('agent');
      const agent = await startAgent({
        masterUrl,
        workDir: resolve(flags.workDir),
        trust: await readMasterKeys(flags.trust),
        // Reloaded on change and on SIGHUP, so a rotated master key needs no agent restart.
        trustDir: resolve(flags.trust),
        logger,
        hostPathsAllowed: flags.allowHostPath.map((path) => resolve(path)),
        ...(flags.key ? { keyFile: resolve(flags.key) } : {}),
        ...(resources ? { resources: resources.value } : {}),
        ...(attributes ? { attributes: attributes.value } : {}),
        ...(flags.runtimes ? { runtimes: parseRuntimes(flags.runtimes) } : {}),
        ...(linuxFilesystem ? { linuxFilesystem } : {}),
      });
      logger.info('agent started', {
        keyId: agent.keyId,
        runtimes: agent.runtimes.join(','),
        ...agent.capacity,
      });
      await new Promise<void>((done) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void agent.stop().then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
