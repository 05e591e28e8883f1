/**
 * wasi:cli/*: everything comes from the task's spec and sinks, nothing from
 * the host process (no real env, cwd, argv or stdio).
 */
import { GuestExit, type GuestContext, type OutputSink } from '../../guest.js';
import { bytesSource, InputStream, OutputStream, type ByteSink } from './streams.js';

/** wasi:cli/terminal-*: the guest never has a terminal, so no instance is ever made. */
export class TerminalInput {
  private constructor(readonly kind = 'input') {}
}
export class TerminalOutput {
  private constructor(readonly kind = 'output') {}
}

/** Output comes after guest work: a cheap moment to record progress for a later timeout. */
function progressing(sink: OutputSink, recordProgress: () => void): ByteSink {
  return {
    write(bytes) {
      recordProgress();
      sink.write(bytes);
    },
  };
}

type ExitStatus = { tag: 'ok'; val?: undefined } | { tag: 'err'; val?: undefined };

export function createCli(
  context: Pick<GuestContext, 'spec' | 'stdout' | 'stderr' | 'recordProgress'>,
) {
  const { spec } = context;
  const environment = Object.entries(spec.env);
  const argv = [spec.programName, ...spec.args];
  // One stream object per stdio handle, created on first use: the preview1
  // adapter asks for stdin at start-up even when the program never reads it.
  let stdin: InputStream | undefined;
  const noTerminal = () => undefined;
  return {
    'wasi:cli/environment': {
      getEnvironment: (): [string, string][] => environment.map(([key, value]) => [key, value]),
      getArguments: (): string[] => [...argv],
      initialCwd: (): string | undefined => undefined,
    },
    'wasi:cli/exit': {
      exit(status: ExitStatus): never {
        throw new GuestExit(status.tag === 'ok' ? 0 : 1);
      },
      exitWithCode(statusCode: number): never {
        throw new GuestExit(statusCode);
      },
    },
    'wasi:cli/stdin': {
      getStdin: (): InputStream => (stdin ??= new InputStream(bytesSource(spec.stdin))),
    },
    'wasi:cli/stdout': {
      getStdout: () => new OutputStream(progressing(context.stdout, context.recordProgress)),
    },
    'wasi:cli/stderr': {
      getStderr: () => new OutputStream(progressing(context.stderr, context.recordProgress)),
    },
    'wasi:cli/terminal-input': { TerminalInput },
    'wasi:cli/terminal-output': { TerminalOutput },
    'wasi:cli/terminal-stdin': { getTerminalStdin: noTerminal },
    'wasi:cli/terminal-stdout': { getTerminalStdout: noTerminal },
    'wasi:cli/terminal-stderr': { getTerminalStderr: noTerminal },
  };
}
