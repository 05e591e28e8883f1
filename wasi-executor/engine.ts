/**
 * How V8 compiles wasm, process-wide. V8 compiles with its baseline compiler
 * (Liftoff) first and optimizes a function only on a later call, so a
 * long-running main loop can spend its whole life in baseline code, 2–3x
 * slower (FINDINGS.md, docs/FUEL.md). The executor compiles optimized code up
 * front by default: compilation costs about 3x more, once per digest (the
 * cache keeps it), and every task then runs at full speed with stable fuel
 * overhead. The flag is read at compile time and applies to every module
 * compiled afterwards in this process, workers included (they get compiled
 * modules from the main thread).
 */
import { setFlagsFromString } from 'node:v8';

export type EngineTiering = 'optimized' | 'baseline-first';

let applied: EngineTiering | undefined;

export function applyEngineTiering(tiering: EngineTiering): void {
  if (applied === tiering) return;
  setFlagsFromString(tiering === 'optimized' ? '--no-liftoff' : '--liftoff');
  applied = tiering;
}
