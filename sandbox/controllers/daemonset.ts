// DaemonSet -> one pod per eligible node (kubernetes/kubernetes v1.32 pkg/controller/daemon/daemon_controller.go,
// reduced): a node is eligible when it matches the template's nodeSelector / required node affinity and every
// NoSchedule/NoExecute taint is tolerated (nodeShouldRunDaemonPod, with the tolerations the controller adds itself:
// pkg/controller/daemon/util/daemonset_util.go AddOrUpdateDaemonPodTolerations, so a cordoned or not-ready node keeps
// its daemon pods). Each pod is pinned to its node by a required node affinity on metadata.name (ReplaceDaemonSetPod-
// NodeNameNodeAffinity) and bound by the scheduler as any pod. A deleted or failed pod is made again; pods on nodes
// no longer eligible are deleted. A template change rolls pods one node at a time (RollingUpdate, maxUnavailable 1).
// Status carries what `kubectl rollout status ds/NAME` reads (kubectl pkg/polymorphichelpers/rollout_status.go
// DaemonSetStatusViewer: observedGeneration, desired/updated/available).
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { applyDefaults } from '../apiserver/defaults.js';
import { tolerates, type Taint, type Toleration } from './scheduler.js';
import { controllerOf, deleteQuietly, isPodAvailable, isPodReady, isTerminating, mutate, obj, ownerRef, podPhase, safeHash, stableJson, type Obj } from './util.js';

const DS = 'daemonsets.apps';

/** The tolerations every daemon pod gets (daemonset_util.go AddOrUpdateDaemonPodTolerations, v1.32). */
export const DAEMON_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

interface DaemonSpec {
  selector?: { matchLabels?: Record<string, string> };
  minReadySeconds?: number;
  template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Obj };
}

interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}

function requirementMatches(value: string | undefined, r: Requirement): boolean {
  switch (r.operator) {
    case 'In':
      return value !== undefined && (r.values ?? []).includes(value);
    case 'NotIn':
      return value === undefined || !(r.values ?? []).includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    default:
      return false;
  }
}

