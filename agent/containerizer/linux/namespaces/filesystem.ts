/**
 * The filesystem step of a launch: a tiny /bin/sh script run by `unshare` as PID 1 of the new
 * namespaces, still root, in the task's own (private) mount namespace. It mounts a fresh tmpfs
 * on each scratch directory (/tmp, /var/tmp, /dev/shm), binds the sandbox back in place (it may
 * lie under one of them), optionally makes every other mount read-only, and only then says
 * "joined" on fd 3 and execs the rest (setpriv … task). Any failing step ends it with a message
 * on fd 3 instead, so the task never runs unconfined. Pure: builds argv, runs nothing.
 */
import { assert } from '../../../../lib/assert.js';

/**
 * `writable`: the host's files with the permissions of the task's user; `read-only`: every
 * mount read-only for the task except its sandbox and its scratch directories.
 */
export type FilesystemMode = 'writable' | 'read-only';
export const FILESYSTEM_MODES: readonly FilesystemMode[] = ['writable', 'read-only'];

/** World-writable host directories every task gets a private, empty tmpfs on (when they exist). */
export const SCRATCH_DIRS: readonly string[] = ['/tmp', '/var/tmp', '/dev/shm'];

/** The word written on fd 3 once the task is in its cgroup and its mounts are made. */
export const JOINED_MESSAGE = 'joined';

/** Parses an operator's or a task's filesystem mode; undefined when it is not one. */
export function parseFilesystemMode(text: string): FilesystemMode | undefined {
  return (FILESYSTEM_MODES as readonly string[]).includes(text)
    ? (text as FilesystemMode)
    : undefined;
}

// Arguments: $1 env path, $2 mount path, $3 sandbox, $4 mode, scratch dirs…, --, the rest to
// exec.
// - This runs as root with an empty environment (the task's is set only after setpriv, see
//   launch.ts); every mount also runs under `env -i`, so no variable (LIBMOUNT_UTAB,
//   LIBMOUNT_FSTAB, …) could steer it, and the script calls nothing else found by PATH (only
//   dash builtins and absolute paths).
// - mount's own error text goes to fd 3 too, so the launch failure names what went wrong.
// - The sandbox is bound from the shell's cwd (/proc/self/cwd, not canonicalized: the kernel
//   follows the link to the directory itself even once a tmpfs hides its path).
// - remount,bind sets a mount's flags to exactly those given, so each mount's own options
//   (nosuid, nodev, noexec, atime) from mountinfo are kept, with rw turned into ro. Mounts
//   inside the sandbox or a scratch dir are skipped (they are the task's, or hidden), as are
//   paths that no longer resolve (hidden by a mount above them).
// - mountinfo escapes space, tab, newline and backslash as \040 \011 \012 \134, which
//   printf %b reads as octal (dash's echo would decode them too early: printf %s carries them).
const FILESYSTEM_SCRIPT = [
  'set -e',
  'fail() { echo "$1" >&3; exit 1; }',
  'envp=$1; mnt=$2; sandbox=$3; mode=$4; shift 4',
  'm() { "$envp" -i "$mnt" "$@"; }',
  'scratch=""',
  'while [ "$1" != -- ]; do',
  '  m -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$1" 2>&3 || fail "cannot mount a private tmpfs on $1"',
  '  scratch="$scratch $1"; shift',
  'done',
  'shift',
  'm --mkdir --no-canonicalize --bind /proc/self/cwd "$sandbox" 2>&3 || fail "cannot bind the sandbox $sandbox"',
  'cd "$sandbox" 2>&3 || fail "cannot enter the sandbox $sandbox"',
  'inside() { case "$1" in "$2"|"$2"/*) return 0;; esac; return 1; }',
  'keep() {',
  '  inside "$1" "$sandbox" && return 0',
  '  for dir in $scratch; do inside "$1" "$dir" && return 0; done',
  '  return 1',
  '}',
  'if [ "$mode" = read-only ]; then',
  '  mounts=$(while read -r _ _ _ _ point options _; do printf "%s %s\\n" "$point" "$options"; done < /proc/self/mountinfo)',
  '  printf "%s\\n" "$mounts" | while read -r point options; do',
  '    point=$(printf "%b" "$point")',
  '    keep "$point" && continue',
  '    [ -e "$point" ] || continue',
  '    case "$options" in rw,*) options="ro,${options#rw,}";; rw) options=ro;; esac',
  '    m --options-source=disable -o "remount,bind,$options" "$point" 2>&3 || fail "cannot make $point read-only"',
  '  done',
  'fi',
  `echo ${JOINED_MESSAGE} >&3`,
  'exec "$@" 3>&-',
].join('\n');

export interface FilesystemStepInput {
  readonly shPath: string;
  readonly envPath: string;
  readonly mountPath: string;
  /** The sandbox's real path (no symlinks): it is bound onto itself and stays writable. */
  readonly sandboxDir: string;
  readonly mode: FilesystemMode;
  /** The scratch directories that exist on this host, real paths, without duplicates. */
  readonly scratchDirs: readonly string[];
}

/** The argv of the filesystem step, to be followed by `--`-free argv of what it execs. */
export function filesystemStep(input: FilesystemStepInput): string[] {
  assert(input.sandboxDir.startsWith('/'), 'the sandbox is an absolute path');
  for (const dir of input.scratchDirs) {
    assert(dir.startsWith('/') && dir !== '--', 'a scratch directory is an absolute path');
  }
  return [
    input.shPath,
    '-c',
    FILESYSTEM_SCRIPT,
    'wasmos-filesystem',
    input.envPath,
    input.mountPath,
    input.sandboxDir,
    input.mode,
    ...input.scratchDirs,
    '--',
  ];
}
