// Redis on both sides of a migration: the pods of the moving StatefulSets are split between two clusters, so each
// pod is reached through its own cluster's API server (port-forward) or its IP (--direct), with the source target's
// password and TLS. Connections are cached per pod and dropped when a pod moves.
import { errText } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { tlsFor } from '../../reconcile/collect.js';
import { podDialer } from '../../reconcile/session.js';
import { connectPod, type RedisAuth, type RedisNode, type RedisTls } from '../../redis/connect.js';
import type { PodDialer } from '../../redis/types.js';
import { podIp, podRunning, RES } from './kube.js';
import type { NodeView } from './plan.js';

export type SideName = 'source' | 'destination';

export interface Side {
  name: SideName;
  kube: KubeClient;
  namespace: string;
}

export interface RedisAccess {
  auth?: RedisAuth;
  tls?: RedisTls;
  /** per StatefulSet, the DNS domain its pods' certificates name (see CollectSpec.podDomains) */
  podDomains?: Record<string, string>;
  secretHint?: string;
  port: number;
  timeoutMs: number;
  direct: boolean;
}

/** A running pod of the target on one side. */
export interface PodAt {
  side: SideName;
  name: string;
  ip: string;
}

export class TwoSides {
  private readonly dialers = new Map<SideName, Promise<PodDialer>>();
  private readonly connections = new Map<string, Promise<RedisNode>>();

  constructor(
    readonly source: Side,
    readonly destination: Side,
    private readonly access: RedisAccess,
    /** The pods of the moving StatefulSets: `cache-3`. */
    private readonly isTargetPod: (name: string) => boolean,
  ) {}

  side(name: SideName): Side {
    return name === 'source' ? this.source : this.destination;
  }

  private dialer(side: SideName): Promise<PodDialer> {
    let d = this.dialers.get(side);
    if (!d) {
      d = podDialer(this.side(side).kube, this.access.direct);
      this.dialers.set(side, d);
    }
    return d;
  }

  /** Every running, Ready pod of the target on both sides. */
  async runningPods(): Promise<PodAt[]> {
    const out: PodAt[] = [];
    for (const s of [this.source, this.destination]) {
      const pods = await s.kube.list(RES.pods, s.namespace);
      for (const p of pods) if (this.isTargetPod(p.metadata.name) && podRunning(p)) out.push({ side: s.name, name: p.metadata.name, ip: podIp(p) ?? '' });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  }

  connect(side: SideName, pod: string): Promise<RedisNode> {
    const key = `${side}/${pod}`;
    let c = this.connections.get(key);
    if (!c) {
      const s = this.side(side);
      c = this.dialer(side).then((dialer) =>
        connectPod({
          namespace: s.namespace, pod, port: this.access.port, dialer, auth: this.access.auth, tls: tlsFor(this.access, pod), secretHint: this.access.secretHint,
          timeoutMs: this.access.timeoutMs, name: 'kubectl-redis-migrate',
        }),
      );
      c.catch(() => this.connections.delete(key));
      this.connections.set(key, c);
    }
    return c;
  }

  /** Forget cached connections to a pod (it stopped, or moved to the other side). */
  async drop(pod: string): Promise<void> {
    for (const key of [...this.connections.keys()].filter((k) => k.endsWith(`/${pod}`))) {
      const c = this.connections.get(key);
      this.connections.delete(key);
      await c?.then((n) => n.quit()).catch(() => undefined);
    }
  }

  /** CLUSTER NODES and CLUSTER INFO of every running pod; pods that do not answer are listed apart. */
  async views(pods?: PodAt[]): Promise<{ views: NodeView[]; unreachable: string[] }> {
    const all = pods ?? (await this.runningPods());
    const views: NodeView[] = [];
    const unreachable: string[] = [];
    await Promise.all(all.map(async (p) => {
      try {
        const n = await this.connect(p.side, p.name);
        const [nodes, info] = [await n.clusterNodes(), await n.clusterInfo()];
        views.push({ pod: p.name, entries: nodes.entries, info });
      } catch (e) {
        await this.drop(p.name);
        unreachable.push(`${p.name}: ${errText(e)}`);
      }
    }));
    views.sort((a, b) => a.pod.localeCompare(b.pod, undefined, { numeric: true }));
    return { views, unreachable };
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.then((n) => n.quit()).catch(() => undefined)));
    this.connections.clear();
    await Promise.all([...this.dialers.values()].map((d) => d.then((x) => x.closeAll()).catch(() => undefined)));
  }
}
