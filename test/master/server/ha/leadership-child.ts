/**
 * A master's leadership in its own process, so the test can kill -9 it: reports "leading"
 * with its fence path once its (recorded) leading master has started.
 */
import { Leadership } from '../../../../master/server/leadership.js';
import { TEST_LEADERSHIP_LIMITS } from './harness.js';
import { recorder } from './recorder.js';

const [servers = '', rootPath = '', credentialsJson = '{}', name = 'child'] = process.argv.slice(2);
const credentials = JSON.parse(credentialsJson) as { user: string; password: string };
const recorded = recorder(name);
const leadership = new Leadership({
  servers,
  rootPath,
  credentials,
  info: { id: name, address: `http://${name}.test:5050`, publicKey: name },
  limits: TEST_LEADERSHIP_LIMITS,
  startLeading: async (store, term) => {
    const handle = await recorded.startLeading(store, term);
    process.send?.({ type: 'leading', fencePath: term.fencePath });
    return handle;
  },
});
leadership.start();
