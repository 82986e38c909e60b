// One way every command reaches a target: its context (operator, pause mechanism, password), observe bound to it,
// and Redis connections by pod (port-forward by default, pod IPs with --direct), all closed by close().
import type { KubeClient } from '../kube/client.js';
import { connectPod, directDialer, type RedisNode } from '../redis/connect.js';
import type { PodDialer } from '../redis/types.js';
import { targetContext, type Target, type TargetContext } from '../targets/index.js';
import { observe } from './observe.js';
import type { Observed } from './types.js';
import { RES } from '../kube/resources.js';

const PODS = RES.pods;

export interface SessionOptions {
  direct: boolean;
  timeoutMs?: number;
  concurrency?: number;
}

export async function podDialer(kube: KubeClient, direct: boolean): Promise<PodDialer> {
  if (direct) {
    return directDialer(async (namespace, pod) => {
      const p = await kube.get(PODS, namespace, pod);
      const ip = (p?.status as { podIP?: string } | undefined)?.podIP;
      if (!ip) throw new Error(`pod ${namespace}/${pod} has no IP`);
      return ip;
    });
  }
  const { PortForwardDialer } = await import('../kube/portforward.js');
  return new PortForwardDialer(kube);
}

export class TargetSession {
  private readonly connections = new Map<string, Promise<RedisNode>>();

  private constructor(
    readonly kube: KubeClient,
    readonly ctx: TargetContext,
    private readonly dialer: PodDialer,
    private readonly opts: Required<SessionOptions>,
  ) {}

  static async open(kube: KubeClient, target: Target, opts: SessionOptions): Promise<TargetSession> {
    const ctx = await targetContext(kube, target);
    const dialer = await podDialer(kube, opts.direct);
    return new TargetSession(kube, ctx, dialer, { direct: opts.direct, timeoutMs: opts.timeoutMs ?? 5000, concurrency: opts.concurrency ?? 64 });
  }

  get target(): Target {
    return this.ctx.target;
  }

  async observe(): Promise<Observed> {
    return observe(this.ctx.observeInput, { reader: this.kube, dialer: this.dialer, timeoutMs: this.opts.timeoutMs, concurrency: this.opts.concurrency, now: () => new Date() });
  }

  /** A cached connection to a pod's Redis, or its sentinel when the pod is a sentinel pod of the last observation. */
  connect(pod: string, component: 'redis' | 'sentinel' = 'redis'): Promise<RedisNode> {
    const key = `${pod}/${component}`;
    let c = this.connections.get(key);
    if (!c) {
      const spec = this.ctx.observeInput.spec;
      c = connectPod({
        namespace: spec.namespace, pod, port: component === 'sentinel' ? spec.sentinelPort : spec.redisPort, dialer: this.dialer,
        auth: component === 'sentinel' ? spec.sentinelAuth : spec.auth, tls: spec.tls, secretHint: spec.secretHint,
        timeoutMs: this.opts.timeoutMs, name: 'kubectl-redis',
      });
      c.catch(() => this.connections.delete(key));
      this.connections.set(key, c);
    }
    return c;
  }

  /** Forget a cached connection (the pod restarted; the next connect opens a new one). */
  async drop(pod: string): Promise<void> {
    for (const key of [...this.connections.keys()].filter((k) => k.startsWith(`${pod}/`))) {
      const c = this.connections.get(key);
      this.connections.delete(key);
      await c?.then((n) => n.quit()).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.then((n) => n.quit()).catch(() => undefined)));
    this.connections.clear();
    await this.dialer.closeAll();
  }
}
