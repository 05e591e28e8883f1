import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = new URL('../../cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'wasmos-cli-keys-'));

function wasmos(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('wasmos keygen prints the key id and writes NAME.key (0600) and NAME.pub', () => {
  const result = wasmos(
    'keygen',
    '--out',
    join(dir, 'trust'),
    '--name',
    'master',
    '--role',
    'master',
  );
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stdout, /^wk_[a-z2-7]{24}\n$/);
  assert.is(statSync(join(dir, 'trust', 'master.key')).mode & 0o777, 0o600);
  assert.ok(statSync(join(dir, 'trust', 'master.pub')).isFile());
});

test('wasmos keys list shows each key with its id, role and name', () => {
  const agentId = wasmos('keygen', '--out', join(dir, 'trust'), '--name', 'agent-1').stdout.trim();
  const listed = wasmos('keys', 'list', join(dir, 'trust'));
  assert.is(listed.status, 0, listed.stderr);
  const lines = listed.stdout.trim().split('\n');
  assert.equal(lines[0]!.split(/\s+/), ['KEY', 'ID', 'ROLE', 'NAME']);
  assert.ok(lines.some((line) => line.split(/\s+/).join(' ') === `${agentId} agent agent-1`));
  const json = wasmos('keys', 'list', '--json', join(dir, 'trust'));
  const entries = json.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { role: string });
  assert.equal(entries.map((entry) => entry.role).sort(), ['agent', 'master']);
});

test('wasmos keygen refuses to overwrite a key and exits non-zero with the error code', () => {
  const result = wasmos('keygen', '--out', join(dir, 'trust'), '--name', 'master');
  assert.is(result.status, 1);
  assert.match(result.stderr, 'KEY_EXISTS');
});

test('wasmos keygen refuses an unknown role', () => {
  const result = wasmos('keygen', '--out', dir, '--name', 'x', '--role', 'root');
  assert.is.not(result.status, 0);
  assert.match(result.stderr, 'Allowed choices');
});

test('wasmos keys list on a missing directory is a clear error', () => {
  const result = wasmos('keys', 'list', join(dir, 'nope'));
  assert.is(result.status, 1);
  assert.match(result.stderr, 'TRUST_DIR_INVALID');
});

test.run();
