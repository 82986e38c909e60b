// Deployment -> ReplicaSet -> Pods (pkg/controller/deployment, pkg/controller/replicaset). A template change makes a
// new ReplicaSet `<deploy>-<pod-template-hash>` and scales the old ones to 0 (a replace, not a surge).
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { matchesLabelSelector, type LabelSelector } from '../core/selectors.js';
import { applyDefaults } from '../apiserver/defaults.js';
import { controllerOf, createIfMissing, deleteQuietly, isPodAvailable, isPodReady, isTerminating, mutate, now, obj, ownerRef, podPhase, safeHash, scaled, setCondition, stableJson, type Condition, type Obj } from './util.js';

const DEPLOY = 'deployments.apps';
const RS = 'replicasets.apps';

interface WorkloadSpec {
  replicas?: number;
  selector?: LabelSelector;
  minReadySeconds?: number;
  template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Obj };
  strategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string } };
}

function adopt(store: ClusterContext['store'], resource: string, owner: KObject, items: KObject[], selector: LabelSelector | undefined): KObject[] {
  const out: KObject[] = [];
  for (const o of items) {
    if (o.metadata.namespace !== owner.metadata.namespace) continue;
    const c = controllerOf(o);
    if (c?.uid === owner.metadata.uid) {
      out.push(o);
      continue;
    }
    if (c || isTerminating(o) || !matchesLabelSelector(selector, o.metadata.labels)) continue;
    const adopted = mutate(store, resource, o.metadata.namespace, o.metadata.name, (x) => {
      if (x.metadata.uid !== o.metadata.uid || controllerOf(x)) return false;
      x.metadata.ownerReferences = [...(x.metadata.ownerReferences ?? []), ownerRef(owner)];
    });
    if (adopted && controllerOf(adopted)?.uid === owner.metadata.uid) out.push(adopted);
  }
  return out;
}

export class ReplicaSetController {
  constructor(private readonly ctx: ClusterContext) {}

  pass(): void {
    const store = this.ctx.store;
    const allPods = store.list('pods').items;
    for (const rs of store.list(RS).items) {
      if (isTerminating(rs)) continue;
      const spec = (rs.spec ?? {}) as WorkloadSpec;
      const pods = adopt(store, 'pods', rs, allPods, spec.selector);
      const ns = rs.metadata.namespace;
      const replicas = spec.replicas ?? 1;
      for (const p of pods) if (!isTerminating(p) && (podPhase(p) === 'Failed' || podPhase(p) === 'Succeeded')) deleteQuietly(store, 'pods', ns, p.metadata.name, p.metadata.uid);
      const active = pods.filter((p) => !isTerminating(p) && podPhase(p) !== 'Failed' && podPhase(p) !== 'Succeeded');
      if (active.length < replicas) {
        for (let i = active.length; i < replicas; i++) {
          const t = spec.template ?? {};
          const pod: KObject = {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              name: '',
              generateName: `${rs.metadata.name}-`,
              namespace: ns,
              labels: { ...(t.metadata?.labels ?? {}) },
              ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
              ownerReferences: [ownerRef(rs)],
            },
            spec: structuredClone(t.spec ?? {}),
            status: { phase: 'Pending' },
          };
          applyDefaults('pods', pod, { create: true });
          store.create('pods', pod);
        }
      } else if (active.length > replicas) {
        // prefer unscheduled, then not ready, then the newest (controller.ActivePods ordering, simplified)
        const rank = (p: KObject): number => (!obj(p.spec).nodeName ? 0 : !isPodReady(p) ? 1 : 2);
        const victims = [...active].sort((a, z) => rank(a) - rank(z) || String(z.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)));
        for (const p of victims.slice(0, active.length - replicas)) deleteQuietly(store, 'pods', ns, p.metadata.name, p.metadata.uid);
      }
      const live = store.list('pods', ns).items.filter((p) => controllerOf(p)?.uid === rs.metadata.uid && !isTerminating(p));
      const ready = live.filter((p) => isPodReady(p)).length;
      const available = live.filter((p) => isPodAvailable(p, spec.minReadySeconds ?? 0)).length;
      const labeled = live.filter((p) => matchesLabelSelector({ matchLabels: spec.template?.metadata?.labels ?? {} }, p.metadata.labels)).length;
      mutate(
        store,
        RS,
        ns,
        rs.metadata.name,
        (o) => {
          const st = obj(o.status);
          const next = { replicas: live.length, fullyLabeledReplicas: labeled, readyReplicas: ready, availableReplicas: available, observedGeneration: o.metadata.generation ?? 1 };
          if (stableJson({ ...st, ...next }) === stableJson(st)) return false;
          o.status = { ...st, ...next };
        },
        { subresource: 'status' },
      );
    }
  }
}

