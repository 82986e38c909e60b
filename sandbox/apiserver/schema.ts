// The Go types behind the built-in kinds, as far as a patch can break them: what kube-apiserver finds when it turns a
// patched object back into its typed struct. A strategic merge patch goes map -> struct through
// runtime.DefaultUnstructuredConverter (apimachinery pkg/runtime/converter.go: "cannot restore map from string"), a
// JSON merge / JSON patch through the JSON decoder ("json: cannot unmarshal string into Go struct field
// ObjectMeta.metadata.labels of type map[string]string"); either way the patch handler answers 422 Invalid for the
// field "patch" (apiserver pkg/endpoints/handlers/patch.go, v1.32, applyPatchToObject / jsonPatcher).
// Only the shapes are here (no validation of values); `any` stands for the types with their own unmarshalling
// (Time, Quantity, IntOrString, RawExtension) and for parts not modelled.
type GoType =
  | { k: 'string' | 'int32' | 'int64' | 'bool' | 'any' }
  | { k: 'map'; go: string; elem: GoType }
  | { k: 'slice'; go: string; elem: GoType }
  | { k: 'struct'; go: string; fields: () => Record<string, GoType> };

const STRING: GoType = { k: 'string' };
const INT32: GoType = { k: 'int32' };
const INT64: GoType = { k: 'int64' };
const BOOL: GoType = { k: 'bool' };
const ANY: GoType = { k: 'any' };
const STRINGS: GoType = { k: 'slice', go: '[]string', elem: STRING };
const STRING_MAP: GoType = { k: 'map', go: 'map[string]string', elem: STRING };

function struct(go: string, fields: () => Record<string, GoType>): GoType {
  return { k: 'struct', go, fields };
}
function slice(of: GoType & { go: string }): GoType {
  return { k: 'slice', go: `[]${of.go}`, elem: of };
}
function strings(...names: string[]): Record<string, GoType> {
  return Object.fromEntries(names.map((n) => [n, STRING]));
}

const OWNER_REF = struct('v1.OwnerReference', () => ({ ...strings('apiVersion', 'kind', 'name', 'uid'), controller: BOOL, blockOwnerDeletion: BOOL })) as GoType & { go: string };
const OBJECT_META = struct('v1.ObjectMeta', () => ({
  ...strings('name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion'),
  generation: INT64,
  creationTimestamp: ANY,
  deletionTimestamp: ANY,
  deletionGracePeriodSeconds: INT64,
  labels: STRING_MAP,
  annotations: STRING_MAP,
  ownerReferences: slice(OWNER_REF),
  finalizers: STRINGS,
  managedFields: { k: 'slice', go: '[]v1.ManagedFieldsEntry', elem: ANY },
}));
const SELECTOR = struct('v1.LabelSelector', () => ({
  matchLabels: STRING_MAP,
  matchExpressions: slice(struct('v1.LabelSelectorRequirement', () => ({ ...strings('key', 'operator'), values: STRINGS })) as GoType & { go: string }),
}));
const CONTAINER = struct('v1.Container', () => ({
  ...strings('name', 'image', 'workingDir', 'imagePullPolicy', 'terminationMessagePath', 'terminationMessagePolicy'),
  command: STRINGS,
  args: STRINGS,
  ports: slice(struct('v1.ContainerPort', () => ({ ...strings('name', 'protocol', 'hostIP'), containerPort: INT32, hostPort: INT32 })) as GoType & { go: string }),
  env: slice(struct('v1.EnvVar', () => ({ ...strings('name', 'value'), valueFrom: ANY })) as GoType & { go: string }),
  resources: struct('v1.ResourceRequirements', () => ({ limits: { k: 'map', go: 'v1.ResourceList', elem: ANY }, requests: { k: 'map', go: 'v1.ResourceList', elem: ANY } })),
  volumeMounts: slice(struct('v1.VolumeMount', () => ({ ...strings('name', 'mountPath', 'subPath'), readOnly: BOOL })) as GoType & { go: string }),
  livenessProbe: ANY,
  readinessProbe: ANY,
  startupProbe: ANY,
  securityContext: ANY,
  stdin: BOOL,
  tty: BOOL,
})) as GoType & { go: string };
const POD_SPEC = struct('v1.PodSpec', () => ({
  containers: slice(CONTAINER),
  initContainers: slice(CONTAINER),
  volumes: slice(struct('v1.Volume', () => ({ name: STRING })) as GoType & { go: string }),
  ...strings('restartPolicy', 'dnsPolicy', 'serviceAccountName', 'serviceAccount', 'nodeName', 'hostname', 'subdomain', 'schedulerName', 'priorityClassName'),
  nodeSelector: STRING_MAP,
  terminationGracePeriodSeconds: INT64,
  activeDeadlineSeconds: INT64,
  hostNetwork: BOOL,
  hostPID: BOOL,
  automountServiceAccountToken: BOOL,
  tolerations: slice(struct('v1.Toleration', () => ({ ...strings('key', 'operator', 'value', 'effect'), tolerationSeconds: INT64 })) as GoType & { go: string }),
  imagePullSecrets: slice(struct('v1.LocalObjectReference', () => ({ name: STRING })) as GoType & { go: string }),
  affinity: ANY,
  securityContext: ANY,
  priority: INT32,
}));
const POD_TEMPLATE = struct('v1.PodTemplateSpec', () => ({ metadata: OBJECT_META, spec: POD_SPEC }));
const WORKLOAD = (go: string, extra: () => Record<string, GoType>): GoType =>
  struct(go, () => ({ replicas: INT32, selector: SELECTOR, template: POD_TEMPLATE, minReadySeconds: INT32, revisionHistoryLimit: INT32, ...extra() }));

