// The four wasi-testsuite tests that end differently when adapted into components, each as it
// ends on our host. The causes are in the adapted component, not in the host that runs it:
// adapter-differences.test.ts shows each one, and that jco's own runner ends them the same way
// (docs/COMPONENTS.md, "Conformance through the component path").

export interface KnownDifference {
  readonly reason: 'exited' | 'trap';
  /** null when the guest traps. */
  readonly exitCode: number | null;
  /** The guest's whole stderr. */
  readonly stderr: string;
}

/** What the adapter prints when its State's end canary (`magic2`, lib.rs line 2858) is overwritten. */
export const canaryTrap = 'assertion failed at adapter line 2858';

export const knownDifferences: Readonly<Record<string, KnownDifference>> = {
  // The adapter's proc_exit calls wasi:cli/exit's exit(err) for any non-zero code, never
  // exit-with-code, so 33 is lost before the host is called.
  'proc_exit-failure': { reason: 'exited', exitCode: 1, stderr: '' },
  // AssemblyScript's allocator, started after the adapter took a page at the end of memory for
  // its State, claims memory up to memory.size and writes its tail header over the State's end
  // canary; the adapter's next call finds it changed and traps.
  'args_get-multiple-arguments': { reason: 'trap', exitCode: null, stderr: canaryTrap },
  'environ_get-multiple-variables': { reason: 'trap', exitCode: null, stderr: canaryTrap },
  // The test writes zero buffers to fd -31337 and wants BADF; the adapter answers an empty write
  // with success before it looks the descriptor up, so the test's assertion aborts it (exit 1).
  'fd_write-to-invalid-fd': {
    reason: 'exited',
    exitCode: 1,
    stderr: 'abort:  in src_input.ts(11:1)\n',
  },
};
