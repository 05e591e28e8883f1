// Builds a JavaScript handler into a component with componentize-js (a
// dependency of jco). componentize-js reads the WIT through preview2-shim,
// whose preopens are empty by default, so the whole file system is preopened
// before componentize-js is imported.
// Usage: node componentize.mjs SOURCE.js WIT_PATH WORLD OUT.wasm
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { _setPreopens } from '@bytecodealliance/preview2-shim/filesystem';

const [sourcePath, witPath, worldName, outPath] = process.argv.slice(2);
if (!sourcePath || !witPath || !worldName || !outPath) {
  console.error('usage: node componentize.mjs SOURCE.js WIT_PATH WORLD OUT.wasm');
  process.exit(2);
}
_setPreopens({ '/': '/' });
const { componentize } = await import('@bytecodealliance/componentize-js');
const { component } = await componentize({
  sourcePath: resolve(sourcePath),
  witPath: resolve(witPath),
  worldName,
  // The handler world imports nothing: no stdio, clocks, random or http.
  disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
});
writeFileSync(outPath, component);
console.log(`${outPath}: ${component.length} bytes`);
