// Defaulting and validation as the real registry applies them, for the fields kubectl, controllers and the
// plugin read back. Not a full validation: names, namespaces and the few required fields that matter.
import type { KObject } from '../core/store.js';
import type { ResourceType } from '../core/registry.js';
import { invalid } from './status.js';

type Obj = Record<string, unknown>;

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/** Kinds whose names must be DNS-1123 labels (not subdomains). */
const LABEL_NAMED = new Set(['namespaces', 'services']);
/** Kinds that accept any path-segment name. */
const FREE_NAMED = new Set(['roles.rbac.authorization.k8s.io', 'clusterroles.rbac.authorization.k8s.io', 'rolebindings.rbac.authorization.k8s.io', 'clusterrolebindings.rbac.authorization.k8s.io']);

function obj(v: unknown): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

function ensure(o: Obj, k: string, v: unknown): void {
  if (o[k] === undefined) o[k] = v;
}

export function validateObject(t: ResourceType, key: string, o: KObject): void {
  const name = o.metadata.name;
  const causes: Array<{ field: string; message: string; reason?: string }> = [];
  if (FREE_NAMED.has(key)) {
    if (name.includes('/') || name === '.' || name === '..') causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": may not contain '/'` });
  } else if (LABEL_NAMED.has(key)) {
    if (name.length > 63 || !LABEL.test(name)) causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": ${LABEL_MSG}` });
  } else if (name.length > 253 || !SUBDOMAIN.test(name)) {
    causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": ${SUBDOMAIN_MSG}` });
  }
  if (key === 'pods') {
    const spec = obj(o.spec);
    if (!Array.isArray(spec.containers) || spec.containers.length === 0) causes.push({ field: 'spec.containers', message: 'Required value', reason: 'FieldValueRequired' });
  }
  if (key === 'statefulsets.apps' || key === 'deployments.apps' || key === 'replicasets.apps' || key === 'daemonsets.apps') {
    const spec = obj(o.spec);
    if (!spec.selector) causes.push({ field: 'spec.selector', message: 'Required value', reason: 'FieldValueRequired' });
    if (typeof spec.replicas === 'number' && spec.replicas < 0) {
      causes.push({ field: 'spec.replicas', message: `Invalid value: ${spec.replicas}: must be greater than or equal to 0` });
    }
  }
  if (causes.length > 0) throw invalid(t.kind, t.group, name, causes);
}

function imagePullPolicy(image: unknown): string {
  const s = typeof image === 'string' ? image : '';
  const last = s.split('/').pop() ?? '';
  if (s.includes('@')) return 'IfNotPresent';
  if (!last.includes(':') || last.endsWith(':latest')) return 'Always';
  return 'IfNotPresent';
}

function defaultContainer(c: Obj): void {
  ensure(c, 'terminationMessagePath', '/dev/termination-log');
  ensure(c, 'terminationMessagePolicy', 'File');
  ensure(c, 'imagePullPolicy', imagePullPolicy(c.image));
  ensure(c, 'resources', {});
  if (Array.isArray(c.ports)) for (const p of c.ports) ensure(obj(p), 'protocol', 'TCP');
  if (Array.isArray(c.env)) {
    for (const e of c.env) {
      const fr = obj(obj(e).valueFrom).fieldRef;
      if (fr) ensure(obj(fr), 'apiVersion', 'v1');
    }
  }
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    if (c[probe]) {
      const p = obj(c[probe]);
      ensure(p, 'timeoutSeconds', 1);
      ensure(p, 'periodSeconds', 10);
      ensure(p, 'successThreshold', 1);
      ensure(p, 'failureThreshold', 3);
    }
  }
}

export function defaultPodSpec(spec: Obj): void {
  ensure(spec, 'restartPolicy', 'Always');
  ensure(spec, 'terminationGracePeriodSeconds', 30);
  ensure(spec, 'dnsPolicy', 'ClusterFirst');
  ensure(spec, 'schedulerName', 'default-scheduler');
  ensure(spec, 'securityContext', {});
  for (const list of ['containers', 'initContainers']) {
    if (Array.isArray(spec[list])) for (const c of spec[list] as unknown[]) defaultContainer(obj(c));
  }
}

function defaultPod(o: KObject): void {
  const spec = obj(o.spec);
  o.spec = spec;
  defaultPodSpec(spec);
  ensure(spec, 'serviceAccountName', 'default');
  ensure(spec, 'serviceAccount', spec.serviceAccountName);
  ensure(spec, 'enableServiceLinks', true);
  ensure(spec, 'preemptionPolicy', 'PreemptLowerPriority');
  ensure(spec, 'priority', 0);
  const tolerations = Array.isArray(spec.tolerations) ? (spec.tolerations as Obj[]) : [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerations.some((t) => t.key === key && (t.effect === 'NoExecute' || t.effect === undefined))) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
  spec.tolerations = tolerations;
  const status = obj(o.status);
  o.status = status;
  ensure(status, 'phase', 'Pending');
  const containers = Array.isArray(spec.containers) ? (spec.containers as Obj[]) : [];
  const hasResources = containers.some((c) => Object.keys(obj(c.resources)).length > 0);
  ensure(status, 'qosClass', hasResources ? 'Burstable' : 'BestEffort');
}

function defaultTemplate(spec: Obj): void {
  const template = obj(spec.template);
  const tspec = obj(template.spec);
  defaultPodSpec(tspec);
  template.spec = tspec;
  const tmeta = obj(template.metadata);
  template.metadata = tmeta;
  spec.template = template;
}

