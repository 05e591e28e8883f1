/**
 * The instrumenter as the executor uses it: InstrumentedModule → bytes and a
 * LimitPlan, and a version string of the instrumenter's own code for cache keys.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { err, ok, type Result } from '../lib/result.js';
import type { LimitPlan } from './guest.js';
import {
  instrumentModule,
  LIMITS_IMPORT_MODULE,
  type InstrumentedModule,
} from './instrument/index.js';

export { LIMITS_IMPORT_MODULE };

export interface InstrumentedCore {
  readonly bytes: Uint8Array;
  readonly limits: LimitPlan;
}

export function limitPlanOf(instrumented: InstrumentedModule): LimitPlan {
  return {
    memories: instrumented.memories.map((memory) => ({
      importName: memory.importName,
      initialPages: memory.initialPages,
      maximumPages: memory.maximumPages,
      shared: memory.shared,
    })),
    tables: instrumented.tables.map((table) => ({
      importName: table.importName,
      element: table.element,
      initial: table.initialElements,
      maximum: table.maximumElements,
    })),
    metered: true,
  };
}

/** A module left as it is: no metering, no caps by the host. */
export const UNMETERED_PLAN: LimitPlan = { memories: [], tables: [], metered: false };

export function instrumentCore(
  bytes: Uint8Array,
  moduleBytesMax: number,
): Result<InstrumentedCore, string> {
  const result = instrumentModule(bytes, { moduleBytesMax });
  if (!result.ok) {
    const { code, section, offset, message } = result.error;
    return err(`${code} in the ${section} section at byte ${offset}: ${message}`);
  }
  return ok({ bytes: result.value.bytes, limits: limitPlanOf(result.value) });
}

let instrumenterVersionMemo: string | undefined;

/** A digest of the instrumenter's compiled code: any change to it invalidates cached output. */
export function instrumenterVersion(): string {
  if (instrumenterVersionMemo !== undefined) return instrumenterVersionMemo;
  const dir = new URL('./instrument/', import.meta.url);
  const hash = createHash('sha256');
  for (const name of readdirSync(dir)
    .filter((file) => file.endsWith('.js'))
    .sort()) {
    hash.update(name).update(readFileSync(new URL(name, dir)));
  }
  instrumenterVersionMemo = hash.digest('hex').slice(0, 16);
  return instrumenterVersionMemo;
}
