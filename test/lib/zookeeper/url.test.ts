import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmod, mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseZkUrl, parseCredentials } from '../../../lib/zookeeper/url.js';
import { digestId, readCredentialsFile } from '../../../lib/zookeeper/credentials.js';

test('a zk URL yields the server list, the root path and optional credentials', () => {
  assert.equal(parseZkUrl('zk://h1:2181,h2:2182,h3/wasmos'), {
    ok: true,
    value: { servers: 'h1:2181,h2:2182,h3:2181', rootPath: '/wasmos' },
  });
  assert.equal(parseZkUrl('zk://master:s3cret@127.0.0.1:2181/a/b/'), {
    ok: true,
    value: {
      servers: '127.0.0.1:2181',
      rootPath: '/a/b',
      credentials: { user: 'master', password: 's3cret' },
    },
  });
});

test('malformed zk URLs are rejected with a reason', () => {
  for (const bad of [
    'http://h1:2181/wasmos',
    'zk://h1:2181',
    'zk://h1:2181/',
    'zk://h1:99999/wasmos',
    'zk://h1:2181,,h2/wasmos',
    'zk://h1:2181/was mos',
    'zk://h1:2181/a/../b',
    'zk://:pw@h1/wasmos',
    'zk://h 1:2181/wasmos',
  ]) {
    const parsed = parseZkUrl(bad);
    assert.is(parsed.ok, false, bad);
  }
});

test('credentials need a user and a non-empty password', () => {
  assert.equal(parseCredentials('a:b:c'), { ok: true, value: { user: 'a', password: 'b:c' } });
  assert.is(parseCredentials('nopassword').ok, false);
  assert.is(parseCredentials('user:').ok, false);
  assert.is(parseCredentials(':pw').ok, false);
});

test('digest ids match ZooKeeper (base64 of sha1 of user:password)', () => {
  // From `java -cp zookeeper.jar org.apache.zookeeper.server.auth.DigestAuthenticationProvider super:secret`.
  assert.is(digestId({ user: 'super', password: 'secret' }), 'super:lK75jTNcA+U9vtVEw5vB51mj/w4=');
});

test('a credentials file readable by group or others is refused; 0600 is read', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wasmos-cred-'));
  try {
    const path = join(dir, 'zk.credentials');
    await writeFile(path, 'masters:pa55word\n');
    await chmod(path, 0o644);
    const loose = await readCredentialsFile(path);
    assert.is(loose.ok, false);
    assert.match(loose.ok ? '' : loose.error, /mode 0644/);
    await chmod(path, 0o600);
    assert.equal(await readCredentialsFile(path), {
      ok: true,
      value: { user: 'masters', password: 'pa55word' },
    });
    assert.is((await readCredentialsFile(join(dir, 'missing'))).ok, false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
