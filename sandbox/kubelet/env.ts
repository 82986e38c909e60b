// A container's environment as the kubelet builds it: env (with $(VAR) expansion), valueFrom (fieldRef,
// secretKeyRef, configMapKeyRef, resourceFieldRef) and envFrom; and $(VAR) expansion of command and args.
import type { KObject, Store } from '../core/store.js';

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    resourceFieldRef?: { resource: string };
  };
}

export interface ContainerSpec {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: Array<{ prefix?: string; configMapRef?: { name: string }; secretRef?: { name: string } }>;
  workingDir?: string;
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: Obj;
}

export interface Probe {
  exec?: { command?: string[] };
  tcpSocket?: { port: number | string; host?: string };
  httpGet?: { port: number | string; path?: string };
  grpc?: { port: number };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

/** Replace $(VAR) with its value when VAR is defined; $$(VAR) escapes (as the kubelet's expansion does). */
export function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && Object.prototype.hasOwnProperty.call(env, name) ? env[name] : m;
  });
}

function field(pod: KObject, path: string): string {
  const meta = pod.metadata;
  const spec = o(pod.spec);
  const status = o(pod.status);
  const label = path.match(/^metadata\.(labels|annotations)\['(.+)'\]$/);
  if (label) return (label[1] === 'labels' ? meta.labels : meta.annotations)?.[label[2]] ?? '';
  switch (path) {
    case 'metadata.name':
      return meta.name;
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'spec.nodeName':
      return String(spec.nodeName ?? '');
    case 'spec.serviceAccountName':
      return String(spec.serviceAccountName ?? '');
    case 'status.hostIP':
      return String(status.hostIP ?? '');
    case 'status.podIP':
    case 'status.podIPs':
      return String(status.podIP ?? '');
    default:
      return '';
  }
}

function dataOf(store: Store, kind: 'secrets' | 'configmaps', ns: string | undefined, name: string): Record<string, string> | undefined {
  const x = store.get(kind, ns, name);
  if (!x) return undefined;
  const out: Record<string, string> = {};
  if (kind === 'secrets') {
    for (const [k, v] of Object.entries(o(x.data))) out[k] = Buffer.from(String(v), 'base64').toString('utf8');
    for (const [k, v] of Object.entries(o(x.stringData))) out[k] = String(v);
  } else {
    for (const [k, v] of Object.entries(o(x.data))) out[k] = String(v);
    for (const [k, v] of Object.entries(o(x.binaryData))) out[k] = Buffer.from(String(v), 'base64').toString('utf8');
  }
  return out;
}

/** The container's own variables (without PATH/HOME, which the kubelet adds). Throws when a required ref is missing. */
export function containerEnv(store: Store, pod: KObject, c: ContainerSpec): Record<string, string> {
  const ns = pod.metadata.namespace;
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const data = from.configMapRef ? dataOf(store, 'configmaps', ns, from.configMapRef.name) : from.secretRef ? dataOf(store, 'secrets', ns, from.secretRef.name) : undefined;
    for (const [k, v] of Object.entries(data ?? {})) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = expand(e.value, env);
      continue;
    }
    const vf = e.valueFrom;
    if (!vf) {
      env[e.name] = '';
      continue;
    }
    if (vf.fieldRef) env[e.name] = field(pod, vf.fieldRef.fieldPath);
    else if (vf.secretKeyRef || vf.configMapKeyRef) {
      const ref = (vf.secretKeyRef ?? vf.configMapKeyRef) as { name: string; key: string; optional?: boolean };
      const data = dataOf(store, vf.secretKeyRef ? 'secrets' : 'configmaps', ns, ref.name);
      const v = data?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw new Error(`couldn't find key ${ref.key} in ${vf.secretKeyRef ? 'Secret' : 'ConfigMap'} ${ns}/${ref.name}`);
      }
      env[e.name] = v;
    } else if (vf.resourceFieldRef) env[e.name] = vf.resourceFieldRef.resource.startsWith('limits.memory') ? '17179869184' : '4';
  }
  return env;
}
