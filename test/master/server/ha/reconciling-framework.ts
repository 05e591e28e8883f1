/** The e2e framework plus explicit reconciliation and leader following, for failover tests. */
import {
  Signer,
  type Identity,
  type SchedulerCall,
  type TrustStore,
} from '../../../../protocol/index.js';
import { HttpFramework } from '../../../e2e/support/framework.js';

const FOLLOW_POLL_MS = 50;

export class ReconcilingFramework extends HttpFramework {
  private readonly callSigner: Signer;

  constructor(url: string, identity: Identity, masterTrust: TrustStore) {
    super(url, identity, masterTrust);
    this.callSigner = new Signer(identity);
  }

  /**
   * Keeps the framework subscribed, as a framework driver does: whenever its subscription
   * ends (the leader died, or lost its ZooKeeper lease and stepped down, which a loaded machine
   * can cause at any time), `locate` names the serving leader and the framework subscribes
   * there again with its id. Returns a function that stops following; nothing else may
   * subscribe meanwhile.
   */
  follow(locate: () => Promise<string>): () => Promise<void> {
    let stopped = false;
    const following = (async () => {
      while (!stopped) {
        if (!this.ended) {
          await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
          continue;
        }
        try {
          this.url = await locate();
          await this.subscribe();
        } catch {
          // No leader yet (or it went away mid-subscribe): look again.
        }
      }
    })();
    return async () => {
      stopped = true;
      await following;
    };
  }

  /**
   * RECONCILE the given tasks (with the agent each was launched on, when known): the master
   * answers each with its latest state, or for a task it does not know with TASK_GONE (its
   * agent is registered), TASK_UNKNOWN (no agent given) or TASK_LOST (not partition-aware);
   * no answer while the agent is still re-registering. False when the call did not reach a
   * leader (it is sent again later).
   */
  async reconcile(
    tasks: readonly { readonly taskId: string; readonly agentId?: string | undefined }[],
  ): Promise<boolean> {
    if (!this.frameworkId || !this.streamId) return false;
    const call: SchedulerCall = {
      type: 'RECONCILE',
      framework_id: { value: this.frameworkId },
      reconcile: {
        tasks: tasks.map(({ taskId, agentId }) => ({
          task_id: { value: taskId },
          ...(agentId === undefined ? {} : { agent_id: { value: agentId } }),
        })),
      },
    };
    try {
      const response = await fetch(`${this.url}/api/v1/scheduler`, {
        method: 'POST',
        headers: { 'content-type': 'application/cbor', 'mesos-stream-id': this.streamId },
        body: this.callSigner.seal('scheduler.call', call),
        signal: AbortSignal.timeout(10_000),
      });
      await response.body?.cancel();
      return response.status === 202;
    } catch {
      return false;
    }
  }
}
