// The Kubernetes objects migrate reads and writes on either cluster, and what it needs beyond get/list/patch/delete:
// create (idempotent: an object that already exists is returned as it is) and "what the pod template references"
// (the Secrets and ConfigMaps a StatefulSet's pods cannot start without).
import type { KubeError } from '../../errors.js';
import { resourceName, resourcePath, type KubeClient } from '../../kube/client.js';
import type { KubeObject, ResourceRef } from '../../kube/types.js';
import { RES } from '../../kube/resources.js';

export { RES };

/** A created object, remembered in the journal so that --abort deletes exactly what migrate made. */
export interface CreatedRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespace?: string;
  name: string;
}

export function refOf(res: ResourceRef, namespace: string | undefined, name: string): CreatedRef {
  return { group: res.group, version: res.version, plural: res.plural, kind: res.kind, namespace: res.namespaced ? namespace : undefined, name };
}

export function resourceOf(c: CreatedRef): ResourceRef {
  return { group: c.group, version: c.version, plural: c.plural, kind: c.kind, namespaced: c.namespace !== undefined };
}

/** Creates the object unless it exists; says which. */
export async function ensureCreated(kube: KubeClient, res: ResourceRef, namespace: string | undefined, body: KubeObject, opts: { dryRun?: boolean } = {}): Promise<{ object: KubeObject; created: boolean }> {
  const name = body.metadata.name;
  const existing = await kube.get(res, namespace, name);
  if (existing) return { object: existing, created: false };
  try {
    const object = await kube.request<KubeObject>({
      method: 'POST', path: resourcePath(res, namespace), query: { fieldManager: 'kubectl-redis', dryRun: opts.dryRun ? 'All' : undefined },
      body: { apiVersion: res.group ? `${res.group}/${res.version}` : res.version, kind: res.kind, ...body },
      call: { verb: 'create', resource: resourceName(res), namespace: res.namespaced ? namespace : undefined, name },
    });
    return { object, created: true };
  } catch (e) {
    if ((e as KubeError).statusCode !== 409) throw e;
    const now = await kube.get(res, namespace, name);
    if (!now) throw e;
    return { object: now, created: false };
  }
}

interface PodSpecShape {
  containers?: ContainerShape[];
  initContainers?: ContainerShape[];
  volumes?: Array<{ secret?: { secretName?: string }; configMap?: { name?: string }; projected?: { sources?: Array<{ secret?: { name?: string }; configMap?: { name?: string } }> } }>;
  imagePullSecrets?: Array<{ name?: string }>;
}
interface ContainerShape {
  env?: Array<{ valueFrom?: { secretKeyRef?: { name?: string; optional?: boolean }; configMapKeyRef?: { name?: string; optional?: boolean } } }>;
  envFrom?: Array<{ secretRef?: { name?: string }; configMapRef?: { name?: string } }>;
}

/** The Secrets and ConfigMaps a StatefulSet's pod template names (env, envFrom, volumes, pull secrets). */
export function templateReferences(sts: KubeObject): { secrets: string[]; configMaps: string[] } {
  const spec = ((sts.spec as { template?: { spec?: PodSpecShape } } | undefined)?.template?.spec) ?? {};
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
      if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
    }
    for (const f of c.envFrom ?? []) {
      if (f.secretRef?.name) secrets.add(f.secretRef.name);
      if (f.configMapRef?.name) configMaps.add(f.configMapRef.name);
    }
  }
  for (const v of spec.volumes ?? []) {
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
    if (v.configMap?.name) configMaps.add(v.configMap.name);
    for (const s of v.projected?.sources ?? []) {
      if (s.secret?.name) secrets.add(s.secret.name);
      if (s.configMap?.name) configMaps.add(s.configMap.name);
    }
  }
  for (const p of spec.imagePullSecrets ?? []) if (p.name) secrets.add(p.name);
  return { secrets: [...secrets].sort(), configMaps: [...configMaps].sort() };
}

/** The template's pod labels. */
export function templateLabels(sts: KubeObject): Record<string, string> {
  return ((sts.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template?.metadata?.labels) ?? {};
}

/** A Service whose selector picks the pods of a template (every selector label matches). */
export function selects(svc: KubeObject, labels: Record<string, string>): boolean {
  const sel = (svc.spec as { selector?: Record<string, string> } | undefined)?.selector ?? {};
  const keys = Object.keys(sel);
  return keys.length > 0 && keys.every((k) => labels[k] === sel[k]);
}

/** The claims of one pod of a StatefulSet: `<template>-<sts>-<ordinal>` per volumeClaimTemplate. */
export function claimNames(sts: KubeObject, ordinal: number): string[] {
  const vcts = ((sts.spec as { volumeClaimTemplates?: Array<{ metadata?: { name?: string } }> } | undefined)?.volumeClaimTemplates) ?? [];
  return vcts.map((v) => `${v.metadata?.name ?? ''}-${sts.metadata.name}-${ordinal}`);
}

/** The storage classes a StatefulSet's claims use (undefined = the cluster's default class). */
export function claimClasses(sts: KubeObject): Array<string | undefined> {
  const vcts = ((sts.spec as { volumeClaimTemplates?: Array<{ spec?: { storageClassName?: string } }> } | undefined)?.volumeClaimTemplates) ?? [];
  return vcts.map((v) => v.spec?.storageClassName);
}

export interface StsShape {
  replicas?: number;
  ordinals?: { start?: number };
  persistentVolumeClaimRetentionPolicy?: { whenScaled?: string; whenDeleted?: string };
}

export function stsRange(sts: KubeObject | undefined): { start: number; replicas: number } | undefined {
  if (!sts) return undefined;
  const s = (sts.spec ?? {}) as StsShape;
  return { start: s.ordinals?.start ?? 0, replicas: s.replicas ?? 1 };
}

interface PodShape {
  status?: { phase?: string; podIP?: string; conditions?: Array<{ type: string; status: string }> };
  metadata: { deletionTimestamp?: unknown };
}

export function podRunning(p: KubeObject | undefined): boolean {
  const s = (p as PodShape | undefined)?.status;
  return Boolean(p && !p.metadata.deletionTimestamp && s?.phase === 'Running' && s.podIP && (s.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'));
}

export function podIp(p: KubeObject | undefined): string | undefined {
  return (p as PodShape | undefined)?.status?.podIP || undefined;
}
