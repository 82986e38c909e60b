// The scheduler (default-scheduler plugins, reduced): filter nodes by Ready, cordon (NodeUnschedulable), taints
// (TaintToleration), nodeSelector and required node affinity (NodeAffinity), required inter-pod (anti-)affinity
// (InterPodAffinity, both directions); score preferred anti-affinity / node affinity, then fewest pods. Binds by
// setting spec.nodeName and PodScheduled; an unschedulable pod gets PodScheduled=False and a FailedScheduling Event.
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { matchesLabelSelector, type LabelSelector, type LabelSelectorRequirement } from '../core/selectors.js';
import { condition, isTerminating, mutate, now, obj, podPhase, recordEvent, setCondition, type Condition } from './util.js';

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}
export interface Taint {
  key: string;
  value?: string;
  effect: string;
}
interface NodeSelectorTerm {
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
  matchFields?: Array<{ key: string; operator: string; values?: string[] }>;
}
interface PodAffinityTerm {
  labelSelector?: LabelSelector;
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  topologyKey: string;
}
interface Affinity {
  nodeAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] };
    preferredDuringSchedulingIgnoredDuringExecution?: Array<{ weight: number; preference: NodeSelectorTerm }>;
  };
  podAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
    preferredDuringSchedulingIgnoredDuringExecution?: Array<{ weight: number; podAffinityTerm: PodAffinityTerm }>;
  };
  podAntiAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
    preferredDuringSchedulingIgnoredDuringExecution?: Array<{ weight: number; podAffinityTerm: PodAffinityTerm }>;
  };
}
interface PodSpec {
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: Affinity;
  schedulerName?: string;
}

export function tolerates(tolerations: Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (!t.key) return t.operator === 'Exists';
    if (t.key !== taint.key) return false;
    return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
  });
}

function matchNodeExpr(labels: Record<string, string>, e: { key: string; operator: string; values?: string[] }): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, e.key);
  const v = labels[e.key];
  switch (e.operator) {
    case 'In':
      return has && (e.values ?? []).includes(v);
    case 'NotIn':
      return !has || !(e.values ?? []).includes(v);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
      return has && Number(v) > Number(e.values?.[0]);
    case 'Lt':
      return has && Number(v) < Number(e.values?.[0]);
    default:
      return false;
  }
}

function matchTerm(node: KObject, term: NodeSelectorTerm): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  return exprs.every((e) => matchNodeExpr(labels, e)) && fields.every((f) => matchNodeExpr({ 'metadata.name': node.metadata.name }, f));
}

function termNamespaces(term: PodAffinityTerm, ownerNs: string | undefined, namespaces: KObject[]): (ns: string | undefined) => boolean {
  const list = term.namespaces ?? [];
  if (term.namespaceSelector) {
    const sel = term.namespaceSelector;
    const allowed = new Set(namespaces.filter((n) => matchesLabelSelector(sel, n.metadata.labels)).map((n) => n.metadata.name));
    return (ns) => list.includes(ns ?? '') || allowed.has(ns ?? '');
  }
  if (list.length === 0) return (ns) => ns === ownerNs;
  return (ns) => list.includes(ns ?? '');
}

function podMatchesTerm(term: PodAffinityTerm, ownerNs: string | undefined, target: KObject, namespaces: KObject[]): boolean {
  return termNamespaces(term, ownerNs, namespaces)(target.metadata.namespace) && matchesLabelSelector(term.labelSelector ?? { matchExpressions: [{ key: '__never__', operator: 'Exists' } as LabelSelectorRequirement] }, target.metadata.labels);
}

function nodeReady(n: KObject): boolean {
  return condition(n, 'Ready')?.status === 'True';
}

export class Scheduler {
  constructor(private readonly ctx: ClusterContext) {}

