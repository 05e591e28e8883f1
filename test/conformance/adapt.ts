// A preview1 core module adapted into a wasi:cli/command component with jco's bundled
// preview1 adapter, as `jco new --wasi-command` (and components/p2/build.sh) builds one.
import { readFileSync } from 'node:fs';
import { componentNew, preview1AdapterCommandPath } from '@bytecodealliance/jco';

const adapter = readFileSync(preview1AdapterCommandPath());

export function adaptCommand(core: Uint8Array): Promise<Uint8Array> {
  return componentNew(core, [['wasi_snapshot_preview1', adapter]]);
}
