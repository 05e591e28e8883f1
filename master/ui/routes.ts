import { Hono, type Context } from 'hono';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { MasterContext } from '../server/context.js';
import { UI_INDEX_HTML, UI_STYLESHEET } from './page.js';
import { UI_SECURITY_HEADERS } from './security.js';

/** Where the UI is mounted; `/` redirects here. */
export const UI_PATH = '/ui';

/**
 * The browser modules, compiled by `npm run build` from master/ui/browser into this folder of
 * dist (this file runs from dist/master/ui/routes.js).
 */
const BROWSER_DIR = fileURLToPath(new URL('./browser/', import.meta.url));

/** A module name the UI may ask for: one flat folder, no dots but the extension, bounded. */
const MODULE_NAME = /^[a-z][a-z0-9-]{0,63}\.js$/;

/**
 * The web UI (docs/UI.md): one static page, its style sheet and its ES modules, all under a
 * strict Content-Security-Policy. The page reads the operator JSON API (/api/v1/state, …) from
 * the browser; nothing here renders cluster data. Open like the other read-only endpoints when
 * the master has no HTTP credentials (it binds to loopback by default); with
 * `--http-credentials`, every UI file needs HTTP Basic credentials, so the browser asks once
 * and sends them with the page's API calls too.
 */
export function uiRoutes(ctx: MasterContext): Hono {
  const routes = new Hono();

  routes.use('*', async (c, next) => {
    const refused = authorizeRead(ctx, c);
    if (refused) return refused;
    await next();
    for (const [name, value] of Object.entries(UI_SECURITY_HEADERS)) c.header(name, value);
  });

  routes.get('/', (c) => c.html(UI_INDEX_HTML));
  routes.get('/app.css', (c) => c.body(UI_STYLESHEET, 200, { 'content-type': 'text/css' }));
  routes.get('/js/:name', async (c) => {
    const name = c.req.param('name');
    if (!MODULE_NAME.test(name)) return notFound(c);
    let source: Buffer;
    try {
      source = await readFile(`${BROWSER_DIR}${name}`);
    } catch {
      return notFound(c);
    }
    return c.body(new Uint8Array(source), 200, {
      'content-type': 'text/javascript; charset=utf-8',
    });
  });
  return routes;
}

/** Mounts the UI on `app`: /ui/ serves it, / and /ui send the browser there. */
export function mountUi(app: Hono, ctx: MasterContext): void {
  app.get('/', (c) => c.redirect(`${UI_PATH}/`));
  app.get(UI_PATH, (c) => c.redirect(`${UI_PATH}/`));
  app.route(`${UI_PATH}/`, uiRoutes(ctx));
}

function notFound(c: Context): Response {
  return c.json({ error: { code: 'NOT_FOUND', message: `no UI file ${c.req.path}` } }, 404);
}

/** Undefined when the page may be served; otherwise the 401 that makes the browser ask. */
function authorizeRead(ctx: MasterContext, c: Context): Response | undefined {
  if (!ctx.credentials) return undefined;
  if (ctx.credentials.authenticate(c.req.header('authorization'))) return undefined;
  return c.json(
    {
      error: {
        code: 'UNAUTHENTICATED',
        message: 'this master needs HTTP Basic credentials for its web UI',
      },
    },
    401,
    { 'www-authenticate': 'Basic realm="wasmos"' },
  );
}
