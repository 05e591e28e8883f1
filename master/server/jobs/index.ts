import type { MasterContext } from '../context.js';
import { JobsFramework } from './framework.js';
import type { JobsLimits } from './limits.js';

const frameworks = new WeakMap<MasterContext, Promise<JobsFramework>>();

/**
 * The jobs framework of this master term, started on first use; it stops with the term (when
 * the driver stops and the stream table closes). The jobs routes, the operator routes (task
 * logs of ended jobs) and metrics share it.
 */
export function jobsFrameworkOf(
  ctx: MasterContext,
  limits: Partial<JobsLimits> = {},
): Promise<JobsFramework> {
  let framework = frameworks.get(ctx);
  if (!framework) {
    framework = JobsFramework.start({
      driver: ctx.driver,
      streams: ctx.streams,
      clock: ctx.clock,
      log: ctx.log.child('jobs'),
      limits,
    });
    frameworks.set(ctx, framework);
  }
  return framework;
}