  pass(): void {
    const store = this.ctx.store;
    const pods = store.list('pods').items;
    const pending = pods.filter((p) => !obj(p.spec).nodeName && !isTerminating(p) && podPhase(p) === 'Pending' && ((p.spec as PodSpec).schedulerName ?? 'default-scheduler') === 'default-scheduler');
    if (pending.length === 0) return;
    const nodes = store.list('nodes').items;
    const namespaces = store.list('namespaces').items;
    // assigned pods, updated as this pass binds more
    const assigned = pods.filter((p) => obj(p.spec).nodeName && podPhase(p) !== 'Succeeded' && podPhase(p) !== 'Failed');
    pending.sort((a, z) => String(a.metadata.creationTimestamp).localeCompare(String(z.metadata.creationTimestamp)) || a.metadata.name.localeCompare(z.metadata.name));
    for (const pod of pending) {
      const result = this.pick(pod, nodes, assigned, namespaces);
      if ('node' in result) {
        const bound = mutate(store, 'pods', pod.metadata.namespace, pod.metadata.name, (o) => {
          if (o.metadata.uid !== pod.metadata.uid || obj(o.spec).nodeName || isTerminating(o)) return false;
          o.spec = { ...obj(o.spec), nodeName: result.node };
          const st = obj(o.status);
          st.conditions = setCondition((st.conditions as Condition[] | undefined) ?? [], { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() });
          o.status = st;
        });
        if (bound && obj(bound.spec).nodeName === result.node) {
          assigned.push(bound);
          recordEvent(this.ctx, bound, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${result.node}`, 'default-scheduler');
        }
      } else {
        const message = result.message;
        const prev = condition(pod, 'PodScheduled');
        if (prev?.status === 'False' && prev.message === message) continue;
        const updated = mutate(
          store,
          'pods',
          pod.metadata.namespace,
          pod.metadata.name,
          (o) => {
            if (o.metadata.uid !== pod.metadata.uid || obj(o.spec).nodeName) return false;
            const st = obj(o.status);
            st.conditions = setCondition((st.conditions as Condition[] | undefined) ?? [], { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null });
            o.status = st;
          },
          { subresource: 'status' },
        );
        if (updated) recordEvent(this.ctx, updated, 'Warning', 'FailedScheduling', message, 'default-scheduler');
      }
    }
  }

  private pick(pod: KObject, nodes: KObject[], assigned: KObject[], namespaces: KObject[]): { node: string } | { message: string } {
    const spec = (pod.spec ?? {}) as PodSpec;
    const aff = spec.affinity ?? {};
    const reasons = new Map<string, number>();
    const fail = (r: string): false => {
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
      return false;
    };
    const byNode = new Map<string, KObject[]>();
    for (const p of assigned) {
      const n = String(obj(p.spec).nodeName);
      byNode.set(n, [...(byNode.get(n) ?? []), p]);
    }
    const topo = (nodeName: string, key: string): string | undefined => nodes.find((n) => n.metadata.name === nodeName)?.metadata.labels?.[key];
    const feasible = nodes.filter((n) => {
      const labels = n.metadata.labels ?? {};
      const nspec = obj(n.spec);
      if (!nodeReady(n) && !tolerates(spec.tolerations, { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' })) return fail("node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
      if (nspec.unschedulable && !tolerates(spec.tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) return fail('node(s) were unschedulable');
      for (const t of (nspec.taints ?? []) as Taint[]) {
        if ((t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(spec.tolerations, t)) return fail(`node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`);
      }
      for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (labels[k] !== v) return fail("node(s) didn't match Pod's node affinity/selector");
      const terms = aff.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
      if (terms && !terms.some((t) => matchTerm(n, t))) return fail("node(s) didn't match Pod's node affinity/selector");
      // required anti-affinity of the incoming pod
      for (const term of aff.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
        const mine = labels[term.topologyKey];
        if (mine === undefined) continue;
        if (assigned.some((p) => p.metadata.uid !== pod.metadata.uid && topo(String(obj(p.spec).nodeName), term.topologyKey) === mine && podMatchesTerm(term, pod.metadata.namespace, p, namespaces))) {
          return fail("node(s) didn't match pod anti-affinity rules");
        }
      }
      // required anti-affinity of the pods already there, against the incoming pod
      for (const p of assigned) {
        for (const term of ((obj(p.spec).affinity as Affinity | undefined)?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [])) {
          const theirs = topo(String(obj(p.spec).nodeName), term.topologyKey);
          if (theirs !== undefined && labels[term.topologyKey] === theirs && podMatchesTerm(term, p.metadata.namespace, pod, namespaces)) {
            return fail("node(s) didn't match pod anti-affinity rules");
          }
        }
      }
      for (const term of aff.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
        const mine = labels[term.topologyKey];
        const any = assigned.some((p) => podMatchesTerm(term, pod.metadata.namespace, p, namespaces));
        // the first pod of a group that matches its own term may go anywhere (as the real plugin allows)
        if (!any && podMatchesTerm(term, pod.metadata.namespace, pod, namespaces)) continue;
        if (mine === undefined || !assigned.some((p) => topo(String(obj(p.spec).nodeName), term.topologyKey) === mine && podMatchesTerm(term, pod.metadata.namespace, p, namespaces))) {
          return fail("node(s) didn't match pod affinity rules");
        }
      }
      return true;
    });
    if (feasible.length === 0) {
      const parts = [...reasons.entries()].sort((a, z) => a[0].localeCompare(z[0])).map(([r, c]) => `${c} ${r}`);
      return { message: `0/${nodes.length} nodes are available: ${parts.join(', ')}. preemption: 0/${nodes.length} nodes are available: ${nodes.length} Preemption is not helpful for scheduling.` };
    }
    const score = (n: KObject): number => {
      let s = 0;
      const labels = n.metadata.labels ?? {};
      for (const w of aff.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) if (matchTerm(n, w.preference)) s += w.weight;
      for (const w of aff.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
        const v = labels[w.podAffinityTerm.topologyKey];
        if (v === undefined) continue;
        const count = assigned.filter((p) => topo(String(obj(p.spec).nodeName), w.podAffinityTerm.topologyKey) === v && podMatchesTerm(w.podAffinityTerm, pod.metadata.namespace, p, namespaces)).length;
        s -= w.weight * count;
      }
      for (const w of aff.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
        const v = labels[w.podAffinityTerm.topologyKey];
        if (v === undefined) continue;
        const count = assigned.filter((p) => topo(String(obj(p.spec).nodeName), w.podAffinityTerm.topologyKey) === v && podMatchesTerm(w.podAffinityTerm, pod.metadata.namespace, p, namespaces)).length;
        s += w.weight * count;
      }
      return s;
    };
    const ranked = feasible
      .map((n) => ({ n, s: score(n), c: (byNode.get(n.metadata.name) ?? []).length }))
      .sort((a, z) => z.s - a.s || a.c - z.c || a.n.metadata.name.localeCompare(z.n.metadata.name));
    return { node: ranked[0].n.metadata.name };
  }
}