export class DeploymentController {
  constructor(private readonly ctx: ClusterContext) {}

  pass(): void {
    const store = this.ctx.store;
    const allRs = store.list(RS).items;
    for (const d of store.list(DEPLOY).items) {
      if (isTerminating(d)) continue;
      const spec = (d.spec ?? {}) as WorkloadSpec;
      const ns = d.metadata.namespace;
      const owned = adopt(store, RS, d, allRs, spec.selector);
      const hash = safeHash(stableJson(spec.template ?? {}));
      const name = `${d.metadata.name}-${hash}`;
      const replicas = spec.replicas ?? 1;
      let current = owned.find((r) => r.metadata.labels?.['pod-template-hash'] === hash);
      if (!current) {
        const t = structuredClone(spec.template ?? {});
        t.metadata = { ...(t.metadata ?? {}), labels: { ...(t.metadata?.labels ?? {}), 'pod-template-hash': hash } };
        const revision = Math.max(0, ...owned.map((r) => Number(r.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0))) + 1;
        current = createIfMissing(store, RS, {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name,
            namespace: ns,
            labels: { ...(t.metadata.labels ?? {}) },
            annotations: { 'deployment.kubernetes.io/desired-replicas': String(replicas), 'deployment.kubernetes.io/max-replicas': String(replicas), 'deployment.kubernetes.io/revision': String(revision) },
            ownerReferences: [ownerRef(d)],
          },
          spec: {
            replicas,
            minReadySeconds: spec.minReadySeconds ?? 0,
            selector: { ...(spec.selector ?? {}), matchLabels: { ...(spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash } },
            template: t,
          },
          status: { replicas: 0 },
        });
        if (!current) continue;
        this.ctx.log(`deployment ${ns}/${d.metadata.name}: scaled up replica set ${name} to ${replicas}`);
      }
      const setReplicas = (rs: KObject, n: number): void => {
        mutate(store, RS, ns, rs.metadata.name, (o) => {
          if (obj(o.spec).replicas === n) return false;
          o.spec = { ...obj(o.spec), replicas: n };
          o.metadata.annotations = { ...(o.metadata.annotations ?? {}), 'deployment.kubernetes.io/desired-replicas': String(replicas) };
        });
      };
      setReplicas(current, replicas);
      for (const old of owned) if (old.metadata.uid !== current.metadata.uid) setReplicas(old, 0);

      const fresh = store.list(RS, ns).items.filter((r) => controllerOf(r)?.uid === d.metadata.uid);
      const sum = (f: (st: Obj) => unknown): number => fresh.reduce((n, r) => n + Number(f(obj(r.status)) ?? 0), 0);
      const cur = fresh.find((r) => r.metadata.labels?.['pod-template-hash'] === hash);
      const updated = Number(obj(cur?.status).replicas ?? 0);
      const total = sum((s) => s.replicas);
      const ready = sum((s) => s.readyReplicas);
      const available = sum((s) => s.availableReplicas);
      const maxUnavailable = spec.strategy?.type === 'Recreate' ? 0 : scaled(spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%', replicas, false);
      mutate(
        store,
        DEPLOY,
        ns,
        d.metadata.name,
        (o) => {
          const st = obj(o.status);
          let conds = (Array.isArray(st.conditions) ? st.conditions : []) as Condition[];
          const t = now();
          const avail = available >= replicas - maxUnavailable;
          conds = setCondition(conds, {
            type: 'Available',
            status: avail ? 'True' : 'False',
            reason: avail ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
            message: avail ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
            lastUpdateTime: t,
          });
          const complete = updated === replicas && total === replicas && available === replicas;
          conds = setCondition(conds, {
            type: 'Progressing',
            status: 'True',
            reason: complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
            message: complete ? `ReplicaSet "${name}" has successfully progressed.` : `ReplicaSet "${name}" is progressing.`,
            lastUpdateTime: t,
          });
          const next: Obj = {
            ...st,
            observedGeneration: o.metadata.generation ?? 1,
            replicas: total,
            updatedReplicas: updated,
            readyReplicas: ready,
            availableReplicas: available,
            unavailableReplicas: Math.max(0, total - available),
            conditions: conds,
          };
          const strip = (x: Obj): string => stableJson({ ...x, conditions: (x.conditions as Condition[] | undefined)?.map((c) => ({ ...c, lastUpdateTime: undefined })) });
          if (strip(next) === strip(st)) return false;
          o.status = next;
        },
        { subresource: 'status' },
      );
    }
  }
}
