// The objects a cross-cluster StatefulSet migration copies, stripped of what only makes sense in the source
// cluster — exactly the fields seed 003 deletes with yq, plus server-managed ones the API ignores anyway.
import type { KubeObject } from '../../kube/types.js';

const SERVER_FIELDS = ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation', 'selfLink'] as const;

function stripMeta(o: KubeObject, extra: string[]): KubeObject {
  const copy = structuredClone(o);
  const meta = copy.metadata as unknown as Record<string, unknown>;
  for (const k of [...SERVER_FIELDS, ...extra]) delete meta[k];
  delete copy.status;
  return copy;
}

/** PV: without uid, resourceVersion, annotations, finalizers, spec.claimRef, status (seed 003). */
export function copyablePv(pv: KubeObject): KubeObject {
  const copy = stripMeta(pv, ['annotations', 'finalizers']);
  if (copy.spec) delete copy.spec.claimRef;
  return copy;
}

/** PVC: without uid, resourceVersion, annotations, finalizers, status (seed 003); spec.volumeName is kept. */
export function copyablePvc(pvc: KubeObject, namespace: string): KubeObject {
  const copy = stripMeta(pvc, ['annotations', 'finalizers', 'ownerReferences']);
  copy.metadata.namespace = namespace;
  return copy;
}

/** Secret / ConfigMap: without uid and resourceVersion; owner references point at source uids, so they go too. */
export function copyableConfig(o: KubeObject, namespace: string): KubeObject {
  const copy = stripMeta(o, ['ownerReferences']);
  copy.metadata.namespace = namespace;
  return copy;
}

/**
 * The destination StatefulSet: the source's spec, in the destination namespace, with no replicas yet and its
 * ordinals starting past the end, so it owns no ordinal until the first step hands one over.
 */
export function destinationStatefulSet(src: KubeObject, namespace: string): KubeObject {
  const copy = stripMeta(src, ['ownerReferences', 'annotations', 'finalizers']);
  copy.metadata.namespace = namespace;
  const spec = (copy.spec ?? {}) as Record<string, unknown>;
  const total = Number((src.spec as { replicas?: number } | undefined)?.replicas ?? 1);
  const start = Number(((src.spec as { ordinals?: { start?: number } } | undefined)?.ordinals?.start) ?? 0);
  spec.replicas = 0;
  spec.ordinals = { start: start + total };
  copy.spec = spec;
  return copy;
}

/** A Service: without its cluster IPs (the destination allocates its own; a headless Service stays headless). */
export function copyableService(svc: KubeObject, namespace: string): KubeObject {
  const copy = copyableConfig(svc, namespace);
  const spec = (copy.spec ?? {}) as Record<string, unknown>;
  if (spec.clusterIP !== 'None') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  } else {
    spec.clusterIPs = ['None'];
  }
  delete spec.healthCheckNodePort;
  const ports = Array.isArray(spec.ports) ? (spec.ports as Array<Record<string, unknown>>) : [];
  for (const p of ports) delete p.nodePort;
  return copy;
}

/** The operator's custom resource: its spec and annotations (the pause key among them), no server fields. */
export function copyableOwner(cr: KubeObject, namespace: string): KubeObject {
  const copy = stripMeta(cr, ['ownerReferences', 'finalizers']);
  copy.metadata.namespace = namespace;
  const ann = copy.metadata.annotations;
  if (ann) delete ann['kubectl.kubernetes.io/last-applied-configuration'];
  return copy;
}

/** Points an object copied to the destination at the destination's copy of its owner (the uid differs per cluster). */
export function ownedBy(o: KubeObject, owner: KubeObject | undefined): KubeObject {
  const copy = structuredClone(o);
  if (!owner?.metadata.uid) {
    delete copy.metadata.ownerReferences;
    return copy;
  }
  copy.metadata.ownerReferences = [{ apiVersion: owner.apiVersion ?? '', kind: owner.kind ?? '', name: owner.metadata.name, uid: owner.metadata.uid, controller: true }];
  return copy;
}

/** A StatefulSet that moves: its name, first ordinal and size in the source before the migration. */
export interface MovingSet {
  name: string;
  start: number;
  replicas: number;
}

export type OrdinalStepKind = 'failover' | 'retain-pv' | 'scale-source' | 'copy-volumes' | 'scale-destination' | 'wait-joined';

export type MigrationStep =
  | { kind: 'pause' }
  | { kind: 'copy-config' }
  | { kind: 'create-destination' }
  | { kind: 'failover'; sts: string; ordinal: number }
  | { kind: 'retain-pv'; sts: string; ordinal: number }
  | { kind: 'scale-source'; sts: string; ordinal: number; replicas: number }
  | { kind: 'copy-volumes'; sts: string; ordinal: number }
  | { kind: 'scale-destination'; sts: string; ordinal: number; start: number; replicas: number }
  | { kind: 'wait-joined'; sts: string; ordinal: number }
  | { kind: 'verify' }
  | { kind: 'resume' };

/** The pod of an ordinal: `cache-5`. */
export function podName(sts: string, ordinal: number): string {
  return `${sts}-${ordinal}`;
}

/** A stable identifier of a step, used by the journal ("scale-source/cache-4"). */
export function stepId(s: MigrationStep): string {
  return 'ordinal' in s ? `${s.kind}/${podName(s.sts, s.ordinal)}` : s.kind;
}

/** The steps that move one ordinal, in order (seed 003). */
export function ordinalSteps(set: MovingSet, k: number): MigrationStep[] {
  const end = set.start + set.replicas;
  return [
    { kind: 'failover', sts: set.name, ordinal: k },
    { kind: 'retain-pv', sts: set.name, ordinal: k },
    { kind: 'scale-source', sts: set.name, ordinal: k, replicas: k - set.start },
    { kind: 'copy-volumes', sts: set.name, ordinal: k },
    { kind: 'scale-destination', sts: set.name, ordinal: k, start: k, replicas: end - k },
    { kind: 'wait-joined', sts: set.name, ordinal: k },
  ];
}

/**
 * Every step of moving each set's ordinals [start, start+n) from source to destination, highest ordinal first
 * (seed 003): the source keeps {start..k-1}, the destination takes {k..start+n-1}, so at most one pod of each
 * identity runs. Sets move one after the other, in the order given.
 */
export function migrationSteps(sets: MovingSet[]): MigrationStep[] {
  const steps: MigrationStep[] = [{ kind: 'pause' }, { kind: 'copy-config' }, { kind: 'create-destination' }];
  for (const set of sets) {
    for (let k = set.start + set.replicas - 1; k >= set.start; k--) steps.push(...ordinalSteps(set, k));
  }
  steps.push({ kind: 'verify' }, { kind: 'resume' });
  return steps;
}
