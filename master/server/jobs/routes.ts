import { Hono, type Context } from 'hono';
import { readBodyLimited } from '../../http/body.js';
import type { MasterContext } from '../context.js';
import type { JobsError, JobsFramework } from './framework.js';
import { jobsFrameworkOf } from './index.js';
import { DEFAULT_JOBS_LIMITS, type JobsLimits } from './limits.js';
import { parseJobRequest } from './spec.js';

const errorBody = (code: string, message: string) => ({ error: { code, message } });

const STATUS_OF: Readonly<Record<JobsError['code'], 400 | 404 | 429 | 503>> = {
  invalid: 400,
  not_found: 404,
  limit_exceeded: 429,
  unavailable: 503,
};

export interface JobsRoutesOptions {
  /** The term's jobs framework; default: one started from `ctx` (it stops with the term). */
  readonly jobs?: Promise<JobsFramework>;
  readonly limits?: Partial<JobsLimits>;
}

/**
 * The jobs API (docs/JOBS.md): POST /api/v1/jobs submits, GET lists or shows one, DELETE (or
 * POST …/kill) kills. Writes follow the master's HTTP credentials rule: open when the master has
 * none configured (the default binds to loopback), HTTP Basic required when it has.
 */
export function jobsRoutes(ctx: MasterContext, options: JobsRoutesOptions = {}): Hono {
  const limits = { ...DEFAULT_JOBS_LIMITS, ...options.limits };
  const jobs = options.jobs ?? jobsFrameworkOf(ctx, limits);
  const routes = new Hono();

  routes.post('/', async (c) => {
    const refused = authorizeWrite(ctx, c);
    if (refused) return refused;
    if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('application/json'))
      return c.json(errorBody('UNSUPPORTED_MEDIA_TYPE', 'send the job as application/json'), 415);
    const body = await readBodyLimited(c.req.raw, limits.requestBytesMax);
    if (!body.ok) {
      const status = body.error.code === 'TOO_LARGE' ? 413 : 400;
      return c.json(errorBody(body.error.code, `${body.error.message} (requestBytesMax)`), status);
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body.value));
    } catch (error) {
      return c.json(errorBody('MALFORMED', `body is not JSON: ${(error as Error).message}`), 400);
    }
    const spec = parseJobRequest(json, limits);
    if (!spec.ok) return c.json(errorBody('INVALID_JOB', spec.error), 400);
    const submitted = await (await jobs).submit(spec.value);
    if (!submitted.ok) return failure(c, submitted.error);
    return c.json({ id: submitted.value.id, job: submitted.value }, 201, {
      location: `/api/v1/jobs/${submitted.value.id}`,
    });
  });

  routes.get('/', async (c) => {
    const limit = Number(c.req.query('limit') ?? limits.listedJobsMax);
    if (!Number.isInteger(limit) || limit < 1)
      return c.json(errorBody('BAD_QUERY', 'limit must be a positive integer'), 400);
    return c.json({ jobs: (await jobs).list(limit) });
  });

  routes.get('/:id', async (c) => {
    const job = (await jobs).get(c.req.param('id'));
    if (!job) return c.json(errorBody('NOT_FOUND', `no job ${c.req.param('id')}`), 404);
    return c.json(job);
  });

  const kill = async (c: Context) => {
    const refused = authorizeWrite(ctx, c);
    if (refused) return refused;
    const killed = await (await jobs).kill(c.req.param('id') ?? '');
    if (!killed.ok) return failure(c, killed.error);
    return c.json(killed.value, 202);
  };
  routes.delete('/:id', kill);
  routes.post('/:id/kill', kill);
  return routes;
}

function failure(c: Context, error: JobsError) {
  return c.json(errorBody(error.code.toUpperCase(), error.message), STATUS_OF[error.code]);
}

/** Undefined when the call may go on; otherwise the 401 to answer. */
function authorizeWrite(ctx: MasterContext, c: Context): Response | undefined {
  if (!ctx.credentials) return undefined;
  if (ctx.credentials.authenticate(c.req.header('authorization'))) return undefined;
  return c.json(
    errorBody('UNAUTHENTICATED', 'this master needs HTTP Basic credentials to change jobs'),
    401,
    { 'www-authenticate': 'Basic realm="wasmos"' },
  );
}
