// prepare refuses what it cannot run with a typed reason naming the problem, and caches
// what it can: in memory, and on disk under the work dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor } from '../../wasi-executor/executor.js';
import {
  PREVIEW1_FUNCTIONS,
  checkPreview1Imports,
  detectBinaryKind,
} from '../../wasi-executor/prepare.js';
import { createPreview1Host } from '../../wasi-executor/preview1/host.js';
import { programBytes, text } from './programs.js';
import { buildModule } from './wasm-bytes.js';
import { bareGuestSpec } from '../../wasi-executor/guest.js';

const workDir = mkdtempSync(join(tmpdir(), 'wasmos-prepare-'));
const executor = new Executor({ workDir, limits: { workersMax: 1 } });

async function refusal(bytes: Uint8Array): Promise<{ code: string; message: string }> {
  const prepared = await executor.prepare(bytes);
  assert.not.ok(prepared.ok, 'expected a refusal');
  return prepared.ok ? { code: '', message: '' } : prepared.error;
}

test('a file that is not wasm is refused as invalid_wasm naming the magic bytes', async () => {
  const error = await refusal(new TextEncoder().encode('#!/bin/sh\necho hi\n'));
  assert.is(error.code, 'invalid_wasm');
  assert.match(error.message, /magic bytes/);
});

test('an unknown binary version is refused as invalid_wasm', async () => {
  const bytes = buildModule({});
  bytes[4] = 0x02;
  const error = await refusal(bytes);
  assert.is(error.code, 'invalid_wasm');
  assert.match(error.message, /version/);
});

test('a truncated module is refused as invalid_wasm with the engine message', async () => {
  const hello = programBytes('hello');
  const error = await refusal(hello.subarray(0, hello.length - 100));
  assert.is(error.code, 'invalid_wasm');
  assert.match(error.message, /^invalid module: /);
});

test('an import we do not provide is refused as missing_import naming it', async () => {
  const error = await refusal(buildModule({ imports: [['env', 'launch_missiles']] }));
  assert.is(error.code, 'missing_import');
  assert.match(error.message, /"env" "launch_missiles"/);
  const unknownWasi = await refusal(
    buildModule({ imports: [['wasi_snapshot_preview1', 'fd_teleport']] }),
  );
  assert.match(unknownWasi.message, /"wasi_snapshot_preview1" "fd_teleport"/);
});

test('a module that is not a command (no _start) is refused before running', async () => {
  const error = await refusal(buildModule({ exportStart: false }));
  assert.is(error.code, 'unsupported_world');
  assert.match(error.message, /_start/);
});

test('a second prepare of the same bytes is served from memory', async () => {
  const first = await executor.prepare(programBytes('args-echo'));
  const second = await executor.prepare(programBytes('args-echo'));
  assert.ok(first.ok && second.ok);
  assert.is(first.ok && first.value.source, 'compiled');
  assert.is(second.ok && second.value.source, 'memory_cache');
  assert.is(first.ok && first.value.digest, second.ok && second.value.digest);
});

test('a new executor on the same work dir is served from the disk cache, and runs it', async () => {
  await executor.prepare(programBytes('hello'));
  const other = new Executor({ workDir });
  const prepared = await other.prepare(programBytes('hello'));
  assert.ok(prepared.ok);
  assert.is(prepared.ok && prepared.value.source, 'disk_cache');
  const run = prepared.ok ? await other.run(prepared.value, {}) : undefined;
  assert.is(run?.ok && text(run.value.stdout), 'hello from wasm\n');
  await other.close();
});

test('detectBinaryKind tells core modules from components by their header', () => {
  const kind = (bytes: number[]) => {
    const result = detectBinaryKind(new Uint8Array(bytes));
    return result.ok ? result.value : result.error.code;
  };
  assert.is(kind([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), 'core');
  assert.is(kind([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]), 'component');
  assert.is(kind([0, 0x61, 0x73]), 'invalid_wasm');
});

test('checkPreview1Imports accepts preview1 functions and the limits module only', () => {
  const wasi = { module: 'wasi_snapshot_preview1', name: 'fd_write', kind: 'function' };
  assert.ok(
    checkPreview1Imports([wasi, { module: 'wasmos', name: 'fuel', kind: 'global' }], 'wasmos').ok,
  );
  assert.not.ok(checkPreview1Imports([{ ...wasi, kind: 'global' }], 'wasmos').ok);
});

test('the preview1 host implements exactly the functions prepare lets a module import', () => {
  const host = createPreview1Host({
    spec: bareGuestSpec('x'),
    stdout: { write: () => undefined, bytesWritten: 0, truncated: false },
    stderr: { write: () => undefined, bytesWritten: 0, truncated: false },
    onProgress: () => undefined,
  });
  assert.equal(Object.keys(host.imports).sort(), [...PREVIEW1_FUNCTIONS].sort());
  host.close();
});

test.after(async () => {
  await executor.close();
  rmSync(workDir, { recursive: true, force: true });
});

test.run();
