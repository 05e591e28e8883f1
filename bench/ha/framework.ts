/**
 * A minimal signed-CBOR framework for the failover benchmark: subscribes to a master (again
 * with its framework id after a failover) and reports when the first OFFERS event of that
 * subscription arrives.
 */
import {
  open,
  RecordIoDecoder,
  ReplayGuard,
  Signer,
  type Identity,
  type SchedulerCall,
  type TrustStore,
} from '../../protocol/index.js';

export class BenchFramework {
  frameworkId: string | undefined;
  private readonly signer: Signer;
  private readonly replay = new ReplayGuard();
  private abort = new AbortController();

  constructor(
    identity: Identity,
    private readonly masterTrust: TrustStore,
  ) {
    this.signer = new Signer(identity);
  }

  /**
   * SUBSCRIBE at `masterUrl`; resolves with the time (performance.now()) of the first offer on
   * that stream, or undefined when the master did not take the subscription or the stream
   * ended first.
   */
  async firstOffer(masterUrl: string): Promise<number | undefined> {
    this.abort.abort();
    this.abort = new AbortController();
    const call: SchedulerCall = {
      type: 'SUBSCRIBE',
      ...(this.frameworkId ? { framework_id: { value: this.frameworkId } } : {}),
      subscribe: {
        framework_info: {
          user: 'bench',
          name: 'failover bench',
          failover_timeout: 3600,
          ...(this.frameworkId ? { id: { value: this.frameworkId } } : {}),
        },
      },
    };
    let response: Response;
    try {
      response = await fetch(`${masterUrl}/api/v1/scheduler`, {
        method: 'POST',
        headers: { 'content-type': 'application/cbor' },
        body: this.signer.seal('scheduler.call', call),
        redirect: 'manual',
        signal: this.abort.signal,
      });
    } catch {
      return undefined;
    }
    if (response.status !== 200 || !response.body) {
      await response.body?.cancel();
      return undefined;
    }
    const decoder = new RecordIoDecoder();
    const reader = response.body.getReader();
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        const records = decoder.push(read.value);
        if (!records.ok) return undefined;
        for (const record of records.value) {
          const opened = open(record, this.masterTrust, this.replay, {
            nowMs: Date.now(),
            types: ['scheduler.event'],
          });
          if (!opened.ok || opened.value.type !== 'scheduler.event') return undefined;
          const event = opened.value.body;
          if (event.type === 'SUBSCRIBED') this.frameworkId = event.subscribed.framework_id.value;
          if (event.type === 'OFFERS' && event.offers.offers.length > 0) return performance.now();
        }
      }
    } catch {
      // The stream broke: no offer on it.
    }
    return undefined;
  }

  close(): void {
    this.abort.abort();
  }
}
