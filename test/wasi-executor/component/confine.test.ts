import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  resolveInPreopen,
  symlinkExpansionsMax,
  type LinkReader,
} from '../../../wasi-executor/component/host/confine.js';

/** A fake tree: path below the preopen root → symlink target. */
function links(table: Record<string, string>): LinkReader {
  return { readLink: (segments) => table[segments.join('/')] };
}

const none = links({});

test('plain relative paths resolve below the directory', () => {
  assert.equal(resolveInPreopen(['a'], 'b/./c', false, none), { ok: true, value: ['a', 'b', 'c'] });
});

test('.. inside the preopen is allowed, above its root refused', () => {
  assert.equal(resolveInPreopen(['a'], '../b', false, none), { ok: true, value: ['b'] });
  assert.equal(resolveInPreopen(['a'], '../../b', false, none), {
    ok: false,
    error: 'not-permitted',
  });
  assert.equal(resolveInPreopen([], 'x/../../etc/passwd', false, none), {
    ok: false,
    error: 'not-permitted',
  });
});

test('absolute paths and NUL bytes are refused', () => {
  assert.equal(resolveInPreopen([], '/etc/passwd', true, none), {
    ok: false,
    error: 'not-permitted',
  });
  assert.equal(resolveInPreopen([], 'a\0b', true, none), { ok: false, error: 'invalid' });
});

test('a symlink in the middle is expanded; one that leads out is refused', () => {
  const tree = links({ in: 'sub/dir', out: '../..', abs: '/etc' });
  assert.equal(resolveInPreopen([], 'in/file', false, tree), {
    ok: true,
    value: ['sub', 'dir', 'file'],
  });
  assert.equal(resolveInPreopen([], 'out/file', false, tree), {
    ok: false,
    error: 'not-permitted',
  });
  assert.equal(resolveInPreopen([], 'abs/passwd', false, tree), {
    ok: false,
    error: 'not-permitted',
  });
});

test('a symlink as the last component is followed only when asked', () => {
  const tree = links({ link: '/etc/passwd' });
  assert.equal(resolveInPreopen([], 'link', false, tree), { ok: true, value: ['link'] });
  assert.equal(resolveInPreopen([], 'link', true, tree), { ok: false, error: 'not-permitted' });
  assert.equal(resolveInPreopen([], 'link/', false, tree), { ok: false, error: 'not-permitted' });
});

test('a symlink cycle ends in loop', () => {
  const tree = links({ a: 'b', b: 'a' });
  assert.equal(resolveInPreopen([], 'a/x', false, tree), { ok: false, error: 'loop' });
  assert.ok(symlinkExpansionsMax >= 8);
});

test.run();
