import { err, ok, type Result } from './result.js';

const BYTE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** "64MiB", "1.5GB", "4096" (bytes) → bytes. */
export function parseBytes(text: string): Result<number, string> {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) return err(`not a size: "${text}" (try 64MiB or 1GB)`);
  const unit = (match[2] ?? '').toLowerCase() || 'b';
  const factor = BYTE_UNITS[unit];
  if (factor === undefined) return err(`unknown size unit "${match[2]}" in "${text}"`);
  const bytes = Math.round(Number(match[1]) * factor);
  if (!Number.isSafeInteger(bytes)) return err(`size too large: "${text}"`);
  return ok(bytes);
}

/** "30s", "250ms", "2m", "1h", "1500" (ms) → milliseconds. */
export function parseDurationMs(text: string): Result<number, string> {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) return err(`not a duration: "${text}" (try 30s or 250ms)`);
  const unit = (match[2] ?? '').toLowerCase() || 'ms';
  const factor = DURATION_UNITS_MS[unit];
  if (factor === undefined) return err(`unknown duration unit "${match[2]}" in "${text}"`);
  const durationMs = Math.round(Number(match[1]) * factor);
  if (!Number.isSafeInteger(durationMs)) return err(`duration too large: "${text}"`);
  return ok(durationMs);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatDurationMs(durationMs: number): string {
  if (durationMs < 1) return `${(durationMs * 1000).toFixed(0)} µs`;
  if (durationMs < 1000) return `${durationMs.toFixed(1)} ms`;
  return `${(durationMs / 1000).toFixed(2)} s`;
}