/** spec (and the other top-level fields) per group-resource. */
const TOP: Record<string, () => Record<string, GoType>> = {
  pods: () => ({ spec: POD_SPEC }),
  nodes: () => ({
    spec: struct('v1.NodeSpec', () => ({
      ...strings('podCIDR', 'providerID'),
      podCIDRs: STRINGS,
      unschedulable: BOOL,
      taints: slice(struct('v1.Taint', () => ({ ...strings('key', 'value', 'effect'), timeAdded: ANY })) as GoType & { go: string }),
    })),
  }),
  'statefulsets.apps': () => ({
    spec: WORKLOAD('v1.StatefulSetSpec', () => ({
      ...strings('serviceName', 'podManagementPolicy'),
      updateStrategy: struct('v1.StatefulSetUpdateStrategy', () => ({ type: STRING, rollingUpdate: ANY })),
      volumeClaimTemplates: slice(struct('v1.PersistentVolumeClaim', () => ({ metadata: OBJECT_META, spec: ANY })) as GoType & { go: string }),
      ordinals: struct('v1.StatefulSetOrdinals', () => ({ start: INT32 })),
    })),
  }),
  'deployments.apps': () => ({ spec: WORKLOAD('v1.DeploymentSpec', () => ({ paused: BOOL, progressDeadlineSeconds: INT32, strategy: ANY })) }),
  'replicasets.apps': () => ({ spec: WORKLOAD('v1.ReplicaSetSpec', () => ({})) }),
  'daemonsets.apps': () => ({ spec: WORKLOAD('v1.DaemonSetSpec', () => ({ updateStrategy: ANY })) }),
  services: () => ({
    spec: struct('v1.ServiceSpec', () => ({
      ports: slice(struct('v1.ServicePort', () => ({ ...strings('name', 'protocol', 'appProtocol'), port: INT32, targetPort: ANY, nodePort: INT32 })) as GoType & { go: string }),
      selector: STRING_MAP,
      ...strings('clusterIP', 'type', 'sessionAffinity', 'externalName'),
      clusterIPs: STRINGS,
      publishNotReadyAddresses: BOOL,
    })),
  }),
  configmaps: () => ({ data: STRING_MAP, binaryData: { k: 'map', go: 'map[string][]uint8', elem: ANY }, immutable: BOOL }),
  secrets: () => ({ data: { k: 'map', go: 'map[string][]uint8', elem: ANY }, stringData: STRING_MAP, type: STRING, immutable: BOOL }),
  'poddisruptionbudgets.policy': () => ({ spec: struct('v1.PodDisruptionBudgetSpec', () => ({ minAvailable: ANY, maxUnavailable: ANY, selector: SELECTOR, unhealthyPodEvictionPolicy: STRING })) }),
  namespaces: () => ({ spec: struct('v1.NamespaceSpec', () => ({ finalizers: STRINGS })) }),
};

const KINDS: Record<string, string> = {
  pods: 'Pod', nodes: 'Node', 'statefulsets.apps': 'StatefulSet', 'deployments.apps': 'Deployment', 'replicasets.apps': 'ReplicaSet',
  'daemonsets.apps': 'DaemonSet', services: 'Service', configmaps: 'ConfigMap', secrets: 'Secret', 'poddisruptionbudgets.policy': 'PodDisruptionBudget', namespaces: 'Namespace',
};

