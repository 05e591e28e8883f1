/**
 * Pure mapping between the Mesos v1 scheduler wire messages (protocol/messages/scheduler.ts,
 * shared by the signed CBOR and the JSON encodings) and the core's camelCase inputs and events
 * (master/core/messages.ts). No I/O: the routes call these after the codec validated the call.
 */
import { err, ok, type Result } from '../../lib/result.js';
import {
  fieldLimits,
  type Attribute,
  type Offer,
  type SchedulerCall,
  type SchedulerEvent,
  type TaskInfo,
  type TaskStatus,
} from '../../protocol/index.js';
import type { FrameworkEvent, FrameworkInput, OfferView, TaskLaunch } from '../core/messages.js';
import type { TaskStatusView } from '../core/tasks.js';
import { resourcesFromWire, resourcesToWire } from '../http/wire-resources.js';

/** The role a framework gets when it names none, or Mesos's default role `*`. */
export const DEFAULT_ROLE = 'default';

/**
 * What a LAUNCH hands the core as the task's opaque payload, and what the agent channel sends
 * on as the LAUNCH event's `task`: the framework's TaskInfo as it came (validated).
 */
export type LaunchPayload = TaskInfo;

/** A call that is well-formed on the wire but that wasmos cannot carry out as asked (400). */
export interface MappingError {
  readonly code: 'INVALID_CALL';
  readonly message: string;
}

const invalid = (message: string) => err<MappingError>({ code: 'INVALID_CALL', message });

/** Who the call came from, as the core compares it on resubscription. */
export function principalOf(
  caller: { kind: 'key'; keyId: string } | { kind: 'principal'; principal: string },
): string {
  return caller.kind === 'key' ? `key:${caller.keyId}` : `http:${caller.principal}`;
}

type SubscribeCall = Extract<SchedulerCall, { type: 'SUBSCRIBE' }>;

/** SUBSCRIBE → the core's `subscribe` input for a new event stream. */
export function subscribeInput(
  call: SubscribeCall,
  streamId: string,
  principal: string,
  httpPrincipal: string | undefined,
): Result<Extract<FrameworkInput, { kind: 'subscribe' }>, MappingError> {
  const info = call.subscribe.framework_info;
  const callId = call.framework_id?.value;
  const infoId = info.id?.value;
  if (callId !== undefined && infoId !== undefined && callId !== infoId) {
    return invalid("'framework_id' differs from 'subscribe.framework_info.id'");
  }
  if (
    httpPrincipal !== undefined &&
    info.principal !== undefined &&
    info.principal !== httpPrincipal
  )
    return invalid(
      `'framework_info.principal' (${info.principal}) is not the authenticated principal`,
    );
  const role = roleOf(info.role, info.roles);
  if (!role.ok) return role;
  const failoverSeconds = info.failover_timeout ?? 0;
  const id = callId ?? infoId;
  return ok({
    kind: 'subscribe',
    streamId,
    framework: {
      ...(id === undefined ? {} : { id }),
      name: info.name,
      role: role.value,
      user: info.user,
      principal,
      failoverTimeoutMs: Math.round(failoverSeconds * 1000),
      partitionAware: (info.capabilities ?? []).some(
        (capability) => capability.type === 'PARTITION_AWARE',
      ),
    },
  });
}

function roleOf(
  role: string | undefined,
  roles: readonly string[] | undefined,
): Result<string, MappingError> {
  const named = [...(role === undefined ? [] : [role]), ...(roles ?? [])];
  const distinct = [...new Set(named.map((each) => (each === '*' ? DEFAULT_ROLE : each)))];
  if (distinct.length > 1)
    return invalid('a framework has one role here (MULTI_ROLE is not supported)');
  return ok(distinct[0] ?? DEFAULT_ROLE);
}

