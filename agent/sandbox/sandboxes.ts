import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { assert } from '../../lib/assert.js';
import { Journal } from '../checkpoint/journal.js';
import { streamKey } from '../core/updates.js';

export interface SandboxLimits {
  readonly finishedSandboxesKept: number;
}

export interface SandboxesOptions {
  /** `<workDir>/sandboxes` (created if missing). */
  readonly root: string;
  /** The index of which task owns which sandbox, a journal (`<workDir>/sandboxes.journal`). */
  readonly indexFile: string;
  readonly limits: SandboxLimits;
  /** The index is compacted once it holds this many bytes (agentLimits.journalCompactBytesMin). */
  readonly journalCompactBytesMin: number;
}

/**
 * A finished sandbox with at most this many entries and no subdirectory (the usual one: a log or
 * two) is removed with one unlink per file and an rmdir; any other goes to a recursive removal
 * (a lstat per entry and a retried rmdir: about twice the system calls, a tenth of the agent's
 * busy time per trivial task).
 */
export const SANDBOX_FLAT_REMOVAL_ENTRIES_MAX = 16;

const SandboxOwner = z.strictObject({
  framework_id: z.string(),
  task_id: z.string(),
  container_id: z.string(),
});
type SandboxOwner = z.infer<typeof SandboxOwner>;
const IndexRecord = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('sandbox'),
    framework_id: z.string(),
    task_id: z.string(),
    container_id: z.string(),
  }),
  z.strictObject({ kind: z.literal('removed'), container_id: z.string() }),
]);
/** Where agents before the index named a sandbox's task; still read when found. */
const LEGACY_OWNER_FILE = 'sandbox.json';
const CONTAINER_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The sandboxes under `<workDir>/sandboxes/<containerId>/`: a task's cwd and where its
 * containerizer keeps its logs (`stdout`, `stderr`, rotated: see rotating-log.ts). The
 * sandboxes of finished tasks stay for `wasmos logs`, the newest `finishedSandboxesKept` of them;
 * older ones are removed in the background (`settled` waits for that). Which task owns which
 * sandbox is a record in an index journal (appended, not synced: a lost record costs the logs of
 * a task that ended just before a crash, never a task), so after a restart `wasmos logs` still
 * finds them; per task, the work on the launch path is one mkdir. A sandbox the index does not
 * name is kept as finished until the bound collects it (a re-attached container claims its own).
 */
export class Sandboxes {
  private readonly byTask = new Map<string, string>();
  /** The owner of each indexed sandbox by its directory, so collecting one needs no search. */
  private readonly owners = new Map<string, SandboxOwner>();
  /** Finished sandboxes, oldest first. */
  private finishedOrder: string[] = [];
  private readonly active = new Set<string>();
  private readonly background = new Set<Promise<void>>();
  private journal: Journal | undefined;

  private constructor(
    private readonly root: string,
    private readonly limits: SandboxLimits,
  ) {}

  static async open(options: SandboxesOptions): Promise<Sandboxes> {
    const sandboxes = new Sandboxes(options.root, options.limits);
    mkdirSync(options.root, { recursive: true });
    sandboxes.journal = await Journal.open(
      options.indexFile,
      {
        compactBytesMin: options.journalCompactBytesMin,
        snapshot: () => sandboxes.snapshot(),
      },
      (lines) => {
        sandboxes.indexDisk(replayIndex(lines));
        return sandboxes.snapshot();
      },
    );
    return sandboxes;
  }

  /** Creates the sandbox of a new container; returns its directory. */
  create(frameworkId: string, taskId: string, containerId: string): string {
    assert(CONTAINER_ID_PATTERN.test(containerId), 'container ids are safe file names');
    const dir = join(this.root, containerId);
    mkdirSync(dir, { mode: 0o700 });
    this.claim({ framework_id: frameworkId, task_id: taskId, container_id: containerId }, dir);
    this.active.add(dir);
    return dir;
  }

  /** Marks an existing sandbox active again (its container was re-attached after a restart). */
  reopen(frameworkId: string, taskId: string, containerId: string, dir: string): void {
    this.claim({ framework_id: frameworkId, task_id: taskId, container_id: containerId }, dir);
    this.active.add(dir);
    this.finishedOrder = this.finishedOrder.filter((each) => each !== dir);
  }

  /** The task ended: its sandbox joins the finished ones (the oldest beyond the bound go). */
  finish(dir: string): void {
    if (!this.active.delete(dir)) return;
    this.finishedOrder.push(dir);
    this.collect();
  }