let serviceIpSeq = 0;

function defaultService(o: KObject): void {
  const spec = obj(o.spec);
  o.spec = spec;
  ensure(spec, 'type', 'ClusterIP');
  ensure(spec, 'sessionAffinity', 'None');
  if (spec.clusterIP === undefined || spec.clusterIP === '') {
    const n = ++serviceIpSeq + 9; // 10.96.0.1 is kubernetes.default; start a little higher
    spec.clusterIP = `10.${96 + Math.floor(n / 65536) % 16}.${Math.floor(n / 256) % 256}.${n % 256}`;
  }
  ensure(spec, 'clusterIPs', [spec.clusterIP]);
  ensure(spec, 'ipFamilies', ['IPv4']);
  ensure(spec, 'ipFamilyPolicy', 'SingleStack');
  ensure(spec, 'internalTrafficPolicy', 'Cluster');
  if (Array.isArray(spec.ports)) {
    for (const p of spec.ports as Obj[]) {
      ensure(p, 'protocol', 'TCP');
      ensure(p, 'targetPort', p.port);
    }
  }
  o.status = o.status ?? { loadBalancer: {} };
}

function defaultPvcSpec(spec: Obj, defaultClass: string | undefined): void {
  ensure(spec, 'volumeMode', 'Filesystem');
  if (defaultClass !== undefined && spec.storageClassName === undefined) spec.storageClassName = defaultClass;
}

/** Defaults applied on create (and, for spec fields, on update), mutating `o`. */
export function applyDefaults(key: string, o: KObject, ctx: { defaultStorageClass?: string; create: boolean }): void {
  switch (key) {
    case 'pods':
      defaultPod(o);
      break;
    case 'namespaces': {
      o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name };
      const spec = obj(o.spec);
      ensure(spec, 'finalizers', ['kubernetes']);
      o.spec = spec;
      if (ctx.create) o.status = { phase: 'Active' };
      break;
    }
    case 'statefulsets.apps': {
      const spec = obj(o.spec);
      o.spec = spec;
      ensure(spec, 'replicas', 1);
      ensure(spec, 'podManagementPolicy', 'OrderedReady');
      ensure(spec, 'updateStrategy', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
      const us = obj(spec.updateStrategy);
      if (us.type === 'RollingUpdate') ensure(us, 'rollingUpdate', { partition: 0 });
      ensure(spec, 'revisionHistoryLimit', 10);
      ensure(spec, 'persistentVolumeClaimRetentionPolicy', { whenDeleted: 'Retain', whenScaled: 'Retain' });
      ensure(spec, 'minReadySeconds', 0);
      defaultTemplate(spec);
      if (Array.isArray(spec.volumeClaimTemplates)) {
        for (const t of spec.volumeClaimTemplates as Obj[]) {
          ensure(t, 'apiVersion', 'v1');
          ensure(t, 'kind', 'PersistentVolumeClaim');
          const ts = obj(t.spec);
          t.spec = ts;
          defaultPvcSpec(ts, undefined);
          ensure(t, 'status', { phase: 'Pending' });
        }
      }
      if (ctx.create) o.status = { replicas: 0, availableReplicas: 0 };
      break;
    }
    case 'deployments.apps': {
      const spec = obj(o.spec);
      o.spec = spec;
      ensure(spec, 'replicas', 1);
      ensure(spec, 'strategy', { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
      ensure(spec, 'revisionHistoryLimit', 10);
      ensure(spec, 'progressDeadlineSeconds', 600);
      defaultTemplate(spec);
      if (ctx.create) o.status = {};
      break;
    }
    case 'replicasets.apps': {
      const spec = obj(o.spec);
      o.spec = spec;
      ensure(spec, 'replicas', 1);
      defaultTemplate(spec);
      if (ctx.create) o.status = { replicas: 0 };
      break;
    }
    case 'daemonsets.apps': {
      const spec = obj(o.spec);
      o.spec = spec;
      ensure(spec, 'updateStrategy', { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
      ensure(spec, 'revisionHistoryLimit', 10);
      defaultTemplate(spec);
      if (ctx.create) o.status = { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
      break;
    }
    case 'services':
      defaultService(o);
      break;
    case 'persistentvolumeclaims': {
      const spec = obj(o.spec);
      o.spec = spec;
      defaultPvcSpec(spec, ctx.create ? ctx.defaultStorageClass : undefined);
      if (ctx.create) o.status = { phase: 'Pending' };
      break;
    }
    case 'persistentvolumes': {
      const spec = obj(o.spec);
      o.spec = spec;
      ensure(spec, 'persistentVolumeReclaimPolicy', 'Retain');
      ensure(spec, 'volumeMode', 'Filesystem');
      if (ctx.create) o.status = { phase: 'Pending' };
      break;
    }
    case 'secrets': {
      const ext = o as Obj;
      ensure(ext, 'type', 'Opaque');
      const stringData = obj(ext.stringData);
      if (Object.keys(stringData).length > 0) {
        const data = { ...obj(ext.data) } as Record<string, unknown>;
        for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v)).toString('base64');
        ext.data = data;
      }
      delete ext.stringData;
      break;
    }
    case 'poddisruptionbudgets.policy':
      if (ctx.create) o.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
      break;
    case 'storageclasses.storage.k8s.io': {
      const ext = o as Obj;
      ensure(ext, 'reclaimPolicy', 'Delete');
      ensure(ext, 'volumeBindingMode', 'Immediate');
      break;
    }
    default:
      break;
  }
}
