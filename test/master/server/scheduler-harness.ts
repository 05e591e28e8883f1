/**
 * A real master on an ephemeral port (startMaster) with temporary keys, plus a small framework
 * client that speaks the scheduler API in either encoding and reads the RecordIO event stream,
 * and an in-process agent registered through the driver that records what it is sent.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { writeTestKey } from '../../support/keys.js';
import { openMasterEvent, readRecords } from '../../support/signed-stream.js';
import { until } from '../../support/until.js';
import { createLogger } from '../../../lib/log.js';
import type { AgentMessage } from '../../../master/core/messages.js';
import { Resources } from '../../../master/core/resources.js';
import type { Sink } from '../../../master/server/streams.js';
import {
  startMaster,
  type MasterProcessOptions,
  type RunningMaster,
} from '../../../master/server/master-process.js';
import type { MasterContext } from '../../../master/server/context.js';
import {
  generateIdentity,
  ReplayGuard,
  SchedulerEvent,
  Signer,
  TrustStore,
  type Identity,
  type SchedulerCall,
} from '../../../protocol/index.js';

export const CREDENTIALS = { principal: 'ops', secret: 's3cret' } as const;
export const basic = (principal: string, secret: string) =>
  `Basic ${Buffer.from(`${principal}:${secret}`).toString('base64')}`;

export interface Keys {
  readonly dir: string;
  readonly masterKeyFile: string;
  readonly trustDir: string;
  readonly masterPublic: TrustStore;
  readonly framework: Identity;
  readonly otherFramework: Identity;
  readonly agent: Identity;
  readonly credentialsFile: string;
}

/** A master key, a trust dir with two framework keys and an agent key, a credentials file. */
export async function makeKeys(): Promise<Keys> {
  const dir = await mkdtemp(join(tmpdir(), 'wasmos-master-'));
  const master = generateIdentity();
  const framework = generateIdentity();
  const otherFramework = generateIdentity();
  const agent = generateIdentity();
  const masterKeyFile = await writeTestKey(join(dir, 'keys'), 'master', 'master', master);
  const trustDir = join(dir, 'trust');
  for (const [name, role, identity] of [
    ['framework', 'framework', framework],
    ['other', 'framework', otherFramework],
    ['agent', 'agent', agent],
  ] as const)
    await writeTestKey(trustDir, name, role, identity);
  const credentialsFile = join(dir, 'credentials.json');
  await writeFile(credentialsFile, JSON.stringify({ credentials: [CREDENTIALS] }));
  await chmod(credentialsFile, 0o600);
  return {
    dir,
    masterKeyFile,
    trustDir,
    masterPublic: new TrustStore([{ publicKey: master.publicKey, role: 'master', name: 'm' }]),
    framework,
    otherFramework,
    agent,
    credentialsFile,
  };
}

/** `json: false` leaves out the HTTP credentials, so the JSON encoding is off. */
export async function startTestMaster(
  keys: Keys,
  { json = true, ...options }: Partial<MasterProcessOptions> & { readonly json?: boolean } = {},
): Promise<RunningMaster> {
  return startMaster({
    workDir: join(keys.dir, 'work'),
    keyFile: keys.masterKeyFile,
    trustDir: keys.trustDir,
    port: 0,
    ...(!json ? {} : { credentialsFile: keys.credentialsFile }),
    log: createLogger('master', { level: 'error' }),
    timings: { allocationIntervalMs: 50, frameworkHeartbeatIntervalMs: 200 },
    ...options,
  });
}

export function contextOf(master: RunningMaster): MasterContext {
  const context = master.context;
  assert.ok(context, 'the master is leading');
  return context;
}

/** How a framework client authenticates: a framework key (CBOR) or HTTP credentials (JSON). */
export type Auth =
  | { readonly encoding: 'cbor'; readonly identity: Identity }
  | { readonly encoding: 'json'; readonly authorization?: string };

/** A framework speaking the scheduler API over real HTTP. */
export class FrameworkClient {
  readonly events: SchedulerEvent[] = [];
  /** The raw JSON text of each event (JSON encoding only). */
  readonly rawEvents: string[] = [];
  streamId: string | undefined;
  frameworkId: string | undefined;
  ended = false;
  private readonly signer: Signer | undefined;
  private readonly replay = new ReplayGuard();
  private abort = new AbortController();

  constructor(
    private readonly url: string,
    private readonly auth: Auth,
    private readonly masterPublic: TrustStore,
  ) {
    this.signer = auth.encoding === 'cbor' ? new Signer(auth.identity) : undefined;
  }

