/**
 * Part of the cache key of a prepared component: what produced it. Apart
 * from prepare.ts so that the executor's thread can build cache keys
 * without loading jco (which compiles its wasm-tools on load: seconds of
 * blocked event loop with optimized tiering); only the prepare worker loads it.
 */
import { readFileSync } from 'node:fs';
import { gluePatchVersion } from './glue.js';

export const componentToolVersions = `jco@${jcoVersion()}+glue${gluePatchVersion}`;

function jcoVersion(): string {
  const entry = import.meta.resolve('@bytecodealliance/jco');
  const manifest = JSON.parse(readFileSync(new URL('../package.json', entry), 'utf8')) as {
    version?: unknown;
  };
  return String(manifest.version);
}