/** Every call but SUBSCRIBE and SHUTDOWN → the core input it stands for. */
export function callInput(
  call: Exclude<SchedulerCall, SubscribeCall>,
  streamId: string,
): Result<FrameworkInput, MappingError> {
  const base = { frameworkId: call.framework_id.value, streamId };
  switch (call.type) {
    case 'TEARDOWN':
      return ok({ kind: 'teardown', ...base });
    case 'ACCEPT': {
      const launches: TaskLaunch[] = [];
      for (const operation of call.accept.operations) {
        for (const info of operation.launch.task_infos) {
          const launch = taskLaunchOf(info);
          if (!launch.ok) return launch;
          launches.push(launch.value);
        }
      }
      return ok({
        kind: 'accept',
        ...base,
        offerIds: call.accept.offer_ids.map((id) => id.value),
        launches,
        ...refuseOf(call.accept.filters),
      });
    }
    case 'DECLINE':
      return ok({
        kind: 'decline',
        ...base,
        offerIds: call.decline.offer_ids.map((id) => id.value),
        ...refuseOf(call.decline.filters),
      });
    case 'REVIVE':
      return ok({ kind: 'revive', ...base, ...rolesOf(call.revive?.roles) });
    case 'SUPPRESS':
      return ok({ kind: 'suppress', ...base, ...rolesOf(call.suppress?.roles) });
    case 'KILL':
      return ok({
        kind: 'kill',
        ...base,
        taskId: call.kill.task_id.value,
        ...(call.kill.agent_id ? { agentId: call.kill.agent_id.value } : {}),
      });
    case 'ACKNOWLEDGE':
      return ok({
        kind: 'acknowledge',
        ...base,
        agentId: call.acknowledge.agent_id.value,
        taskId: call.acknowledge.task_id.value,
        uuid: call.acknowledge.uuid,
      });
    case 'RECONCILE':
      return ok({
        kind: 'reconcile',
        ...base,
        tasks: call.reconcile.tasks.map((task) => ({
          taskId: task.task_id.value,
          ...(task.agent_id ? { agentId: task.agent_id.value } : {}),
        })),
      });
    case 'MESSAGE':
      return ok({
        kind: 'message',
        ...base,
        agentId: call.message.agent_id.value,
        executorId: call.message.executor_id.value,
        data: new Uint8Array(Buffer.from(call.message.data, 'base64')),
      });
    case 'SHUTDOWN':
      return invalid('SHUTDOWN is answered by the routes (wasmos tasks have no executors)');
  }
}

const refuseOf = (filters: { refuse_seconds?: number | undefined } | undefined) =>
  filters?.refuse_seconds === undefined
    ? {}
    : { refuseMs: Math.round(filters.refuse_seconds * 1000) };

const rolesOf = (roles: readonly string[] | undefined) =>
  roles === undefined ? {} : { roles: coreRoles(roles) };

/** Mesos's default role `*` is the core's DEFAULT_ROLE. */
export function coreRoles(roles: readonly string[]): string[] {
  return roles.map((role) => (role === '*' ? DEFAULT_ROLE : role));
}

/** A TaskInfo → the core's launch: wasm if it has a `wasm` section, else a Linux command. */
export function taskLaunchOf(info: TaskInfo): Result<TaskLaunch, MappingError> {
  const taskId = info.task_id.value;
  if (!info.wasm && !info.command) {
    return invalid(`task ${taskId} has neither 'wasm' (a component) nor 'command'`);
  }
  const resources = resourcesFromWire(info.resources);
  if (!resources.ok) return invalid(`task ${taskId}: ${resources.error}`);
  const payload: LaunchPayload = info;
  return ok({
    taskId,
    name: info.name,
    agentId: info.agent_id.value,
    resources: resources.value,
    runtime: info.wasm ? 'wasm' : 'linux',
    payload,
  });
}

/** What SUBSCRIBED says about this master (Mesos MasterInfo: ip as a uint32, port). */
export interface MasterInfoWire {
  readonly id: string;
  readonly ip: number;
  readonly port: number;
  readonly hostname?: string;
}

