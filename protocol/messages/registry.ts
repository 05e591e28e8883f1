import type { z } from 'zod';
import type { Role } from '../keys/roles.js';
import { AgentCall, AgentEvent } from './agent.js';
import { MasterListBlobs, MasterReplicate } from './master.js';
import { SchedulerCall, SchedulerEvent } from './scheduler.js';

/**
 * Every envelope `type`, the schema of its body, and the roles whose keys may sign it (any
 * other signer gets WRONG_ROLE). To add a message type, add an entry here: `open`, `Signer` and
 * the types below pick it up.
 */
export const messageTypes = {
  'scheduler.call': { schema: SchedulerCall, signers: ['framework'] },
  'scheduler.event': { schema: SchedulerEvent, signers: ['master'] },
  'agent.call': { schema: AgentCall, signers: ['agent'] },
  'agent.event': { schema: AgentEvent, signers: ['master'] },
  'master.replicate': { schema: MasterReplicate, signers: ['master'] },
  'master.list_blobs': { schema: MasterListBlobs, signers: ['master'] },
} as const satisfies Record<string, MessageSpec>;

export interface MessageSpec {
  readonly schema: z.ZodType;
  readonly signers: readonly Role[];
}

export type MessageType = keyof typeof messageTypes;
export type MessageBody<T extends MessageType> = z.infer<(typeof messageTypes)[T]['schema']>;

export function isMessageType(value: string): value is MessageType {
  return Object.hasOwn(messageTypes, value);
}
