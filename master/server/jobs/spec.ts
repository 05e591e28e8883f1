import { z } from 'zod';
import { err, ok, type Result } from '../../../lib/result.js';
import { CommandInfo, TaskInfo, WasmInfo, type Resource } from '../../../protocol/index.js';
import type { Runtime } from '../../core/tasks.js';
import type { JobsLimits } from './limits.js';

/**
 * What POST /api/v1/jobs accepts. `wasm` is the scheduler API's wasm field (digest, args, env,
 * fuel, timeout_ms, memory_bytes, permissions, ...) and `command` its Mesos CommandInfo, so a job
 * and a framework's task say the same thing the same way. Exactly one of them is given.
 */
export interface JobSpec {
  readonly name: string;
  readonly runtime: Runtime;
  /** Scalars by name: cpus, mem (MiB), disk (MiB). */
  readonly resources: Readonly<Record<string, number>>;
  /** Constraints: the agent must have each attribute with this value (`zone: edge-1`). */
  readonly attributes: Readonly<Record<string, string>>;
  readonly wasm?: WasmInfo;
  readonly command?: CommandInfo;
}

export const DEFAULT_JOB_RESOURCES = { cpus: 0.1, mem: 64 } as const;

const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

function jobRequestSchema(limits: JobsLimits) {
  const scalar = (max: number) => z.number().finite().min(0).max(max);
  return z
    .strictObject({
      name: z.string().max(256).optional(),
      runtime: z.enum(['wasm', 'linux']).optional(),
      resources: z
        .strictObject({
          cpus: scalar(limits.cpusMax).optional(),
          mem: scalar(limits.memMiBMax).optional(),
          disk: scalar(limits.diskMiBMax).optional(),
        })
        .optional(),
      attributes: z
        .record(
          z.string().regex(ATTRIBUTE_NAME, 'attribute names look like zone'),
          z.string().min(1).max(256),
        )
        .optional(),
      wasm: WasmInfo.optional(),
      command: CommandInfo.optional(),
    })
    .refine((body) => (body.wasm === undefined) !== (body.command === undefined), {
      message: 'give exactly one of `wasm` (a component task) or `command` (a linux task)',
    });
}

/** Built once per limits (building a zod schema costs more than using it). */
const schemas = new WeakMap<JobsLimits, ReturnType<typeof jobRequestSchema>>();

/** Validates a submission from the edge; a refusal names the field and changes nothing. */
export function parseJobRequest(json: unknown, limits: JobsLimits): Result<JobSpec, string> {
  let schema = schemas.get(limits);
  if (!schema) {
    schema = jobRequestSchema(limits);
    schemas.set(limits, schema);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.length ? ` (at ${issue.path.join('.')})` : '';
    return err(`${issue?.message ?? 'invalid job'}${at}`);
  }
  const body = parsed.data;
  const runtime: Runtime = body.wasm ? 'wasm' : 'linux';
  if (body.runtime !== undefined && body.runtime !== runtime)
    return err(`runtime ${body.runtime} does not match the task (${runtime})`);
  if (runtime === 'linux' && !body.command?.value && !body.command?.arguments?.length)
    return err('a linux job needs `command.value` (or `command.arguments` with shell false)');
  const attributes = body.attributes ?? {};
  if (Object.keys(attributes).length > limits.attributesMax)
    return err(`at most ${limits.attributesMax} attribute constraints (attributesMax)`);
  const resources: Record<string, number> = { ...DEFAULT_JOB_RESOURCES };
  for (const [name, value] of Object.entries(body.resources ?? {}))
    if (value !== undefined) resources[name] = Math.round(value * 1000) / 1000;
  if (!(resources['cpus']! > 0)) return err('a job needs cpus > 0 (resources.cpus)');
  if (runtime === 'wasm' && !(resources['mem']! > 0))
    return err('a wasm job needs mem > 0: it caps the component memory (resources.mem)');
  const spec: JobSpec = {
    name: body.name ?? (runtime === 'wasm' ? 'wasm job' : 'linux job'),
    runtime,
    resources,
    attributes,
    ...(body.wasm ? { wasm: body.wasm } : {}),
    ...(body.command ? { command: body.command } : {}),
  };
  const bytes = Buffer.byteLength(JSON.stringify(spec));
  if (bytes > limits.specBytesMax)
    return err(`the job spec is ${bytes} bytes; at most ${limits.specBytesMax} (specBytesMax)`);
  // What the agent will check: refuse here what it would refuse there.
  const task = TaskInfo.safeParse(taskInfoOf('check', 'agent', spec));
  if (!task.success) return err(`not a valid task: ${task.error.issues[0]?.message ?? 'invalid'}`);
  return ok(spec);
}

/** The protocol TaskInfo an agent runs for this job: the launch payload. */
export function taskInfoOf(taskId: string, agentId: string, spec: JobSpec): TaskInfo {
  const resources: Resource[] = Object.entries(spec.resources)
    .filter(([, value]) => value > 0)
    .map(([name, value]) => ({ name, type: 'SCALAR', scalar: { value } }));
  return {
    name: spec.name,
    task_id: { value: taskId },
    agent_id: { value: agentId },
    resources,
    ...(spec.wasm ? { wasm: spec.wasm } : {}),
    ...(spec.command ? { command: spec.command } : {}),
  };
}
