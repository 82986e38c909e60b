// Pieces every adapter uses: resource refs, our audit annotation keys, version comparison, operator detection.
import type { KubeObject, KubeReader } from '../kube/types.js';
import type { AuditKeys } from './pause.js';
import type { OperatorInfo, TargetAdapter } from './types.js';
import { RES } from '../kube/resources.js';

export const STATEFULSETS = RES.statefulsets;
export const DEPLOYMENTS = RES.deployments;

/** Our own annotations on a paused object: who paused it, when, why, until when, and an operator's old replicas. */
export const AUDIT_KEYS: AuditKeys = {
  by: 'redis.kubectl.io/paused-by',
  at: 'redis.kubectl.io/paused-at',
  reason: 'redis.kubectl.io/paused-reason',
  until: 'redis.kubectl.io/paused-until',
  operatorReplicas: 'redis.kubectl.io/paused-operator-replicas',
};

/** Compare dotted versions ("v0.19.1", "0.19", "v3.3.2-rc1"); pre-release suffixes are ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.replace(/^v/i, '').split(/[-+]/)[0].split('.').map((x) => Number.parseInt(x, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** The tag of an image reference, when it looks like a version. */
export function imageVersion(image: string): string | undefined {
  const tag = image.split('@')[0].split('/').pop()?.split(':')[1];
  return tag && /^v?\d+(\.\d+)*/.test(tag) ? tag : undefined;
}

interface DeploymentShape {
  spec?: { replicas?: number; template?: { spec?: { containers?: Array<{ image?: string }> } } };
  status?: { readyReplicas?: number };
}

/** Find the operator of an adapter among Deployments (every namespace; an unreadable list means "unknown"). */
export async function detectOperator(reader: KubeReader, adapter: Pick<TargetAdapter, 'operatorImages'>): Promise<OperatorInfo> {
  if (adapter.operatorImages.length === 0) return { present: false, running: false };
  let deployments: KubeObject[];
  try {
    deployments = await reader.list(DEPLOYMENTS, undefined);
  } catch {
    return { present: false, running: false };
  }
  for (const d of deployments) {
    const s = d as unknown as DeploymentShape;
    const image = (s.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '').find((i) => adapter.operatorImages.some((re) => re.test(i)));
    if (!image) continue;
    const replicas = s.spec?.replicas ?? 1;
    const ready = s.status?.readyReplicas ?? 0;
    return {
      present: true, running: replicas > 0 && ready > 0, deployment: `${d.metadata.namespace}/${d.metadata.name}`,
      replicas, readyReplicas: ready, image, version: imageVersion(image),
    };
  }
  return { present: false, running: false };
}

export function ownedByController(o: KubeObject): boolean {
  return (o.metadata.ownerReferences ?? []).some((r) => r.controller);
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface PodTemplateShape {
  spec?: { template?: { spec?: { containers?: Array<{ name?: string; env?: EnvVar[]; image?: string; ports?: Array<{ name?: string; containerPort?: number }> }> } } };
}

/** The Secret and key a StatefulSet's containers (or the one named `container`) read a password env var from
 * (charts use REDIS_PASSWORD). */
export function passwordSecretFromEnv(sts: KubeObject, envNames: string[], container?: string): { name: string; key: string } | undefined {
  for (const c of (sts as unknown as PodTemplateShape).spec?.template?.spec?.containers ?? []) {
    if (container !== undefined && c.name !== container) continue;
    for (const e of c.env ?? []) {
      if (envNames.includes(e.name) && e.valueFrom?.secretKeyRef) return { name: e.valueFrom.secretKeyRef.name, key: e.valueFrom.secretKeyRef.key };
    }
  }
  return undefined;
}

/**
 * The port a StatefulSet's pods serve under one of these port names (the first name that any container declares
 * wins), else the first of these env vars that holds a number: where a chart puts its `containerPorts` value.
 */
export function declaredPort(sts: KubeObject, portNames: string[], envNames: string[] = []): number | undefined {
  const containers = (sts as unknown as PodTemplateShape).spec?.template?.spec?.containers ?? [];
  for (const name of portNames) {
    for (const c of containers) {
      const p = c.ports?.find((x) => x.name === name)?.containerPort;
      if (typeof p === 'number' && p > 0) return p;
    }
  }
  for (const name of envNames) {
    for (const c of containers) {
      const v = Number(c.env?.find((e) => e.name === name)?.value);
      if (Number.isInteger(v) && v > 0) return v;
    }
  }
  return undefined;
}

/** The literal value of the first of these env vars any container sets. */
export function envValue(sts: KubeObject, names: string[]): string | undefined {
  const containers = (sts as unknown as PodTemplateShape).spec?.template?.spec?.containers ?? [];
  for (const name of names) for (const c of containers) {
    const v = c.env?.find((e) => e.name === name)?.value;
    if (v) return v;
  }
  return undefined;
}

export function containerNames(sts: KubeObject): string[] {
  return ((sts as unknown as PodTemplateShape).spec?.template?.spec?.containers ?? []).map((c) => c.name ?? '');
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
