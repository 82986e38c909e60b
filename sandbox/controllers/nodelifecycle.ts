// The node lifecycle controller (pkg/controller/nodelifecycle), reduced: a node whose kubelet stopped posting status
// for the grace period goes Ready=Unknown (NodeStatusUnknown) and its pods Ready=False; taints follow the Ready
// condition (unreachable / not-ready, NoSchedule and NoExecute) and cordon (unschedulable:NoSchedule).
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { condition, mutate, now, obj, setCondition, stableJson, type Condition } from './util.js';

export const NODE_MONITOR_GRACE_MS = 8000;

interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

const UNREACHABLE = 'node.kubernetes.io/unreachable';
const NOT_READY = 'node.kubernetes.io/not-ready';
const UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

export class NodeLifecycleController {
  constructor(private readonly ctx: ClusterContext) {}

  pass(): void {
    const store = this.ctx.store;
    const t = Date.now();
    for (const node of store.list('nodes').items) {
      const ready = condition(node, 'Ready');
      const beat = ready?.lastHeartbeatTime ? Date.parse(ready.lastHeartbeatTime) : Date.parse(String(node.metadata.creationTimestamp));
      let status = ready?.status ?? 'Unknown';
      if (t - beat > NODE_MONITOR_GRACE_MS && status !== 'Unknown') {
        status = 'Unknown';
        this.markUnknown(node);
        this.markPodsNotReady(node.metadata.name);
        this.ctx.log(`node ${node.metadata.name}: kubelet stopped posting node status`);
      }
      this.syncTaints(node.metadata.name, status, !!obj(node.spec).unschedulable);
    }
  }

  private markUnknown(node: KObject): void {
    mutate(
      this.ctx.store,
      'nodes',
      undefined,
      node.metadata.name,
      (o) => {
        let conds = (obj(o.status).conditions ?? []) as Condition[];
        const at = now();
        for (const c of conds) {
          conds = setCondition(conds, { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: at });
        }
        o.status = { ...obj(o.status), conditions: conds };
      },
      { subresource: 'status' },
    );
  }

  private markPodsNotReady(nodeName: string): void {
    const store = this.ctx.store;
    for (const p of store.list('pods').items) {
      if (obj(p.spec).nodeName !== nodeName) continue;
      mutate(
        store,
        'pods',
        p.metadata.namespace,
        p.metadata.name,
        (o) => {
          if (o.metadata.uid !== p.metadata.uid) return false;
          const st = obj(o.status);
          const conds = (st.conditions ?? []) as Condition[];
          if (!conds.some((c) => c.type === 'Ready' && c.status === 'True')) return false;
          st.conditions = setCondition(conds, { type: 'Ready', status: 'False', lastProbeTime: null });
          st.conditions = setCondition(st.conditions as Condition[], { type: 'ContainersReady', status: 'False', lastProbeTime: null });
          o.status = st;
        },
        { subresource: 'status' },
      );
    }
  }

  private syncTaints(name: string, ready: string, unschedulable: boolean): void {
    mutate(this.ctx.store, 'nodes', undefined, name, (o) => {
      const spec = obj(o.spec);
      const cur = (spec.taints ?? []) as Taint[];
      const managed = new Set([UNREACHABLE, NOT_READY, UNSCHEDULABLE]);
      const want: Taint[] = [];
      if (ready === 'Unknown') want.push({ key: UNREACHABLE, effect: 'NoSchedule' }, { key: UNREACHABLE, effect: 'NoExecute' });
      if (ready === 'False') want.push({ key: NOT_READY, effect: 'NoSchedule' }, { key: NOT_READY, effect: 'NoExecute' });
      if (unschedulable) want.push({ key: UNSCHEDULABLE, effect: 'NoSchedule' });
      const keep = cur.filter((x) => !managed.has(x.key));
      const next: Taint[] = [...keep];
      for (const w of want) {
        const had = cur.find((x) => x.key === w.key && x.effect === w.effect);
        next.push(had ?? { ...w, timeAdded: now() });
      }
      if (stableJson(next) === stableJson(cur)) return false;
      if (next.length) spec.taints = next;
      else delete spec.taints;
      o.spec = spec;
    });
  }
}