/** nodeShouldRunDaemonPod: selector, required affinity, taints (with the daemon tolerations). */
export function shouldRun(node: KObject, podSpec: Obj): boolean {
  const labels = node.metadata.labels ?? {};
  const sel = (podSpec.nodeSelector ?? {}) as Record<string, string>;
  if (Object.entries(sel).some(([k, v]) => labels[k] !== v)) return false;
  const terms = (obj(obj(obj(podSpec.affinity).nodeAffinity).requiredDuringSchedulingIgnoredDuringExecution).nodeSelectorTerms ?? []) as Array<{ matchExpressions?: Requirement[] }>;
  if (terms.length > 0 && !terms.some((t) => (t.matchExpressions ?? []).every((r) => requirementMatches(labels[r.key], r)))) return false;
  const tolerations = [...((podSpec.tolerations ?? []) as Toleration[]), ...DAEMON_TOLERATIONS];
  const taints = (obj(node.spec).taints ?? []) as Taint[];
  return taints.every((t) => (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute') || tolerates(tolerations, t));
}

function nodeOf(p: KObject): string | undefined {
  const pinned = ((obj(obj(obj(obj(p.spec).affinity).nodeAffinity).requiredDuringSchedulingIgnoredDuringExecution).nodeSelectorTerms ?? []) as Array<{ matchFields?: Requirement[] }>)
    .flatMap((t) => t.matchFields ?? [])
    .find((f) => f.key === 'metadata.name')?.values?.[0];
  return (obj(p.spec).nodeName as string | undefined) ?? pinned;
}

export class DaemonSetController {
  constructor(private readonly ctx: ClusterContext) {}

  pass(): void {
    const store = this.ctx.store;
    const nodes = store.list('nodes').items;
    const allPods = store.list('pods').items;
    for (const ds of store.list(DS).items) {
      if (isTerminating(ds)) continue;
      const ns = ds.metadata.namespace;
      const spec = (ds.spec ?? {}) as DaemonSpec;
      const template = spec.template ?? {};
      const hash = safeHash(stableJson(template));
      const generation = ds.metadata.generation ?? 1;
      const owned = allPods.filter((p) => p.metadata.namespace === ns && controllerOf(p)?.uid === ds.metadata.uid);
      const eligible = nodes.filter((n) => shouldRun(n, obj(template.spec)));
      const eligibleNames = new Set(eligible.map((n) => n.metadata.name));
      let rolling = false;
      for (const p of owned) {
        if (isTerminating(p)) continue;
        const node = nodeOf(p);
        // failed daemon pods are deleted and made again (daemon_controller.go podsShouldBeOnNode); misscheduled go
        if (podPhase(p) === 'Failed' || !node || !eligibleNames.has(node)) deleteQuietly(store, 'pods', ns, p.metadata.name, p.metadata.uid);
      }
      for (const n of eligible) {
        const name = n.metadata.name;
        const here = owned.filter((p) => !isTerminating(p) && podPhase(p) !== 'Failed' && nodeOf(p) === name);
        const terminating = owned.some((p) => isTerminating(p) && nodeOf(p) === name);
        if (here.length === 0) {
          if (!terminating) this.createPod(ds, template, hash, generation, name);
          continue;
        }
        // RollingUpdate, maxUnavailable 1: replace one outdated pod at a time, once the others are available
        const old = here.find((p) => p.metadata.labels?.['controller-revision-hash'] !== hash);
        if (old && !rolling) {
          const othersAvailable = owned.filter((p) => p !== old && !isTerminating(p)).every((p) => isPodAvailable(p, spec.minReadySeconds ?? 0));
          if (othersAvailable) {
            rolling = true;
            deleteQuietly(store, 'pods', ns, old.metadata.name, old.metadata.uid);
          }
        }
        for (const extra of here.slice(1)) deleteQuietly(store, 'pods', ns, extra.metadata.name, extra.metadata.uid);
      }
      const live = store.list('pods', ns).items.filter((p) => controllerOf(p)?.uid === ds.metadata.uid && !isTerminating(p));
      const scheduled = live.filter((p) => obj(p.spec).nodeName);
      const onEligible = scheduled.filter((p) => eligibleNames.has(String(obj(p.spec).nodeName)));
      const updated = onEligible.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash);
      const available = onEligible.filter((p) => isPodAvailable(p, spec.minReadySeconds ?? 0)).length;
      const next: Obj = {
        currentNumberScheduled: onEligible.length,
        numberMisscheduled: scheduled.length - onEligible.length,
        desiredNumberScheduled: eligible.length,
        numberReady: onEligible.filter((p) => isPodReady(p)).length,
        observedGeneration: generation,
        updatedNumberScheduled: updated.length,
        numberAvailable: available,
        ...(eligible.length - available > 0 ? { numberUnavailable: eligible.length - available } : {}),
      };
      mutate(
        store,
        DS,
        ns,
        ds.metadata.name,
        (o) => {
          const st = obj(o.status);
          const merged = { ...st, ...next };
          if (!('numberUnavailable' in next)) delete merged.numberUnavailable;
          if (stableJson(merged) === stableJson(st)) return false;
          o.status = merged;
        },
        { subresource: 'status' },
      );
    }
  }

  private createPod(ds: KObject, template: NonNullable<DaemonSpec['template']>, hash: string, generation: number, node: string): void {
    const podSpec = structuredClone(template.spec ?? {}) as Obj;
    const aff = obj(podSpec.affinity);
    const na = obj(aff.nodeAffinity);
    // ReplaceDaemonSetPodNodeNameNodeAffinity: the pod is pinned to its node by metadata.name
    podSpec.affinity = {
      ...aff,
      nodeAffinity: { ...na, requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] } },
    };
    const own = (podSpec.tolerations ?? []) as Toleration[];
    podSpec.tolerations = [...own, ...DAEMON_TOLERATIONS.filter((t) => !own.some((o) => o.key === t.key && o.effect === t.effect))];
    const pod: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: '',
        generateName: `${ds.metadata.name}-`,
        namespace: ds.metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}), 'controller-revision-hash': hash, 'pod-template-generation': String(generation) },
        ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        ownerReferences: [ownerRef(ds)],
      },
      spec: podSpec,
      status: { phase: 'Pending' },
    };
    applyDefaults('pods', pod, { create: true });
    this.ctx.store.create('pods', pod);
  }
}

/**
 * kube-proxy as kubeadm installs it (kube-system, every node, tolerates everything: `operator: Exists`), the
 * DaemonSet every real node runs. Its binary is not on this machine, so the container idles; hostNetwork is left out
 * because the sandbox's kubelet gives every pod its own IP.
 */
export function kubeProxyDaemonSet(kubeMinor: number): KObject {
  const labels = { 'k8s-app': 'kube-proxy' };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'kube-proxy', namespace: 'kube-system', labels },
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          priorityClassName: 'system-node-critical',
          serviceAccountName: 'kube-proxy',
          tolerations: [{ operator: 'Exists' }],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          containers: [{ name: 'kube-proxy', image: `registry.k8s.io/kube-proxy:v1.${kubeMinor}.0`, command: ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf', '--hostname-override=$(NODE_NAME)'], securityContext: { privileged: true } }],
        },
      },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
    },
  };
}
