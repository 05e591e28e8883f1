/** A stand-in `startLeading` that records its calls; the election around it is under test. */
import type { LeadingHandle, StartLeading } from '../../../../master/server/leadership.js';
import type { RegistryStore } from '../../../../master/registry/store.js';

export interface TermRecord {
  readonly fencePath: string;
  /** The registry content this term wrote when it started (proves the store is usable). */
  written?: string;
  stopped: boolean;
  /** Reports this leading master as failed (what a driver does when a write fails). */
  readonly fail: (reason: string) => void;
}

export interface Recorder {
  readonly name: string;
  readonly terms: TermRecord[];
  readonly startLeading: StartLeading;
  /** Calls made, including failed ones. */
  calls: number;
  /** How many upcoming calls should fail. */
  failNext: number;
}

/** A leading master that writes `<name> term <n>` into the registry when it starts. */
export function recorder(name: string): Recorder {
  const self: Recorder = {
    name,
    terms: [],
    calls: 0,
    failNext: 0,
    startLeading: async (store: RegistryStore, term): Promise<LeadingHandle> => {
      self.calls++;
      if (self.failNext > 0) {
        self.failNext--;
        throw new Error(`${name}: start refused on purpose`);
      }
      const record: TermRecord = {
        fencePath: term.fencePath,
        stopped: false,
        fail: term.failed,
      };
      self.terms.push(record);
      const loaded = await store.load();
      const text = `${name} term ${self.terms.length}`;
      const written = await store.store(new TextEncoder().encode(text), loaded?.version);
      if (!written.ok) throw new Error(`${name}: registry write failed: ${written.error.message}`);
      record.written = text;
      return {
        stop: async () => {
          record.stopped = true;
        },
      };
    },
  };
  return self;
}

export function runningTerms(recorders: readonly Recorder[]): string[] {
  return recorders.flatMap((each) =>
    each.terms.filter((term) => !term.stopped).map(() => each.name),
  );
}
