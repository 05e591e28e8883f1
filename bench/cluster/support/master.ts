import { join } from 'node:path';
import { createLogger } from '../../../lib/log.js';
import { startMaster, type RunningMaster } from '../../../master/server/master-process.js';
import type { BenchKeys } from './keys.js';

/** The benches' master: in this process (so its CPU is the process's), ephemeral port, work dir in `dir`. */
export function startBenchMaster(dir: string, keys: BenchKeys): Promise<RunningMaster> {
  return startMaster({
    workDir: join(dir, 'master'),
    keyFile: keys.masterKeyFile,
    trustDir: keys.trustDir,
    port: 0,
    reloadTrust: false,
    log: createLogger('master', { level: 'warn' }),
  });
}
