// The one patch helper: JSON merge patch (the default, as kubectl annotate/label send), strategic merge patch (built-in
// types only), or JSON patch (RFC 6902: test-and-set on a field). client-node 1.4 defaults to JSON patch, so typed
// calls must pass patchOptions(kind); raw calls here send the same Content-Type.
import * as k8s from '@kubernetes/client-node';
import type { KubeObject, ResourceRef } from './types.js';
import { resourceName, resourcePath, type KubeClient } from './client.js';

export type PatchKind = 'merge' | 'strategic' | 'json';

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  path: string;
  value?: unknown;
  from?: string;
}

const STRATEGY: Record<PatchKind, k8s.PatchStrategy> = {
  merge: k8s.PatchStrategy.MergePatch,
  strategic: k8s.PatchStrategy.StrategicMergePatch,
  json: k8s.PatchStrategy.JsonPatch,
};

export function patchContentType(kind: PatchKind): string {
  return STRATEGY[kind];
}

/** The second argument for a typed client-node patch call (e.g. core.patchNode(req, patchOptions('merge'))). */
export function patchOptions(kind: PatchKind): ReturnType<typeof k8s.setHeaderOptions> {
  return k8s.setHeaderOptions('Content-Type', STRATEGY[kind]);
}

/** RFC 6901 escaping of one path segment, e.g. an annotation key with '/' in it. */
export function jsonPointerSegment(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export interface PatchOptions {
  kind?: PatchKind;
  subresource?: 'status' | 'scale';
  /** Server-side dry run: the API validates and answers, nothing is stored. */
  dryRun?: boolean;
  /**
   * Safe to send again after a transient failure: the patch sets absolute values (a label, replicas), so applying it
   * twice is applying it once. A merge patch carrying metadata.resourceVersion is guarded and counts as safe too.
   */
  idempotent?: boolean;
}

/** A merge patch that names the resourceVersion it was made from: the server refuses it (409) if the object moved. */
export function isVersionGuarded(patch: Record<string, unknown> | JsonPatchOp[]): boolean {
  if (Array.isArray(patch)) return false;
  const meta = patch.metadata as { resourceVersion?: unknown } | undefined;
  return typeof meta?.resourceVersion === 'string' && meta.resourceVersion !== '';
}

/** Patches one object and returns it as the server stored it. */
export async function patchObject(
  kube: KubeClient,
  res: ResourceRef,
  namespace: string | undefined,
  name: string,
  patch: Record<string, unknown> | JsonPatchOp[],
  opts: PatchOptions = {},
): Promise<KubeObject> {
  const kind = opts.kind ?? (Array.isArray(patch) ? 'json' : 'merge');
  if (kind === 'json' && !Array.isArray(patch)) throw new TypeError('a JSON patch is a list of operations');
  if (kind !== 'json' && Array.isArray(patch)) throw new TypeError(`a ${kind} patch is an object, not a list of operations`);
  return kube.request<KubeObject>({
    method: 'PATCH',
    path: resourcePath(res, namespace, name, opts.subresource),
    query: { fieldManager: 'kubectl-redis', dryRun: opts.dryRun ? 'All' : undefined },
    body: patch,
    contentType: patchContentType(kind),
    idempotent: opts.idempotent === true || (kind === 'merge' && isVersionGuarded(patch)),
    call: { verb: 'patch', resource: `${resourceName(res)}${opts.subresource ? `/${opts.subresource}` : ''}`, namespace: res.namespaced ? namespace : undefined, name },
  });
}
