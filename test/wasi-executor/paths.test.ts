// The preview1 host's path confinement, called directly (the guest's libc refuses some
// escapes before they reach the host; the host must refuse them all by itself).
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Errno, WasiError } from '../../wasi-executor/preview1/errno.js';
import {
  resolveConfined,
  symlinkTargetStaysInside,
  type DirHandle,
} from '../../wasi-executor/preview1/paths.js';

const scratch = mkdtempSync(join(tmpdir(), 'wasmos-paths-'));
const root = join(scratch, 'root');
mkdirSync(join(root, 'a', 'b'), { recursive: true });
mkdirSync(join(scratch, 'outside'));
writeFileSync(join(root, 'a', 'file.txt'), 'x');
symlinkSync('../outside', join(root, 'out'));
symlinkSync('/etc', join(root, 'abs'));
symlinkSync('a/b', join(root, 'to-b'));
symlinkSync('b/../..', join(root, 'a', 'to-root'));
symlinkSync('loop2', join(root, 'loop1'));
symlinkSync('loop1', join(root, 'loop2'));
const dir: DirHandle = { rootHostPath: root, parts: [], writable: true };

function errnoOf(run: () => unknown): number | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    assert.instance(error, WasiError);
    return (error as WasiError).errno;
  }
}

test('plain relative paths resolve below the root', () => {
  assert.equal(resolveConfined(dir, 'a/b', true), ['a', 'b']);
  assert.equal(resolveConfined(dir, './a//file.txt', true), ['a', 'file.txt']);
  assert.equal(resolveConfined(dir, 'a/new-file', true), ['a', 'new-file']);
});

test('dotdot within the preopen is fine, above its root is refused', () => {
  assert.equal(resolveConfined(dir, 'a/b/../file.txt', true), ['a', 'file.txt']);
  assert.is(
    errnoOf(() => resolveConfined(dir, '..', true)),
    Errno.NOTCAPABLE,
  );
  assert.is(
    errnoOf(() => resolveConfined(dir, 'a/../../outside', true)),
    Errno.NOTCAPABLE,
  );
  const inA: DirHandle = { ...dir, parts: ['a'] };
  assert.equal(resolveConfined(inA, '../a/b', true), ['a', 'b']);
  assert.is(
    errnoOf(() => resolveConfined(inA, '../..', true)),
    Errno.NOTCAPABLE,
  );
});

test('absolute paths are refused', () => {
  assert.is(
    errnoOf(() => resolveConfined(dir, '/etc/passwd', true)),
    Errno.NOTCAPABLE,
  );
});

test('symlinks inside the preopen are followed by the host itself', () => {
  assert.equal(resolveConfined(dir, 'to-b', true), ['a', 'b']);
  assert.equal(resolveConfined(dir, 'a/to-root/a', true), ['a']);
  assert.equal(resolveConfined(dir, 'to-b', false), ['to-b']);
});

test('symlinks leading out of the preopen are refused, relative or absolute', () => {
  assert.is(
    errnoOf(() => resolveConfined(dir, 'out/secret', true)),
    Errno.NOTCAPABLE,
  );
  assert.is(
    errnoOf(() => resolveConfined(dir, 'out', true)),
    Errno.NOTCAPABLE,
  );
  assert.is(
    errnoOf(() => resolveConfined(dir, 'abs/passwd', true)),
    Errno.NOTCAPABLE,
  );
  assert.is(
    errnoOf(() => resolveConfined(dir, 'abs/passwd', false)),
    Errno.NOTCAPABLE,
  );
});

test('symlink cycles end with ELOOP', () => {
  assert.is(
    errnoOf(() => resolveConfined(dir, 'loop1', true)),
    Errno.LOOP,
  );
});

test('a file used as a directory is ENOTDIR, a missing middle component ENOENT', () => {
  assert.is(
    errnoOf(() => resolveConfined(dir, 'a/file.txt/x', true)),
    Errno.NOTDIR,
  );
  assert.is(
    errnoOf(() => resolveConfined(dir, 'missing/x', true)),
    Errno.NOENT,
  );
});

test('NUL bytes and empty paths are refused', () => {
  assert.is(
    errnoOf(() => resolveConfined(dir, 'a\0b', true)),
    Errno.INVAL,
  );
  assert.is(
    errnoOf(() => resolveConfined(dir, '', true)),
    Errno.NOENT,
  );
});

test('symlink targets that would climb out are told apart from those that stay inside', () => {
  assert.ok(symlinkTargetStaysInside(['a'], '../b'));
  assert.ok(symlinkTargetStaysInside([], 'a/b/../c'));
  assert.not.ok(symlinkTargetStaysInside(['a'], '../../x'));
  assert.not.ok(symlinkTargetStaysInside([], '/etc'));
  assert.not.ok(symlinkTargetStaysInside([], ''));
});

test('no path made of dots, names and symlinks ever resolves outside the root (property)', () => {
  const components = [
    '..',
    '.',
    '',
    'a',
    'b',
    'file.txt',
    'out',
    'abs',
    'to-b',
    'to-root',
    'loop1',
    'missing',
  ];
  const realRoot = realpathSync(root);
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...components), { minLength: 1, maxLength: 8 }),
      fc.boolean(),
      (chosen, follow) => {
        const path = chosen.join('/');
        let parts: string[];
        try {
          parts = resolveConfined(dir, path, follow);
        } catch (error) {
          return error instanceof WasiError;
        }
        if (
          parts.some((part) => part === '..' || part === '.' || part === '' || part.includes('/'))
        )
          return false;
        // What exists of the resolved path (its parent when the last link is not followed),
        // resolved by the kernel, is still below the root.
        let existing = join(root, ...(follow ? parts : parts.slice(0, -1)));
        while (!existsSync(existing)) existing = join(existing, '..');
        const real = realpathSync(existing);
        return real === realRoot || real.startsWith(realRoot + '/');
      },
    ),
    { numRuns: 2000, seed: 20261123 },
  );
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
