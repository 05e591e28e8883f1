/** What the caller's thread and the prepare worker say to each other (structured clone). */
import type { LimitPlan } from '../guest.js';
import type { ExecutorErrorCode } from '../types.js';

export type PrepareKind = 'core' | 'component';

export interface PrepareRequest {
  readonly type: 'prepare';
  readonly jobId: number;
  readonly kind: PrepareKind;
  /** A copy of the caller's bytes: the caller keeps its own (digest, engine messages). */
  readonly bytes: Uint8Array;
  /** Fuel metering and memory caps; false leaves modules as they are. */
  readonly instrument: boolean;
  readonly moduleBytesMax: number;
  /** > 1 only when warming: each core module is instrumented that many times, the last kept. */
  readonly passes: number;
}

/** Everything of a prepared binary but compiled code: what the caches keep. */
export interface PreparedData {
  readonly kind: PrepareKind;
  readonly world?: 'command' | 'handler';
  readonly glueSource?: string;
  readonly limits: Readonly<Record<string, LimitPlan>>;
  readonly files: Readonly<Record<string, Uint8Array>>;
}

export interface PrepareTimes {
  /** jco's transpile and the checks of the glue (components only). */
  readonly transpileMs: number;
  readonly instrumentMs: number;
}

export type PrepareReply =
  | {
      readonly type: 'prepared';
      readonly jobId: number;
      readonly data: PreparedData;
      readonly times: PrepareTimes;
    }
  | {
      readonly type: 'refused';
      readonly jobId: number;
      readonly code: ExecutorErrorCode;
      readonly message: string;
      readonly details?: Readonly<Record<string, unknown>>;
      readonly times: PrepareTimes;
      /** A core module the instrumenter refused: the caller asks the engine what is wrong. */
      readonly askEngine?: boolean;
    };
