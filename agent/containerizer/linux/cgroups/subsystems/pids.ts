import { assert } from '../../../../../lib/assert.js';
import { parseSingleNumber } from '../stats.js';
import type { Subsystem } from '../subsystem.js';

/** pids.max and pids.current have the same names in v1 and v2. */
export const pidsSubsystem: Subsystem = {
  name: 'pids',
  v1Controllers: ['pids'],
  v2Controller: 'pids',
  async prepare(view, limits) {
    assert(Number.isSafeInteger(limits.pidsMax), 'pidsMax must be an integer');
    assert(limits.pidsMax > 0, 'pidsMax must be positive');
    await view.write('pids', 'pids.max', String(limits.pidsMax));
  },
  async usage(view) {
    const current = parseSingleNumber((await view.read('pids', 'pids.current')) ?? '');
    return current === undefined ? {} : { pidsCurrent: current };
  },
};
