/**
 * wasi:clocks/* and wasi:random/*: always granted (the issue's permission
 * model). Reading the monotonic clock records the task's progress (a guest
 * that polls the clock may be about to time out).
 */
import { randomFillSync } from 'node:crypto';
import { Pollable } from './streams.js';

/** Largest random buffer one call returns (a shorter answer, as for a short read): bounds one host allocation. */
const randomBytesMax = 1024 * 1024;

interface Datetime {
  seconds: bigint;
  nanoseconds: number;
}

function randomBytes(len: bigint): Uint8Array {
  const size = len > BigInt(randomBytesMax) ? randomBytesMax : Number(len);
  return randomFillSync(new Uint8Array(size));
}

function randomU64(): bigint {
  return randomFillSync(new BigUint64Array(1))[0]!;
}

export function createClocksAndRandom(recordProgress: () => void, beforeBlocking?: () => void) {
  return { ...clocksFor(recordProgress, beforeBlocking), ...random };
}

const random = {
  'wasi:random/random': { getRandomBytes: randomBytes, getRandomU64: randomU64 },
  'wasi:random/insecure': { getInsecureRandomBytes: randomBytes, getInsecureRandomU64: randomU64 },
  'wasi:random/insecure-seed': { insecureSeed: (): [bigint, bigint] => [randomU64(), randomU64()] },
};

const clocksFor = (recordProgress: () => void, beforeBlocking: (() => void) | undefined) => ({
  'wasi:clocks/monotonic-clock': {
    now(): bigint {
      recordProgress();
      return process.hrtime.bigint();
    },
    resolution: (): bigint => 1n,
    subscribeInstant: (whenNs: bigint): Pollable => new Pollable(whenNs, beforeBlocking),
    subscribeDuration: (durationNs: bigint): Pollable =>
      new Pollable(process.hrtime.bigint() + durationNs, beforeBlocking),
  },
  'wasi:clocks/wall-clock': {
    now(): Datetime {
      const nowMs = Date.now();
      return { seconds: BigInt(Math.floor(nowMs / 1000)), nanoseconds: (nowMs % 1000) * 1_000_000 };
    },
    resolution: (): Datetime => ({ seconds: 0n, nanoseconds: 1_000_000 }),
  },
});