  /** The body and headers of one call in this client's encoding. */
  request(call: SchedulerCall, headers: Record<string, string> = {}): RequestInit {
    const auth = this.auth;
    if (auth.encoding === 'cbor') {
      return {
        method: 'POST',
        headers: { 'content-type': 'application/cbor', ...headers },
        body: this.signer!.seal('scheduler.call', call),
      };
    }
    return {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(auth.authorization ? { authorization: auth.authorization } : {}),
        ...headers,
      },
      body: JSON.stringify(call),
    };
  }

  /** Sends a non-subscribe call on this client's stream. */
  async call(call: SchedulerCall, headers: Record<string, string> = {}): Promise<Response> {
    const response = await fetch(
      `${this.url}/api/v1/scheduler`,
      this.request(call, {
        ...(this.streamId ? { 'mesos-stream-id': this.streamId } : {}),
        ...headers,
      }),
    );
    if (response.status !== 202) await response.body?.cancel();
    return response;
  }

  /** SUBSCRIBE; resolves with the response once headers arrive, reading events in the background. */
  async subscribe(call: SchedulerCall): Promise<Response> {
    this.abort = new AbortController();
    const response = await fetch(`${this.url}/api/v1/scheduler`, {
      ...this.request(call),
      signal: this.abort.signal,
    });
    if (response.status !== 200) return response;
    this.streamId = response.headers.get('mesos-stream-id') ?? undefined;
    this.ended = false;
    void this.read(response.body!);
    return response;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    try {
      await readRecords(body, (record) => this.receive(record));
    } catch {
      // Aborted by the test, or the master went away.
    } finally {
      this.ended = true;
    }
  }

  private receive(record: Uint8Array): void {
    let event: SchedulerEvent;
    if (this.auth.encoding === 'cbor') {
      event = openMasterEvent(record, this.masterPublic, this.replay, 'scheduler.event');
    } else {
      const text = new TextDecoder().decode(record);
      this.rawEvents.push(text);
      event = SchedulerEvent.parse(JSON.parse(text));
    }
    if (event.type === 'SUBSCRIBED') this.frameworkId = event.subscribed.framework_id.value;
    this.events.push(event);
  }

  /** Waits for the first event (after `after` events) that matches. */
  async next<T extends SchedulerEvent['type']>(
    type: T,
    after = 0,
    what: string = type,
  ): Promise<Extract<SchedulerEvent, { type: T }>> {
    return until(
      () =>
        this.events.slice(after).find((event) => event.type === type) as
          Extract<SchedulerEvent, { type: T }> | undefined,
      what,
    );
  }

  disconnect(): void {
    this.abort.abort();
  }
}

/** A framework client at `url` signing its calls (CBOR) with `identity`: the test framework's key unless given. */
export function cborFramework(
  url: string,
  keys: Keys,
  identity: Identity = keys.framework,
): FrameworkClient {
  return new FrameworkClient(url, { encoding: 'cbor', identity }, keys.masterPublic);
}

/** An agent registered directly through the driver; records what the master sends it. */
export class DriverAgent implements Sink<AgentMessage> {
  readonly messages: AgentMessage[] = [];
  agentId = '';

  constructor(
    private readonly context: MasterContext,
    private readonly keyId: string,
  ) {}

  async register(resources = { cpus: 2, mem: 1024 }): Promise<string> {
    const reply = await this.context.driver.submit({
      kind: 'registerAgent',
      keyId: this.keyId,
      agent: {
        hostname: 'edge-1',
        resources: Resources.of(resources),
        runtimes: ['wasm', 'linux'],
        attributes: { zone: 'edge-1' },
      },
    });
    assert.ok(reply.ok && reply.value.kind === 'agentRegistered');
    this.agentId = reply.value.agentId;
    this.context.streams.setAgent(this.agentId, this);
    return this.agentId;
  }

  send(message: AgentMessage): void {
    this.messages.push(message);
  }

  close(): void {
    // Nothing to close: the test owns this agent.
  }

  async next<T extends AgentMessage['type']>(
    type: T,
    after = 0,
  ): Promise<Extract<AgentMessage, { type: T }>> {
    return until(
      () =>
        this.messages.slice(after).find((message) => message.type === type) as
          Extract<AgentMessage, { type: T }> | undefined,
      `agent message ${type}`,
    );
  }
}

export async function removeKeys(keys: Keys): Promise<void> {
  await rm(keys.dir, { recursive: true, force: true });
}
