// Which pods a drain evicts, as k8s.io/kubectl/pkg/drain decides it: a list of small filters, each saying
// "evict or not" plus an optional warning or error; the caller groups the messages. Pure: plain pod objects in.
import type { KubeObject } from '../../kube/types.js';

export interface DrainOptions {
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  /** evict pods that declare no controller (kubectl drain --force) */
  force: boolean;
  /** pods deleted longer ago than this are skipped (kubectl --skip-wait-for-delete-timeout); 0 = never */
  skipWaitForDeleteTimeoutSeconds: number;
}

export type FilterVerdict =
  | { evict: true; warning?: string }
  | { evict: false; warning?: string; error?: string };

export type PodFilter = (pod: KubeObject, opts: DrainOptions, nowMs: number) => FilterVerdict;

interface PodShape {
  spec?: { volumes?: Array<{ emptyDir?: unknown }> };
  status?: { phase?: string };
}

const finished = (pod: KubeObject): boolean => {
  const phase = (pod as PodShape).status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
};

const controllerOf = (pod: KubeObject) => pod.metadata.ownerReferences?.find((r) => r.controller);

export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

export const skipDeleted: PodFilter = (pod, opts, nowMs) => {
  const ts = pod.metadata.deletionTimestamp;
  if (ts && opts.skipWaitForDeleteTimeoutSeconds > 0) {
    const since = (nowMs - new Date(ts).getTime()) / 1000;
    if (since > opts.skipWaitForDeleteTimeoutSeconds) return { evict: false };
  }
  return { evict: true };
};

export const daemonSets: PodFilter = (pod, opts) => {
  if (controllerOf(pod)?.kind !== 'DaemonSet') return { evict: true };
  if (!opts.ignoreDaemonSets) return { evict: false, error: 'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)' };
  return { evict: false, warning: 'ignoring DaemonSet-managed Pods' };
};

export const mirrorPods: PodFilter = (pod) =>
  pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined ? { evict: false } : { evict: true };

export const localStorage: PodFilter = (pod, opts) => {
  const hasEmptyDir = ((pod as PodShape).spec?.volumes ?? []).some((v) => v.emptyDir !== undefined);
  if (!hasEmptyDir || finished(pod)) return { evict: true };
  if (!opts.deleteEmptyDirData) return { evict: false, error: 'cannot delete Pods with local storage (use --delete-emptydir-data to override)' };
  return { evict: true, warning: 'deleting Pods with local storage' };
};

export const unreplicated: PodFilter = (pod, opts) => {
  if (controllerOf(pod) || finished(pod)) return { evict: true };
  if (!opts.force) return { evict: false, error: 'cannot delete Pods that declare no controller (use --force to override)' };
  return { evict: true, warning: 'deleting Pods that declare no controller' };
};

/** In kubectl's order: the first filter that says "do not evict" decides. */
export const DRAIN_FILTERS: PodFilter[] = [skipDeleted, daemonSets, mirrorPods, localStorage, unreplicated];

export interface DrainSelection {
  evict: KubeObject[];
  /** message -> pods ("ns/name"), as kubectl groups them */
  warnings: Map<string, string[]>;
  errors: Map<string, string[]>;
  /** mirror pods of static pods ("ns/name"): a drain leaves them, the kubelet owns them */
  mirror: string[];
}

export function selectPodsToEvict(pods: KubeObject[], opts: DrainOptions, nowMs: number): DrainSelection {
  const out: DrainSelection = { evict: [], warnings: new Map(), errors: new Map(), mirror: [] };
  const note = (m: Map<string, string[]>, msg: string, pod: KubeObject) => {
    const list = m.get(msg) ?? [];
    list.push(`${pod.metadata.namespace}/${pod.metadata.name}`);
    m.set(msg, list);
  };
  for (const pod of pods) {
    let evict = true;
    for (const filter of DRAIN_FILTERS) {
      const v = filter(pod, opts, nowMs);
      if (v.warning) note(out.warnings, v.warning, pod);
      if (!v.evict) {
        if ('error' in v && v.error) note(out.errors, v.error, pod);
        if (filter === mirrorPods) out.mirror.push(`${pod.metadata.namespace}/${pod.metadata.name}`);
        evict = false;
        break;
      }
    }
    if (evict) out.evict.push(pod);
  }
  return out;
}

/** One sentence for the errors of a selection, like kubectl's "unable to drain node" message. */
export function describeDrainErrors(node: string, errors: Map<string, string[]>): string {
  const parts = [...errors.entries()].map(([msg, pods]) => `${msg}: ${pods.join(', ')}`);
  return `cannot drain node "${node}": ${parts.join('; ')}`;
}
