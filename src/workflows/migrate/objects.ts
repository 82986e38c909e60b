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

export type MigrationStep =
  | { kind: 'preflight' }
  | { kind: 'pause' }
  | { kind: 'copy-config' }
  | { kind: 'create-destination' }
  | { kind: 'failover'; ordinal: number }
  | { kind: 'retain-pv'; ordinal: number }
  | { kind: 'scale-source'; ordinal: number; replicas: number }
  | { kind: 'copy-volumes'; ordinal: number }
  | { kind: 'scale-destination'; ordinal: number; start: number; replicas: number }
  | { kind: 'wait-joined'; ordinal: number }
  | { kind: 'verify' }
  | { kind: 'resume' };

/** A stable identifier of a step, used by the journal ("scale-source/4"). */
export function stepId(s: MigrationStep): string {
  return 'ordinal' in s ? `${s.kind}/${s.ordinal}` : s.kind;
}

/**
 * Every step of moving ordinals [start, start+n) from source to destination, highest ordinal first (seed 003):
 * the source keeps {start..k-1}, the destination takes {k..start+n-1}, so at most one pod of each identity runs.
 */
export function migrationSteps(n: number, start = 0): MigrationStep[] {
  const steps: MigrationStep[] = [{ kind: 'preflight' }, { kind: 'pause' }, { kind: 'copy-config' }, { kind: 'create-destination' }];
  for (let k = start + n - 1; k >= start; k--) {
    steps.push(
      { kind: 'failover', ordinal: k },
      { kind: 'retain-pv', ordinal: k },
      { kind: 'scale-source', ordinal: k, replicas: k - start },
      { kind: 'copy-volumes', ordinal: k },
      { kind: 'scale-destination', ordinal: k, start: k, replicas: start + n - k },
      { kind: 'wait-joined', ordinal: k },
    );
  }
  steps.push({ kind: 'verify' }, { kind: 'resume' });
  return steps;
}
