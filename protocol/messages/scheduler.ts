import { z } from 'zod';
import { fieldLimits as limits } from '../limits.js';
import { base64Bytes, Id, list, text } from './common.js';
import { Filters, FrameworkInfo, MasterInfo, Offer, TaskInfo, TaskStatus } from './task.js';

/**
 * The Mesos v1 scheduler API (scheduler.proto) for the calls and events wasmos supports: the
 * same field names, so a Mesos HTTP scheduler client works unchanged. Each message is a
 * discriminated union on `type`: the variant carries exactly its own field (e.g. `accept` for
 * ACCEPT) and any other type's field is refused.
 */

const Roles = z.strictObject({
  roles: list(text(limits.roleCharsMax), limits.rolesMax).optional(),
});

export const Operation = z.strictObject({
  type: z.literal('LAUNCH'),
  id: Id.optional(),
  launch: z.strictObject({ task_infos: list(TaskInfo, limits.taskInfosMax) }),
});
export type Operation = z.infer<typeof Operation>;

const framework = { framework_id: Id };

export const SchedulerCall = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('SUBSCRIBE'),
    framework_id: Id.optional(),
    subscribe: z.strictObject({
      framework_info: FrameworkInfo,
      suppressed_roles: list(text(limits.roleCharsMax), limits.rolesMax).optional(),
    }),
  }),
  z.strictObject({ type: z.literal('TEARDOWN'), ...framework }),
  z.strictObject({
    type: z.literal('ACCEPT'),
    ...framework,
    accept: z.strictObject({
      offer_ids: list(Id, limits.offerIdsMax),
      operations: list(Operation, limits.operationsMax),
      filters: Filters.optional(),
    }),
  }),
  z.strictObject({
    type: z.literal('DECLINE'),
    ...framework,
    decline: z.strictObject({
      offer_ids: list(Id, limits.offerIdsMax),
      filters: Filters.optional(),
    }),
  }),
  z.strictObject({ type: z.literal('REVIVE'), ...framework, revive: Roles.optional() }),
  z.strictObject({ type: z.literal('SUPPRESS'), ...framework, suppress: Roles.optional() }),
  z.strictObject({
    type: z.literal('KILL'),
    ...framework,
    kill: z.strictObject({ task_id: Id, agent_id: Id.optional() }),
  }),
  z.strictObject({
    type: z.literal('SHUTDOWN'),
    ...framework,
    shutdown: z.strictObject({ executor_id: Id, agent_id: Id }),
  }),
  z.strictObject({
    type: z.literal('ACKNOWLEDGE'),
    ...framework,
    acknowledge: z.strictObject({ agent_id: Id, task_id: Id, uuid: base64Bytes(64) }),
  }),
  z.strictObject({
    type: z.literal('RECONCILE'),
    ...framework,
    reconcile: z.strictObject({
      tasks: list(z.strictObject({ task_id: Id, agent_id: Id.optional() }), limits.tasksMax),
    }),
  }),
  z.strictObject({
    type: z.literal('MESSAGE'),
    ...framework,
    message: z.strictObject({
      agent_id: Id,
      executor_id: Id,
      data: base64Bytes(limits.dataBytesMax),
    }),
  }),
]);
export type SchedulerCall = z.infer<typeof SchedulerCall>;
export type SchedulerCallType = SchedulerCall['type'];

export const SchedulerEvent = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('SUBSCRIBED'),
    subscribed: z.strictObject({
      framework_id: Id,
      heartbeat_interval_seconds: z.number().min(0).max(limits.heartbeatSecondsMax).optional(),
      master_info: MasterInfo.optional(),
    }),
  }),
  z.strictObject({
    type: z.literal('OFFERS'),
    offers: z.strictObject({ offers: list(Offer, limits.offersMax) }),
  }),
  z.strictObject({ type: z.literal('RESCIND'), rescind: z.strictObject({ offer_id: Id }) }),
  z.strictObject({ type: z.literal('UPDATE'), update: z.strictObject({ status: TaskStatus }) }),
  z.strictObject({
    type: z.literal('MESSAGE'),
    message: z.strictObject({
      agent_id: Id,
      executor_id: Id,
      data: base64Bytes(limits.dataBytesMax),
    }),
  }),
  z.strictObject({
    type: z.literal('FAILURE'),
    failure: z.strictObject({
      agent_id: Id.optional(),
      executor_id: Id.optional(),
      status: z
        .number()
        .int()
        .min(-(2 ** 31))
        .max(2 ** 32)
        .optional(),
    }),
  }),
  z.strictObject({
    type: z.literal('ERROR'),
    error: z.strictObject({ message: text(limits.messageCharsMax) }),
  }),
  z.strictObject({ type: z.literal('HEARTBEAT') }),
]);
export type SchedulerEvent = z.infer<typeof SchedulerEvent>;
export type SchedulerEventType = SchedulerEvent['type'];
