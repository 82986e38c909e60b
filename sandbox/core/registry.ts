// The resource types the sandbox serves: what kube-apiserver's REST storage map and the CRD handler register.
// Built-in types are fixed; custom resources come and go with their CustomResourceDefinition.
import type { KObject } from './store.js';

export interface ResourceType {
  /** '' for the core group. */
  group: string;
  /** Served versions; the first is the preferred (and storage) one. */
  versions: string[];
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  verbs: string[];
  /** Subresource names: status, scale, eviction, portforward, exec, log. */
  subresources: string[];
  categories: string[];
  /** True for resources defined by a CRD (no strategic merge patch, structural defaults only). */
  custom: boolean;
}

const ALL = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface Def {
  group?: string;
  versions?: string[];
  kind: string;
  plural: string;
  shortNames?: string[];
  namespaced?: boolean;
  verbs?: string[];
  subresources?: string[];
  categories?: string[];
}

const BUILTINS: Def[] = [
  { kind: 'Namespace', plural: 'namespaces', shortNames: ['ns'], namespaced: false, subresources: ['status'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
  { kind: 'Node', plural: 'nodes', shortNames: ['no'], namespaced: false, subresources: ['status'] },
  { kind: 'Pod', plural: 'pods', shortNames: ['po'], subresources: ['status', 'eviction', 'portforward', 'exec', 'log'], categories: ['all'] },
  { kind: 'Service', plural: 'services', shortNames: ['svc'], subresources: ['status'], categories: ['all'], verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] },
  { kind: 'Endpoints', plural: 'endpoints', shortNames: ['ep'] },
  { kind: 'Secret', plural: 'secrets' },
  { kind: 'ConfigMap', plural: 'configmaps', shortNames: ['cm'] },
  { kind: 'Event', plural: 'events', shortNames: ['ev'] },
  { kind: 'PersistentVolume', plural: 'persistentvolumes', shortNames: ['pv'], namespaced: false, subresources: ['status'] },
  { kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', shortNames: ['pvc'], subresources: ['status'] },
  { kind: 'ServiceAccount', plural: 'serviceaccounts', shortNames: ['sa'] },
  { group: 'events.k8s.io', kind: 'Event', plural: 'events', shortNames: ['ev'] },
  { group: 'apps', kind: 'StatefulSet', plural: 'statefulsets', shortNames: ['sts'], subresources: ['status', 'scale'], categories: ['all'] },
  { group: 'apps', kind: 'Deployment', plural: 'deployments', shortNames: ['deploy'], subresources: ['status', 'scale'], categories: ['all'] },
  { group: 'apps', kind: 'ReplicaSet', plural: 'replicasets', shortNames: ['rs'], subresources: ['status', 'scale'], categories: ['all'] },
  { group: 'apps', kind: 'DaemonSet', plural: 'daemonsets', shortNames: ['ds'], subresources: ['status'], categories: ['all'] },
  { group: 'apps', kind: 'ControllerRevision', plural: 'controllerrevisions' },
  { group: 'policy', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', shortNames: ['pdb'], subresources: ['status'] },
  { group: 'coordination.k8s.io', kind: 'Lease', plural: 'leases' },
  { group: 'authorization.k8s.io', kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', namespaced: false, verbs: ['create'] },
  { group: 'rbac.authorization.k8s.io', kind: 'Role', plural: 'roles' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false },
  { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding', plural: 'rolebindings' },
  { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false },
  { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', shortNames: ['crd', 'crds'], namespaced: false, subresources: ['status'], categories: ['api-extensions'] },
  { group: 'storage.k8s.io', kind: 'StorageClass', plural: 'storageclasses', shortNames: ['sc'], namespaced: false },
];

function fromDef(d: Def): ResourceType {
  return {
    group: d.group ?? '',
    versions: d.versions ?? ['v1'],
    kind: d.kind,
    listKind: `${d.kind}List`,
    plural: d.plural,
    singular: d.kind.toLowerCase(),
    shortNames: d.shortNames ?? [],
    namespaced: d.namespaced ?? true,
    verbs: d.verbs ?? ALL,
    subresources: d.subresources ?? [],
    categories: d.categories ?? [],
    custom: false,
  };
}

/** The store key of a resource type: plural for the core group, `plural.group` otherwise. */
export function storeKey(t: Pick<ResourceType, 'plural' | 'group'>): string {
  return t.group ? `${t.plural}.${t.group}` : t.plural;
}

/** apiVersion string for a group and version ("v1", "apps/v1"). */
export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  subresources?: { status?: object; scale?: object };
}
interface CrdSpec {
  group: string;
  scope: 'Namespaced' | 'Cluster';
  names: { kind: string; plural: string; singular?: string; shortNames?: string[]; listKind?: string; categories?: string[] };
  versions: CrdVersion[];
}

export class Registry {
  private readonly types = new Map<string, ResourceType>();

  constructor() {
    for (const d of BUILTINS) {
      const t = fromDef(d);
      this.types.set(storeKey(t), t);
    }
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  byKey(key: string): ResourceType | undefined {
    return this.types.get(key);
  }

  /** The type served at /apis/<group>/<version>/<plural> (or /api/v1/<plural>). */
  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    const t = this.types.get(storeKey({ group, plural }));
    return t && t.versions.includes(version) ? t : undefined;
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
    return this.all().find((t) => t.group === group && t.kind === kind && t.versions.includes(version));
  }

  /** Every served group with its versions, preferred first; core ('') excluded. */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const t of this.types.values()) {
      if (!t.group) continue;
      const vs = out.get(t.group) ?? [];
      for (const v of t.versions) if (!vs.includes(v)) vs.push(v);
      out.set(t.group, vs);
    }
    return out;
  }

  /** Register (or re-register) the custom resource a CRD defines. Returns its store key. */
  registerCrd(crd: KObject): string {
    const spec = crd.spec as CrdSpec;
    const served = spec.versions.filter((v) => v.served !== false);
    const storage = served.find((v) => v.storage) ?? served[0];
    const ordered = storage ? [storage, ...served.filter((v) => v !== storage)] : served;
    const sub = new Set<string>();
    for (const v of served) {
      if (v.subresources?.status) sub.add('status');
      if (v.subresources?.scale) sub.add('scale');
    }
    const t: ResourceType = {
      group: spec.group,
      versions: ordered.map((v) => v.name),
      kind: spec.names.kind,
      listKind: spec.names.listKind ?? `${spec.names.kind}List`,
      plural: spec.names.plural,
      singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
      shortNames: spec.names.shortNames ?? [],
      namespaced: spec.scope !== 'Cluster',
      verbs: ALL,
      subresources: [...sub],
      categories: spec.names.categories ?? [],
      custom: true,
    };
    const k = storeKey(t);
    this.types.set(k, t);
    return k;
  }

  unregisterCrd(crd: KObject): void {
    const spec = crd.spec as CrdSpec;
    const k = storeKey({ group: spec.group, plural: spec.names.plural });
    if (this.types.get(k)?.custom) this.types.delete(k);
  }

  /** The scale subresource paths of a CRD version (defaults as apiextensions documents them). */
  static crdScalePaths(crd: KObject, version: string): { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string } | undefined {
    const spec = crd.spec as CrdSpec;
    const v = spec.versions.find((x) => x.name === version) ?? spec.versions[0];
    const scale = v?.subresources?.scale as { specReplicasPath?: string; statusReplicasPath?: string; labelSelectorPath?: string } | undefined;
    if (!scale) return undefined;
    return {
      specReplicasPath: scale.specReplicasPath ?? '.spec.replicas',
      statusReplicasPath: scale.statusReplicasPath ?? '.status.replicas',
      labelSelectorPath: scale.labelSelectorPath,
    };
  }
}
