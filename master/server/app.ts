/**
 * The master's HTTP application: a plain list of mounts, one per API (docs/MASTER.md). Each
 * API lives in its own routes file; add a line here to mount a new one.
 */
import { Hono } from 'hono';
import { blobRoutes } from '../http/blob-routes.js';
import { mountUi } from '../ui/routes.js';
import { AGENT_CHANNEL_PATH, agentRoutes } from './agent-routes.js';
import type { MasterContext } from './context.js';
import { jobsRoutes } from './jobs/routes.js';
import { metricsRoutes } from './metrics.js';
import { operatorRoutes } from './operator-routes.js';
import { schedulerRoutes } from './scheduler-routes.js';
import { uploadAuthorizer } from './upload-auth.js';

export function createMasterApp(ctx: MasterContext): Hono {
  const app = new Hono();
  app.route('/api/v1/scheduler', schedulerRoutes(ctx));
  app.route(AGENT_CHANNEL_PATH, agentRoutes(ctx));
  app.route(
    '/api/v1/blobs',
    blobRoutes({
      store: ctx.blobs,
      blobBytesMax: ctx.limits.blobBytesMax,
      authorizeUpload: uploadAuthorizer(ctx),
    }),
  );
  app.route('/api/v1/jobs', jobsRoutes(ctx));
  app.route('/api/v1', operatorRoutes(ctx));
  app.route('/metrics', metricsRoutes(ctx));
  mountUi(app, ctx);
  app.get('/health', (c) => c.json({ healthy: ctx.driver.isRunning, master_id: ctx.masterId }));
  app.notFound((c) =>
    c.json({ error: { code: 'NOT_FOUND', message: `no route ${c.req.path}` } }, 404),
  );
  app.onError((error, c) => {
    ctx.log.error('request failed', { path: c.req.path, error: error.message });
    return c.json({ error: { code: 'INTERNAL', message: 'internal error' } }, 500);
  });
  return app;
}
