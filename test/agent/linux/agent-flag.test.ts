import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { wasmos } from '../../cli/cli-harness.js';

test('wasmos agent refuses an unknown --linux-filesystem mode, naming the flag and the modes', async () => {
  const refused = await wasmos(['agent', '--trust', '/nonexistent', '--linux-filesystem', 'ro']);
  assert.is(refused.code, 1);
  assert.match(
    refused.stderr,
    '--linux-filesystem: unknown mode "ro" (expected writable, read-only) [BAD_OPTION]',
  );
  // A known mode passes the flag check: the agent gets as far as reading its trust directory.
  const accepted = await wasmos([
    'agent',
    '--trust',
    '/nonexistent',
    '--linux-filesystem',
    'read-only',
  ]);
  assert.is(accepted.code, 1);
  assert.not.match(accepted.stderr, '--linux-filesystem');
  assert.match(accepted.stderr, '/nonexistent');
});

test.run();
