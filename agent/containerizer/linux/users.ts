/** Resolving the task's user to numeric ids from /etc/passwd (pure parsing, thin read). */
import { readFile } from 'node:fs/promises';
import { WasmosError } from '../../../lib/errors.js';

export interface TaskUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** Finds `user` (a name, or a numeric uid) in passwd(5) text. */
export function findUser(passwd: string, user: string): TaskUser | undefined {
  for (const line of passwd.split('\n')) {
    const [name, , uidText, gidText] = line.split(':');
    if (name === undefined || uidText === undefined || gidText === undefined) continue;
    if (!/^\d+$/.test(uidText) || !/^\d+$/.test(gidText)) continue;
    if (name === user || uidText === user) {
      return { name, uid: Number(uidText), gid: Number(gidText) };
    }
  }
  return undefined;
}

/** The user to run a task as; root only when the operator allowed it. */
export async function resolveTaskUser(
  user: string,
  allowRoot: boolean,
  passwdPath = '/etc/passwd',
): Promise<TaskUser> {
  const found = findUser(await readFile(passwdPath, 'utf8'), user);
  if (!found) throw new WasmosError('unknown_user', `user "${user}" does not exist on this agent`);
  if (found.uid === 0 && !allowRoot) {
    throw new WasmosError(
      'root_not_allowed',
      `tasks may not run as root (user "${user}") unless the agent allows it`,
    );
  }
  return found;
}
