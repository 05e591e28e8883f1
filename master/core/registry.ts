import { z } from 'zod';
import { err, ok, type Result } from '../../lib/result.js';
import type { PlainValue } from './messages.js';
import type { CoreState } from './state.js';

/**
 * The master's durable state: what must be written before the calls that changed it are
 * acknowledged. Tasks are not here: they are soft state, rebuilt from agents' re-registrations
 * (as in Mesos). The shell CBOR-encodes `encodeRegistry`'s plain object into the RegistryStore.
 */
export const REGISTRY_FORMAT = 1;

export interface RegistryAgent {
  readonly id: string;
  readonly hostname: string;
  /** The key the agent was admitted with; re-registration must be signed by it. */
  readonly keyId: string;
  readonly status: 'admitted' | 'unreachable' | 'gone';
  readonly changedAtMs: number;
}

export interface RegistryFramework {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly user: string;
  readonly principal: string;
  readonly failoverTimeoutMs: number;
  readonly partitionAware: boolean;
  /** Set while disconnected: when the framework is removed unless it resubscribes. */
  readonly failoverDeadlineMs: number | null;
  readonly registeredAtMs: number;
}

export interface Registry {
  readonly format: typeof REGISTRY_FORMAT;
  readonly agents: readonly RegistryAgent[];
  readonly frameworks: readonly RegistryFramework[];
  readonly weights: Readonly<Record<string, number>>;
  /** Owned by the built-in job framework; opaque to the core. */
  readonly jobs: Readonly<Record<string, PlainValue>>;
}

export function registrySnapshot(core: CoreState): Registry {
  const agents: RegistryAgent[] = [];
  for (const agent of core.agents.values()) {
    const status =
      agent.status === 'unreachable' || agent.status === 'gone' ? agent.status : 'admitted';
    agents.push({
      id: agent.id,
      hostname: agent.hostname,
      keyId: agent.keyId,
      status,
      changedAtMs: agent.statusChangedAtMs,
    });
  }
  const frameworks = [...core.frameworks.values()].map((framework) => ({
    id: framework.id,
    name: framework.name,
    role: framework.role,
    user: framework.user,
    principal: framework.principal,
    failoverTimeoutMs: framework.failoverTimeoutMs,
    partitionAware: framework.partitionAware,
    failoverDeadlineMs: framework.failoverDeadlineMs ?? null,
    registeredAtMs: framework.registeredAtMs,
  }));
  return {
    format: REGISTRY_FORMAT,
    agents,
    frameworks,
    weights: Object.fromEntries(core.weights),
    jobs: Object.fromEntries(core.jobs),
  };
}

/** A plain object (maps, arrays, strings, numbers, booleans, null) ready for CBOR. */
export function encodeRegistry(registry: Registry): Record<string, PlainValue> {
  return JSON.parse(JSON.stringify(registry)) as Record<string, PlainValue>;
}

const text = z.string().min(1).max(1024);
const time = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const plainValue: z.ZodType<PlainValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(plainValue),
    z.record(z.string(), plainValue),
  ]),
);

const baseShape = {
  agents: z.array(
    z.strictObject({
      id: text,
      hostname: text,
      keyId: text,
      status: z.enum(['admitted', 'unreachable', 'gone']),
      changedAtMs: time,
    }),
  ),
  frameworks: z.array(
    z.strictObject({
      id: text,
      name: z.string().max(1024),
      role: text,
      user: z.string().max(1024),
      principal: z.string().max(1024),
      failoverTimeoutMs: time,
      partitionAware: z.boolean(),
      failoverDeadlineMs: time.nullable(),
      registeredAtMs: time,
    }),
  ),
  weights: z.record(z.string(), z.number().positive().finite()),
};

const registrySchema = z.strictObject({
  format: z.literal(REGISTRY_FORMAT),
  ...baseShape,
  jobs: z.record(z.string(), plainValue),
});

const changeSchema = z.strictObject({
  format: z.literal(REGISTRY_FORMAT),
  base: z.strictObject(baseShape).optional(),
  put: z.record(z.string(), plainValue),
  deleted: z.array(z.string()),
});

/** The registry but its jobs (small: agents, frameworks, weights), as a plain object. */
export function encodeRegistryBase(registry: Registry): Record<string, PlainValue> {
  const { agents, frameworks, weights } = encodeRegistry({ ...registry, jobs: {} });
  return { agents: agents!, frameworks: frameworks!, weights: weights! };
}

/**
 * A change record (appended after a stored registry, see RegistryStore.append): the jobs of
 * `jobIds` as they are in `registry` (put, or deleted when absent), and the registry's base
 * (encodeRegistryBase) when given because it changed.
 */
export function encodeRegistryChange(
  registry: Registry,
  jobIds: Iterable<string>,
  base: Record<string, PlainValue> | undefined,
): Record<string, PlainValue> {
  const put: Record<string, PlainValue> = {};
  const deleted: string[] = [];
  for (const jobId of jobIds) {
    const record = Object.hasOwn(registry.jobs, jobId) ? registry.jobs[jobId] : undefined;
    if (record === undefined) deleted.push(jobId);
    else put[jobId] = record;
  }
  return { format: REGISTRY_FORMAT, ...(base ? { base } : {}), put, deleted };
}

/**
 * `registry` with the change records (as stored, oldest first) applied. Each record is checked
 * on its own and the result as a whole; a record we cannot read is an error, not skipped.
 */
export function applyRegistryChanges(
  registry: Registry,
  changes: readonly unknown[],
): Result<Registry, string> {
  if (changes.length === 0) return ok(registry);
  let next: Omit<Registry, 'jobs'> = registry;
  const jobs = new Map(Object.entries(registry.jobs));
  for (const [index, value] of changes.entries()) {
    const parsed = changeSchema.safeParse(value);
    if (!parsed.success)
      return err(
        `registry change ${index} is not valid: ${parsed.error.issues[0]?.message ?? 'unknown'}`,
      );
    const { base, put, deleted } = parsed.data;
    if (base) next = { ...next, ...base };
    for (const jobId of deleted) jobs.delete(jobId);
    for (const [jobId, record] of Object.entries(put)) jobs.set(jobId, record);
  }
  return decodeRegistry({ ...next, jobs: Object.fromEntries(jobs) });
}

/** Validates what the store returned; a registry we cannot read is a startup error, not a crash. */
export function decodeRegistry(value: unknown): Result<Registry, string> {
  const parsed = registrySchema.safeParse(value);
  if (!parsed.success)
    return err(`registry is not valid: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  const ids = new Set<string>();
  for (const entry of [...parsed.data.agents, ...parsed.data.frameworks]) {
    if (ids.has(entry.id)) return err(`registry lists ${entry.id} twice`);
    ids.add(entry.id);
  }
  return ok(parsed.data);
}

export function emptyRegistry(): Registry {
  return { format: REGISTRY_FORMAT, agents: [], frameworks: [], weights: {}, jobs: {} };
}
