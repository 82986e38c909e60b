// The disruption controller (pkg/controller/disruption): PodDisruptionBudget status. For maxUnavailable and for a
// percentage minAvailable the expected count comes from the scale of the pods' controllers, as the real one does.
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { matchesLabelSelector, type LabelSelector } from '../core/selectors.js';
import { controllerOf, isPodReady, isTerminating, mutate, obj, scaled, setCondition, stableJson, type Condition, type Obj } from './util.js';

const PDB = 'poddisruptionbudgets.policy';
/** DeletionTimeout of the real controller: a disrupted pod not deleted within it counts again. */
const DISRUPTED_TTL_MS = 2 * 60 * 1000;

export class DisruptionController {
  constructor(private readonly ctx: ClusterContext) {}

  pass(): void {
    const store = this.ctx.store;
    for (const pdb of store.list(PDB).items) {
      if (isTerminating(pdb)) continue;
      const ns = pdb.metadata.namespace;
      const spec = obj(pdb.spec);
      const sel = spec.selector as LabelSelector | undefined;
      const pods = store.list('pods', ns).items.filter((p) => matchesLabelSelector(sel, p.metadata.labels));
      const status = obj(pdb.status);
      const disrupted: Record<string, string> = {};
      const t = Date.now();
      for (const [name, when] of Object.entries((status.disruptedPods ?? {}) as Record<string, string>)) {
        const p = pods.find((x) => x.metadata.name === name);
        if (!p || isTerminating(p)) continue;
        if (t - Date.parse(when) > DISRUPTED_TTL_MS) continue;
        disrupted[name] = when;
      }
      let expected = pods.length;
      let desired = 0;
      let failure: string | undefined;
      const percentMin = typeof spec.minAvailable === 'string' && spec.minAvailable.endsWith('%');
      if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
        const r = this.expectedFromControllers(pods);
        if (typeof r === 'string') failure = r;
        else {
          expected = r;
          desired = Math.max(0, expected - scaled(spec.maxUnavailable, expected, true));
        }
      } else if (spec.minAvailable !== undefined && spec.minAvailable !== null) {
        if (percentMin) {
          const r = this.expectedFromControllers(pods);
          if (typeof r === 'string') failure = r;
          else {
            expected = r;
            desired = scaled(spec.minAvailable, expected, true);
          }
        } else {
          desired = scaled(spec.minAvailable, expected, true);
        }
      }
      mutate(
        store,
        PDB,
        ns,
        pdb.metadata.name,
        (o) => {
          if (o.metadata.uid !== pdb.metadata.uid) return false;
          const st = obj(o.status);
          // eviction may have added a disrupted pod since this pass read the PDB: keep it
          const keep = { ...disrupted };
          for (const [k, v] of Object.entries((st.disruptedPods ?? {}) as Record<string, string>)) if (!(k in (status.disruptedPods as Obj | undefined ?? {}))) keep[k] = v;
          const healthyNow = pods.filter((p) => !isTerminating(p) && isPodReady(p) && !(p.metadata.name in keep)).length;
          const allowedNow = failure ? 0 : Math.max(0, healthyNow - desired);
          let conds = (Array.isArray(st.conditions) ? st.conditions : []) as Condition[];
          conds = setCondition(conds, failure
            ? { type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message: failure, observedGeneration: o.metadata.generation } as Condition
            : { type: 'DisruptionAllowed', status: allowedNow > 0 ? 'True' : 'False', reason: allowedNow > 0 ? 'SufficientPods' : 'InsufficientPods', message: '', observedGeneration: o.metadata.generation } as Condition);
          const next: Obj = { ...st, observedGeneration: o.metadata.generation ?? 1, expectedPods: failure ? 0 : expected, currentHealthy: healthyNow, desiredHealthy: failure ? 0 : desired, disruptionsAllowed: allowedNow, conditions: conds };
          if (Object.keys(keep).length > 0) next.disruptedPods = keep;
          else delete next.disruptedPods;
          if (stableJson(next) === stableJson(st)) return false;
          o.status = next;
        },
        { subresource: 'status' },
      );
    }
  }

  /** Sum of spec.replicas of the distinct controllers of the pods (getExpectedScale); a string on failure. */
  private expectedFromControllers(pods: KObject[]): number | string {
    const store = this.ctx.store;
    const seen = new Map<string, number>();
    for (const p of pods) {
      const ref = controllerOf(p);
      if (!ref) return `found no controllers for pod "${p.metadata.name}"`;
      if (seen.has(ref.uid)) continue;
      const ns = p.metadata.namespace;
      let replicas: number | undefined;
      if (ref.kind === 'StatefulSet') replicas = this.replicasOf(store.get('statefulsets.apps', ns, ref.name), ref.uid);
      else if (ref.kind === 'ReplicaSet') {
        const rs = store.get('replicasets.apps', ns, ref.name);
        const dref = rs ? controllerOf(rs) : undefined;
        if (dref?.kind === 'Deployment') {
          if (seen.has(dref.uid)) continue;
          const d = this.replicasOf(store.get('deployments.apps', ns, dref.name), dref.uid);
          if (d !== undefined) {
            seen.set(dref.uid, d);
            seen.set(ref.uid, 0);
            continue;
          }
        }
        replicas = this.replicasOf(rs, ref.uid);
      } else if (ref.kind === 'ReplicationController') replicas = this.replicasOf(store.get('replicationcontrollers', ns, ref.name), ref.uid);
      else if (ref.kind === 'Deployment') replicas = this.replicasOf(store.get('deployments.apps', ns, ref.name), ref.uid);
      if (replicas === undefined) return `${ref.kind} ${ref.name} has no scale subresource the disruption controller understands`;
      seen.set(ref.uid, replicas);
    }
    let sum = 0;
    for (const v of seen.values()) sum += v;
    return sum;
  }

  private replicasOf(o: KObject | undefined, uid: string): number | undefined {
    if (!o || o.metadata.uid !== uid) return undefined;
    const r = obj(o.spec).replicas;
    return typeof r === 'number' ? r : 1;
  }
}
