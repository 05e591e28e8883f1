#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { WasmosError } from '../lib/errors.js';
import { register as registerAgent } from './commands/agent.js';
import { register as registerAgents } from './commands/agents.js';
import { register as registerDev } from './commands/dev.js';
import { register as registerExec } from './commands/exec.js';
import { register as registerFrameworks } from './commands/frameworks.js';
import { register as registerKeygen } from './commands/keygen.js';
import { register as registerKeys } from './commands/keys.js';
import { register as registerKill } from './commands/kill.js';
import { register as registerLogs } from './commands/logs.js';
import { register as registerMaster } from './commands/master.js';
import { register as registerRun } from './commands/run.js';
import { register as registerTasks } from './commands/tasks.js';

/** Each command lives in cli/commands/<name>.ts and adds itself to the program here. */
const commands: ReadonlyArray<(program: Command) => void> = [
  registerKeygen,
  registerKeys,
  registerMaster,
  registerAgent,
  registerExec,
  registerDev,
  registerRun,
  registerTasks,
  registerAgents,
  registerFrameworks,
  registerLogs,
  registerKill,
];

const packageJson = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { version: string };

const program = new Command('wasmos')
  .description('A cluster resource manager for WebAssembly components and Linux containers.')
  .version(packageJson.version)
  .showHelpAfterError()
  .exitOverride();
for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else if (error instanceof WasmosError) {
    process.stderr.write(`error: ${error.message} [${error.code}]\n`);
    process.exitCode = 1;
  } else {
    throw error;
  }
}
