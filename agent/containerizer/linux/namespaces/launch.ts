/**
 * The command line that starts a task: a tiny /bin/sh step that writes its own pid into every
 * cgroup.procs file (so the task's cgroup is joined BEFORE anything of the task runs), then execs
 * util-linux `unshare` into new PID, mount (private, with /proc remounted), UTS, IPC and
 * optionally network namespaces, which forks the filesystem step (filesystem.ts) as PID 1 of its
 * namespace: it makes the task's mounts, reports "joined" on fd 3 and execs `setpriv`, which
 * drops to the task's user and execs `env -i`, which gives the task its environment and execs
 * it. Everything before `env` runs as root with an EMPTY environment: nothing the task's
 * environment says (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, GCONV_PATH, ...) ever reaches a
 * process that runs as root. Pure: builds argv, runs nothing.
 */
import { assert } from '../../../../lib/assert.js';
import type { CommandSpec } from '../../containerizer.js';
import { filesystemStep, type FilesystemMode } from './filesystem.js';

/** `none`: a network namespace of its own (only a loopback device, down); `host`: the agent's. */
export type NetworkMode = 'none' | 'host';

export interface LaunchTools {
  readonly shPath: string;
  readonly unsharePath: string;
  readonly setprivPath: string;
  readonly mountPath: string;
  readonly envPath: string;
}

export interface LaunchCommandInput {
  readonly tools: LaunchTools;
  readonly procsFiles: readonly string[];
  readonly network: NetworkMode;
  readonly filesystem: FilesystemMode;
  /** The sandbox's real path; the task's working directory. */
  readonly sandboxDir: string;
  /** Scratch directories (real paths) that get a private tmpfs. */
  readonly scratchDirs: readonly string[];
  readonly uid: number;
  readonly gid: number;
  readonly command: CommandSpec;
}

export interface LaunchCommand {
  readonly file: string;
  readonly args: readonly string[];
  /** Empty: the task's own environment is set by `env -i` in `args`, after setpriv. */
  readonly env: Readonly<Record<string, string>>;
}

// `set -e`: if any cgroup.procs write fails, the shell exits before exec-ing anything, and the
// supervisor, having read no "joined", reports a launch failure. fd 3 stays open for the
// filesystem step, which reports "joined" once the mounts are made.
const JOIN_SCRIPT = [
  'set -e',
  'while [ "$1" != -- ]; do echo $$ > "$1"; shift; done',
  'shift',
  'exec "$@"',
].join('\n');

export function taskArgv(command: CommandSpec): string[] {
  if (command.shell) return ['/bin/sh', '-c', command.value];
  // arguments[0] is argv[0] (Mesos); `env` starts the program by its path (execvp).
  const executable = command.value.length > 0 ? command.value : (command.arguments[0] ?? '');
  return [executable, ...command.arguments.slice(1)];
}

/**
 * `env -i -- NAME=VALUE... COMMAND...`: exactly the task's environment, then the task. `--`
 * first, so no name is read as an option of env's. env takes the first word without `=` for
 * the command, so a program whose path has one is started by a shell (as the task's user)
 * instead, which cannot mistake it for an assignment.
 */
export function withTaskEnvironment(
  tools: Pick<LaunchTools, 'envPath' | 'shPath'>,
  environment: Readonly<Record<string, string>>,
  argv: readonly string[],
): string[] {
  const assignments = Object.entries(environment).map(([name, value]) => `${name}=${value}`);
  const [program = '', ...rest] = argv;
  const start = program.includes('=')
    ? [tools.shPath, '-c', 'exec "$0" "$@"', program, ...rest]
    : [program, ...rest];
  return [tools.envPath, '-i', '--', ...assignments, ...start];
}

export function namespaceFlags(network: NetworkMode): string[] {
  // --kill-child: if unshare itself dies, the task's PID 1 gets SIGKILL, and with it the whole
  // PID namespace, so no process outlives its container.
  const flags = ['--fork', '--kill-child', '--pid', '--mount-proc', '--mount', '--uts', '--ipc'];
  return network === 'none' ? [...flags, '--net'] : flags;
}

export function buildLaunchCommand(input: LaunchCommandInput): LaunchCommand {
  assert(input.procsFiles.length > 0, 'a task joins at least one cgroup');
  assert(Number.isInteger(input.uid) && input.uid >= 0, 'uid is a non-negative integer');
  assert(Number.isInteger(input.gid) && input.gid >= 0, 'gid is a non-negative integer');
  for (const file of input.procsFiles) assert(file !== '--', 'a procs file is a path');
  const args = [
    '-c',
    JOIN_SCRIPT,
    'wasmos-join',
    ...input.procsFiles,
    '--',
    input.tools.unsharePath,
    ...namespaceFlags(input.network),
    '--',
    ...filesystemStep({
      shPath: input.tools.shPath,
      envPath: input.tools.envPath,
      mountPath: input.tools.mountPath,
      sandboxDir: input.sandboxDir,
      mode: input.filesystem,
      scratchDirs: input.scratchDirs,
    }),
    input.tools.setprivPath,
    `--reuid=${input.uid}`,
    `--regid=${input.gid}`,
    '--clear-groups',
    '--no-new-privs',
    '--',
    ...withTaskEnvironment(input.tools, input.command.environment, taskArgv(input.command)),
  ];
  return { file: input.tools.shPath, args, env: {} };
}