/** The Go type of a built-in kind's object (every kind has TypeMeta and ObjectMeta). */
function objectType(key: string): GoType {
  const kind = KINDS[key] ?? 'Object';
  return struct(`v1.${kind}`, () => ({ apiVersion: STRING, kind: STRING, metadata: OBJECT_META, ...(TOP[key]?.() ?? {}) }));
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** reflect.Kind of a value as the unstructured converter sees it (JSON numbers: int64 when integral). */
function goKind(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (Array.isArray(v)) return 'slice';
  return 'map';
}

/** fromUnstructured's error for a value of the wrong shape, or undefined. */
function converterError(t: GoType, v: unknown): string | undefined {
  if (v === null || v === undefined || t.k === 'any') return undefined;
  const kind = goKind(v);
  switch (t.k) {
    case 'map':
      if (!isObj(v)) return `cannot restore map from ${kind}`;
      for (const x of Object.values(v)) {
        const e = converterError(t.elem, x);
        if (e) return e;
      }
      return undefined;
    case 'slice':
      if (!Array.isArray(v)) return `cannot restore slice from ${kind}`;
      for (const x of v) {
        const e = converterError(t.elem, x);
        if (e) return e;
      }
      return undefined;
    case 'struct': {
      if (!isObj(v)) return `cannot restore struct from: ${kind}`;
      const fields = t.fields();
      for (const [name, ft] of Object.entries(fields)) {
        const e = converterError(ft, v[name]);
        if (e) return e;
      }
      return undefined;
    }
    case 'string':
      if (kind === 'string') return undefined;
      return kind === 'int64' || kind === 'float64' ? `cannot convert ${kind} to string` : `unrecognized type: string`;
    case 'bool':
      return kind === 'bool' ? undefined : `unrecognized type: bool`;
    default: // int32, int64
      if (kind === 'int64') return undefined;
      if (kind === 'float64') return `cannot convert float64 to ${t.k}`;
      return `unrecognized type: ${t.k}`;
  }
}

function jsonKind(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  return Array.isArray(v) ? 'array' : 'object';
}

/** encoding/json's UnmarshalTypeError for the first value of the wrong type, or undefined. */
function decodeError(t: GoType, v: unknown, where: { struct: string; path: string[] }): string | undefined {
  if (v === null || v === undefined || t.k === 'any') return undefined;
  const fail = (what: string, type: string): string =>
    where.path.length === 0 ? `json: cannot unmarshal ${what} into Go value of type ${type}` : `json: cannot unmarshal ${what} into Go struct field ${where.struct}.${where.path.join('.')} of type ${type}`;
  switch (t.k) {
    case 'map':
      if (!isObj(v)) return fail(jsonKind(v), t.go);
      for (const x of Object.values(v)) {
        const e = decodeError(t.elem, x, where);
        if (e) return e;
      }
      return undefined;
    case 'slice':
      if (!Array.isArray(v)) return fail(jsonKind(v), t.go);
      for (const x of v) {
        const e = decodeError(t.elem, x, where);
        if (e) return e;
      }
      return undefined;
    case 'struct': {
      if (!isObj(v)) return fail(jsonKind(v), t.go);
      const fields = t.fields();
      const structName = t.go.replace(/^v1\./, '');
      for (const [name, x] of Object.entries(v)) {
        const ft = fields[name];
        if (!ft) continue;
        const e = decodeError(ft, x, { struct: structName, path: [...where.path, name] });
        if (e) return e;
      }
      return undefined;
    }
    case 'string':
      return typeof v === 'string' ? undefined : fail(jsonKind(v), 'string');
    case 'bool':
      return typeof v === 'boolean' ? undefined : fail(jsonKind(v), 'bool');
    default:
      if (typeof v !== 'number') return fail(jsonKind(v), t.k);
      return Number.isInteger(v) ? undefined : fail(`number ${String(v)}`, t.k);
  }
}

/** After a strategic merge patch: the converter's error, if the patched object does not fit the kind's types. */
export function unstructuredError(key: string, o: unknown): string | undefined {
  return converterError(objectType(key), o);
}

/** After a JSON merge patch or JSON patch: the JSON decoder's error, if the patched object does not fit. */
export function jsonDecodeError(key: string, o: unknown): string | undefined {
  const t = objectType(key);
  return decodeError(t, o, { struct: t.k === 'struct' ? t.go.replace(/^v1\./, '') : '', path: [] });
}

/** fmt.Sprintf("%+v", patchMap) of a JSON value: Go's map formatting (keys sorted), as the 422 quotes the patch. */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (isObj(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goFormat(v[k])}`).join(' ')}]`;
  }
  return String(v);
}

/** Go's %q of a string (the patch handler quotes the bad value with it). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}