/** The master's MasterInfo as seen at `requestUrl` (the address the framework used). */
export function masterInfoFor(masterId: string, requestUrl: string): MasterInfoWire {
  const url = new URL(requestUrl);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(url.hostname);
  // Mesos packs the IPv4 address in network byte order as read on a little-endian host.
  const ip = octets
    ? octets
        .slice(1)
        .map(Number)
        .reduceRight((packed, octet) => (packed * 256 + (octet & 255)) >>> 0, 0)
    : 0;
  return { id: masterId, ip, port, hostname: url.hostname.slice(0, fieldLimits.hostnameCharsMax) };
}

/** Offers per OFFERS event (the schema allows offersMax; smaller events stay far below the envelope bound). */
export const OFFERS_PER_EVENT_MAX = 100;

/** One core event → the scheduler events carrying it (OFFERS may be split over several). */
export function schedulerEventsOf(
  event: FrameworkEvent,
  masterInfo: MasterInfoWire,
): SchedulerEvent[] {
  switch (event.type) {
    case 'subscribed':
      return [
        {
          type: 'SUBSCRIBED',
          subscribed: {
            framework_id: { value: event.frameworkId },
            heartbeat_interval_seconds: event.heartbeatIntervalMs / 1000,
            master_info: masterInfo,
          },
        },
      ];
    case 'offers': {
      const events: SchedulerEvent[] = [];
      for (let start = 0; start < event.offers.length; start += OFFERS_PER_EVENT_MAX) {
        events.push({
          type: 'OFFERS',
          offers: {
            offers: event.offers.slice(start, start + OFFERS_PER_EVENT_MAX).map(wireOffer),
          },
        });
      }
      return events;
    }
    case 'rescind':
      return [{ type: 'RESCIND', rescind: { offer_id: { value: event.offerId } } }];
    case 'update':
      return [{ type: 'UPDATE', update: { status: wireStatus(event.status) } }];
    case 'message':
      return [
        {
          type: 'MESSAGE',
          message: {
            agent_id: { value: event.agentId },
            executor_id: { value: event.executorId },
            data: Buffer.from(event.data).toString('base64'),
          },
        },
      ];
    case 'failure':
      return [{ type: 'FAILURE', failure: { agent_id: { value: event.agentId } } }];
    case 'error':
      return [{ type: 'ERROR', error: { message: clip(event.message) } }];
  }
}

export const HEARTBEAT_EVENT: SchedulerEvent = { type: 'HEARTBEAT' };

export function wireOffer(offer: OfferView): Offer {
  const attributes: Attribute[] = Object.entries(offer.attributes).map(([name, value]) => ({
    name,
    type: 'TEXT',
    text: { value },
  }));
  return {
    id: { value: offer.id },
    framework_id: { value: offer.frameworkId },
    agent_id: { value: offer.agentId },
    hostname: offer.hostname,
    resources: resourcesToWire(offer.resources),
    attributes,
    allocation_info: { role: offer.role },
    runtimes: [...offer.runtimes],
  };
}

export function wireStatus(status: TaskStatusView): TaskStatus {
  return {
    task_id: { value: status.taskId },
    state: status.state,
    source: status.source,
    timestamp: status.timestampMs / 1000,
    ...(status.agentId === undefined ? {} : { agent_id: { value: status.agentId } }),
    ...(status.reason === undefined ? {} : { reason: status.reason }),
    ...(status.message === undefined ? {} : { message: clip(status.message) }),
    ...(status.uuid === undefined ? {} : { uuid: status.uuid }),
    ...(status.healthy === undefined ? {} : { healthy: status.healthy }),
    ...(status.exitCode === undefined ? {} : { exit_code: status.exitCode }),
    ...(status.fuelConsumed === undefined ? {} : { fuel_consumed: status.fuelConsumed }),
    ...(status.peakMemoryBytes === undefined ? {} : { peak_memory_bytes: status.peakMemoryBytes }),
    ...(status.durationMs === undefined ? {} : { duration_ms: status.durationMs }),
  };
}

function clip(message: string): string {
  return message.length <= fieldLimits.messageCharsMax
    ? message
    : message.slice(0, fieldLimits.messageCharsMax);
}
