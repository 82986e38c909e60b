// Server-side printing (meta.k8s.io/v1 Table), so `kubectl get` shows the columns a real cluster shows.
import type { KObject, Store } from '../core/store.js';
import type { Registry, ResourceType } from '../core/registry.js';
import { CRD_KEY } from './resources.js';

interface Column {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
}

type Obj = Record<string, unknown>;

export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

function age(o: KObject): string {
  const ts = o.metadata.creationTimestamp;
  return ts ? humanDuration(Date.now() - Date.parse(ts)) : '<unknown>';
}

function g(o: unknown, path: string): unknown {
  let v = o;
  for (const p of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Obj)[p];
  }
  return v;
}

function arr(v: unknown): Obj[] {
  return Array.isArray(v) ? (v as Obj[]) : [];
}

const NAME: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' };
const AGE: Column = { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' };

function podRow(o: KObject): unknown[] {
  const statuses = arr(g(o, 'status.containerStatuses'));
  const total = arr(g(o, 'spec.containers')).length;
  const ready = statuses.filter((c) => c.ready === true).length;
  const restarts = statuses.reduce((n, c) => n + Number(c.restartCount ?? 0), 0);
  let reason = String(g(o, 'status.reason') ?? g(o, 'status.phase') ?? 'Pending');
  for (const c of statuses) {
    const waiting = g(c, 'state.waiting.reason');
    const terminated = g(c, 'state.terminated.reason');
    if (waiting) reason = String(waiting);
    else if (terminated) reason = String(terminated);
  }
  if (o.metadata.deletionTimestamp) reason = g(o, 'status.reason') === 'NodeLost' ? 'Unknown' : 'Terminating';
  return [o.metadata.name, `${ready}/${total}`, reason, restarts, age(o), g(o, 'status.podIP') ?? '<none>', g(o, 'spec.nodeName') ?? '<none>', '<none>', '<none>'];
}

function nodeRow(o: KObject): unknown[] {
  const ready = arr(g(o, 'status.conditions')).find((c) => c.type === 'Ready');
  // as kubectl's printer: Ready when True, NotReady for False AND Unknown, Unknown only without the condition
  const statuses = [!ready ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady'];
  if (g(o, 'spec.unschedulable') === true) statuses.push('SchedulingDisabled');
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((l) => l.startsWith('node-role.kubernetes.io/'))
    .map((l) => l.slice('node-role.kubernetes.io/'.length));
  const internal = arr(g(o, 'status.addresses')).find((a) => a.type === 'InternalIP')?.address ?? '<none>';
  return [
    o.metadata.name,
    statuses.join(','),
    roles.length ? roles.join(',') : '<none>',
    age(o),
    g(o, 'status.nodeInfo.kubeletVersion') ?? '',
    internal,
    '<none>',
    g(o, 'status.nodeInfo.osImage') ?? '<unknown>',
    g(o, 'status.nodeInfo.kernelVersion') ?? '<unknown>',
    g(o, 'status.nodeInfo.containerRuntimeVersion') ?? '<unknown>',
  ];
}

function images(o: KObject): [string, string] {
  const cs = arr(g(o, 'spec.template.spec.containers'));
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image).join(',')];
}

function selectorText(o: KObject): string {
  const ml = (g(o, 'spec.selector.matchLabels') ?? {}) as Record<string, string>;
  const s = Object.entries(ml)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return s || '<none>';
}

interface Printer {
  columns: Column[];
  row(o: KObject): unknown[];
}

function wide(name: string, description = ''): Column {
  return { name, type: 'string', description, priority: 1 };
}