  /** Where a task's logs are, if its sandbox still exists. */
  find(frameworkId: string, taskId: string): string | undefined {
    return this.byTask.get(streamKey(frameworkId, taskId));
  }

  isActive(dir: string): boolean {
    return this.active.has(dir);
  }

  private collect(): void {
    while (this.finishedOrder.length > this.limits.finishedSandboxesKept) {
      const dir = this.finishedOrder.shift()!;
      assert(!this.active.has(dir), 'an active sandbox is never collected');
      this.inBackground(removeSandbox(dir));
      const owner = this.owners.get(dir);
      if (owner === undefined) continue;
      this.owners.delete(dir);
      const key = streamKey(owner.framework_id, owner.task_id);
      if (this.byTask.get(key) === dir) this.byTask.delete(key);
      this.append({ kind: 'removed', container_id: owner.container_id });
    }
  }

  /** Indexes a sandbox as its task's and records that in the journal. */
  private claim(owner: SandboxOwner, dir: string): void {
    this.index(owner, dir);
    this.append({ kind: 'sandbox', ...owner });
  }

  private index(owner: SandboxOwner, dir: string): void {
    this.byTask.set(streamKey(owner.framework_id, owner.task_id), dir);
    this.owners.set(dir, owner);
  }

  private append(record: z.infer<typeof IndexRecord>): void {
    assert(this.journal !== undefined, 'the index is open once the sandboxes are');
    this.inBackground(this.journal.append(JSON.stringify(record), false));
  }

  private snapshot(): string[] {
    return [...this.owners.values()].map((owner) => JSON.stringify({ kind: 'sandbox', ...owner }));
  }

  /** Resolves once the index records so far are on disk. */
  async close(): Promise<void> {
    await this.settled();
    await this.journal?.close();
  }

  /** Resolves once the removals started so far are done. */
  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /** Failures are left alone: a leftover sandbox is indexed and collected after a restart. */
  private inBackground(work: Promise<void>): void {
    const tracked = work.catch(() => undefined);
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  /**
   * At start-up every sandbox on disk counts as finished until the agent re-attaches it; the
   * index (else a legacy owner file) says whose it is.
   */
  private indexDisk(indexed: ReadonlyMap<string, SandboxOwner>): void {
    const found: Array<{ dir: string; mtimeMs: number }> = [];
    for (const name of readdirSync(this.root)) {
      const dir = join(this.root, name);
      if (!CONTAINER_ID_PATTERN.test(name)) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      const owner = indexed.get(name) ?? readLegacyOwner(dir);
      if (owner) this.index(owner, dir);
      found.push({ dir, mtimeMs: statSync(dir).mtimeMs });
    }
    // Not collected here: a container the agent is about to re-attach may own an old one.
    this.finishedOrder = found
      .sort((left, right) => left.mtimeMs - right.mtimeMs)
      .map((each) => each.dir);
  }
}

/** The owners the index names, by container id (unreadable records are skipped). */
function replayIndex(lines: readonly string[]): Map<string, SandboxOwner> {
  const owners = new Map<string, SandboxOwner>();
  for (const line of lines) {
    const record = parseJson(IndexRecord, line);
    if (record?.kind === 'sandbox') {
      const { kind: _kind, ...owner } = record;
      owners.set(owner.container_id, owner);
    } else if (record) owners.delete(record.container_id);
  }
  return owners;
}

/**
 * Removes a finished sandbox, off the event loop. A small one of plain files goes with one unlink
 * per file; anything else (a subdirectory makes unlink fail with EISDIR, too many entries, an
 * error) is left to the recursive removal.
 */
async function removeSandbox(dir: string): Promise<void> {
  try {
    const names = await readdir(dir);
    if (names.length <= SANDBOX_FLAT_REMOVAL_ENTRIES_MAX) {
      await Promise.all(names.map((name) => unlink(join(dir, name))));
      await rmdir(dir);
      return;
    }
  } catch {
    // falls through to the recursive removal, which also copes with a vanished sandbox
  }
  await rm(dir, { recursive: true, force: true });
}

function readLegacyOwner(dir: string): SandboxOwner | undefined {
  try {
    return parseJson(SandboxOwner, readFileSync(join(dir, LEGACY_OWNER_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}

function parseJson<T extends z.ZodType>(schema: T, text: string): z.infer<T> | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
