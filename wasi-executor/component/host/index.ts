/**
 * Our WASI 0.2 host, built fresh for each task from its GuestContext. It
 * implements what a `wasi:cli/command` needs and nothing else: sockets and
 * wasi:http are not provided, so a component importing them is refused before
 * it runs (missing_import) instead of failing, or worse succeeding, later.
 */
import { bareGuestSpec, type GuestContext } from '../../guest.js';
import { createCli } from './cli.js';
import { createClocksAndRandom } from './clocks-random.js';
import { createFilesystem, OpenFiles } from './filesystem.js';
import { InputStream, IoError, OutputStream, Pollable, poll } from './streams.js';

/** Interface name (no version) → its functions and resource classes, as jco's glue takes them. */
export type HostInterfaces = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

export interface WasiHost {
  readonly interfaces: HostInterfaces;
  /** Closes what the guest left open; call once the task has ended. */
  dispose(): void;
}

const io = {
  'wasi:io/error': { Error: IoError },
  'wasi:io/poll': { Pollable, poll },
  'wasi:io/streams': { InputStream, OutputStream },
};

/** The part of a task's context the WASI host reads. */
export type HostContext = Pick<
  GuestContext,
  'spec' | 'stdout' | 'stderr' | 'recordProgress' | 'flushOutput'
>;

export function createWasiHost(context: HostContext): WasiHost {
  const openFiles = new OpenFiles();
  return {
    interfaces: {
      ...createCli(context),
      ...createClocksAndRandom(context.recordProgress, () => context.flushOutput?.()),
      ...io,
      ...createFilesystem(context.spec.preopens, openFiles),
    },
    dispose: () => openFiles.closeAll(),
  };
}

let hosted: ReadonlyMap<string, ReadonlySet<string>> | undefined;

/** What the host provides, interface → member names: prepare checks a component against it. */
export function hostedInterfaces(): ReadonlyMap<string, ReadonlySet<string>> {
  hosted ??= new Map(
    Object.entries(
      createWasiHost({
        spec: bareGuestSpec(''),
        stdout: nullSink,
        stderr: nullSink,
        recordProgress: () => undefined,
      }).interfaces,
    ).map(([name, members]) => [name, new Set(Object.keys(members))]),
  );
  return hosted;
}

const nullSink = { write: () => undefined, bytesWritten: 0, truncated: false };