const PRINTERS: Record<string, Printer> = {
  pods: {
    columns: [NAME, { name: 'Ready', type: 'string' }, { name: 'Status', type: 'string' }, { name: 'Restarts', type: 'string' }, AGE, wide('IP'), wide('Node'), wide('Nominated Node'), wide('Readiness Gates')],
    row: podRow,
  },
  nodes: {
    columns: [NAME, { name: 'Status', type: 'string' }, { name: 'Roles', type: 'string' }, AGE, { name: 'Version', type: 'string' }, wide('Internal-IP'), wide('External-IP'), wide('OS-Image'), wide('Kernel-Version'), wide('Container-Runtime')],
    row: nodeRow,
  },
  'statefulsets.apps': {
    columns: [NAME, { name: 'Ready', type: 'string' }, AGE, wide('Containers'), wide('Images')],
    row: (o) => [o.metadata.name, `${Number(g(o, 'status.readyReplicas') ?? 0)}/${Number(g(o, 'spec.replicas') ?? 0)}`, age(o), ...images(o)],
  },
  // kubernetes pkg/printers/internalversion/printers.go daemonSetColumnDefinitions (v1.32)
  'daemonsets.apps': {
    columns: [NAME, { name: 'Desired', type: 'integer' }, { name: 'Current', type: 'integer' }, { name: 'Ready', type: 'integer' }, { name: 'Up-to-date', type: 'integer' }, { name: 'Available', type: 'integer' }, { name: 'Node Selector', type: 'string' }, AGE, wide('Containers'), wide('Images'), wide('Selector')],
    row: (o) => [
      o.metadata.name,
      Number(g(o, 'status.desiredNumberScheduled') ?? 0),
      Number(g(o, 'status.currentNumberScheduled') ?? 0),
      Number(g(o, 'status.numberReady') ?? 0),
      Number(g(o, 'status.updatedNumberScheduled') ?? 0),
      Number(g(o, 'status.numberAvailable') ?? 0),
      Object.entries((g(o, 'spec.template.spec.nodeSelector') ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',') || '<none>',
      age(o),
      ...images(o),
      selectorText(o),
    ],
  },
  'deployments.apps': {
    columns: [NAME, { name: 'Ready', type: 'string' }, { name: 'Up-to-date', type: 'integer' }, { name: 'Available', type: 'integer' }, AGE, wide('Containers'), wide('Images'), wide('Selector')],
    row: (o) => [
      o.metadata.name,
      `${Number(g(o, 'status.readyReplicas') ?? 0)}/${Number(g(o, 'spec.replicas') ?? 0)}`,
      Number(g(o, 'status.updatedReplicas') ?? 0),
      Number(g(o, 'status.availableReplicas') ?? 0),
      age(o),
      ...images(o),
      selectorText(o),
    ],
  },
  'replicasets.apps': {
    columns: [NAME, { name: 'Desired', type: 'integer' }, { name: 'Current', type: 'integer' }, { name: 'Ready', type: 'integer' }, AGE, wide('Containers'), wide('Images'), wide('Selector')],
    row: (o) => [o.metadata.name, Number(g(o, 'spec.replicas') ?? 0), Number(g(o, 'status.replicas') ?? 0), Number(g(o, 'status.readyReplicas') ?? 0), age(o), ...images(o), selectorText(o)],
  },
  services: {
    columns: [NAME, { name: 'Type', type: 'string' }, { name: 'Cluster-IP', type: 'string' }, { name: 'External-IP', type: 'string' }, { name: 'Port(s)', type: 'string' }, AGE, wide('Selector')],
    row: (o) => {
      const ports = arr(g(o, 'spec.ports'))
        .map((p) => `${String(p.port)}${p.nodePort ? `:${String(p.nodePort)}` : ''}/${String(p.protocol ?? 'TCP')}`)
        .join(',');
      const sel = Object.entries((g(o, 'spec.selector') ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
      return [o.metadata.name, g(o, 'spec.type') ?? 'ClusterIP', g(o, 'spec.clusterIP') ?? '<none>', '<none>', ports || '<none>', age(o), sel || '<none>'];
    },
  },
  namespaces: {
    columns: [NAME, { name: 'Status', type: 'string' }, AGE],
    row: (o) => [o.metadata.name, g(o, 'status.phase') ?? 'Active', age(o)],
  },
  persistentvolumeclaims: {
    columns: [NAME, { name: 'Status', type: 'string' }, { name: 'Volume', type: 'string' }, { name: 'Capacity', type: 'string' }, { name: 'Access Modes', type: 'string' }, { name: 'StorageClass', type: 'string' }, { name: 'VolumeAttributesClass', type: 'string' }, AGE, wide('VolumeMode')],
    row: (o) => [
      o.metadata.name,
      g(o, 'status.phase') ?? 'Pending',
      g(o, 'spec.volumeName') ?? '',
      g(o, 'status.capacity.storage') ?? '',
      modes(g(o, 'status.accessModes')),
      g(o, 'spec.storageClassName') ?? '<unset>',
      '<unset>',
      age(o),
      g(o, 'spec.volumeMode') ?? 'Filesystem',
    ],
  },
  persistentvolumes: {
    columns: [NAME, { name: 'Capacity', type: 'string' }, { name: 'Access Modes', type: 'string' }, { name: 'Reclaim Policy', type: 'string' }, { name: 'Status', type: 'string' }, { name: 'Claim', type: 'string' }, { name: 'StorageClass', type: 'string' }, { name: 'VolumeAttributesClass', type: 'string' }, { name: 'Reason', type: 'string' }, AGE, wide('VolumeMode')],
    row: (o) => {
      const ref = g(o, 'spec.claimRef') as Obj | undefined;
      return [
        o.metadata.name,
        g(o, 'spec.capacity.storage') ?? '',
        modes(g(o, 'spec.accessModes')),
        g(o, 'spec.persistentVolumeReclaimPolicy') ?? '',
        g(o, 'status.phase') ?? '',
        ref ? `${String(ref.namespace)}/${String(ref.name)}` : '',
        g(o, 'spec.storageClassName') ?? '',
        '<unset>',
        g(o, 'status.reason') ?? '',
        age(o),
        g(o, 'spec.volumeMode') ?? 'Filesystem',
      ];
    },
  },
  'poddisruptionbudgets.policy': {
    columns: [NAME, { name: 'Min Available', type: 'string' }, { name: 'Max Unavailable', type: 'string' }, { name: 'Allowed Disruptions', type: 'integer' }, AGE],
    row: (o) => [o.metadata.name, g(o, 'spec.minAvailable') ?? 'N/A', g(o, 'spec.maxUnavailable') ?? 'N/A', Number(g(o, 'status.disruptionsAllowed') ?? 0), age(o)],
  },
  secrets: {
    columns: [NAME, { name: 'Type', type: 'string' }, { name: 'Data', type: 'string' }, AGE],
    row: (o) => [o.metadata.name, (o as Obj).type ?? 'Opaque', Object.keys(((o as Obj).data ?? {}) as Obj).length, age(o)],
  },
  configmaps: {
    columns: [NAME, { name: 'Data', type: 'string' }, AGE],
    row: (o) => [o.metadata.name, Object.keys(((o as Obj).data ?? {}) as Obj).length + Object.keys(((o as Obj).binaryData ?? {}) as Obj).length, age(o)],
  },
  'storageclasses.storage.k8s.io': {
    columns: [NAME, { name: 'Provisioner', type: 'string' }, { name: 'ReclaimPolicy', type: 'string' }, { name: 'VolumeBindingMode', type: 'string' }, { name: 'AllowVolumeExpansion', type: 'string' }, AGE],
    row: (o) => {
      const x = o as Obj;
      const def = o.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true';
      return [def ? `${o.metadata.name} (default)` : o.metadata.name, x.provisioner ?? '', x.reclaimPolicy ?? 'Delete', x.volumeBindingMode ?? 'Immediate', String(x.allowVolumeExpansion ?? false), age(o)];
    },
  },
  'leases.coordination.k8s.io': {
    columns: [NAME, { name: 'Holder', type: 'string' }, AGE],
    row: (o) => [o.metadata.name, g(o, 'spec.holderIdentity') ?? '', age(o)],
  },
  'customresourcedefinitions.apiextensions.k8s.io': {
    columns: [NAME, { name: 'Created At', type: 'date' }],
    row: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
  },
};

function modes(v: unknown): string {
  const short: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };
  return (Array.isArray(v) ? v : []).map((m) => short[String(m)] ?? String(m)).join(',');
}

/** The printer of a custom resource: its CRD's additionalPrinterColumns (JSONPath of the simple `.a.b` form). */
function crdPrinter(t: ResourceType, store: Store): Printer {
  const crd = store.list(CRD_KEY).items.find((c) => g(c, 'spec.group') === t.group && g(c, 'spec.names.plural') === t.plural);
  const version = arr(g(crd, 'spec.versions')).find((v) => v.name === t.versions[0]);
  const cols = arr(version?.additionalPrinterColumns);
  if (cols.length === 0) return { columns: [NAME, AGE], row: (o) => [o.metadata.name, age(o)] };
  return {
    columns: [NAME, ...cols.map((c) => ({ name: String(c.name), type: String(c.type ?? 'string'), format: c.format as string | undefined, description: String(c.description ?? ''), priority: Number(c.priority ?? 0) }))],
    row: (o) => [
      o.metadata.name,
      ...cols.map((c) => {
        const v = g(o, String(c.jsonPath ?? '').replace(/^\./, ''));
        if (c.type === 'date' && typeof v === 'string') return humanDuration(Date.now() - Date.parse(v));
        return v ?? null;
      }),
    ],
  };
}

export function toTable(t: ResourceType, items: KObject[], resourceVersion: string, _registry: Registry, store: Store): Record<string, unknown> {
  const key = t.group ? `${t.plural}.${t.group}` : t.plural;
  const printer = PRINTERS[key] ?? (t.custom ? crdPrinter(t, store) : { columns: [NAME, AGE], row: (o: KObject) => [o.metadata.name, age(o)] });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: printer.columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })),
    rows: items.map((o) => ({
      cells: printer.row(o),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
