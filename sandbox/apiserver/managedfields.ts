// metadata.managedFields as the API server's field manager keeps them (apiserver pkg/endpoints/handlers/fieldmanager,
// structured-merge-diff FieldsV1), for writes through the API: each entry names a manager (the fieldManager
// parameter, else the User-Agent up to its first "/"), the operation (Update, or Apply for server-side apply), the
// apiVersion, the time, the subresource, and the fields it set. An Update takes ownership of the fields it changed
// (the whole object on create) away from the other managers; entries left owning nothing are dropped.
// FieldsV1 follows SMD's shapes: `f:<field>`, `k:{<merge keys>}` for the items of keyed lists, `v:<value>` for set
// members, `.` for a map or list item owned as such; lists without keys, and atomic structs, are owned as one field.
// Approximations: maps versus structs are told by field name, and the key fields per list are patch.ts's.
import type { KObject } from '../core/store.js';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Update' | 'Apply';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

type Json = unknown;

/** List item keys (OpenAPI x-kubernetes-list-map-keys of the core types). */
const LIST_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  conditions: ['type'],
  ownerReferences: ['uid'],
  imagePullSecrets: ['name'],
  addresses: ['type'],
  taints: ['key', 'effect'],
  volumeClaimTemplates: [],
};
/** Lists of scalars kept as sets. */
const SET_LISTS = new Set(['finalizers']);
/** Fields that are maps (granular, owned per key plus `.`). */
const MAP_FIELDS = new Set(['labels', 'annotations', 'nodeSelector', 'data', 'stringData', 'binaryData', 'limits', 'requests', 'capacity', 'allocatable', 'matchLabels']);
/** Fields the field manager never tracks (ObjectMeta the server owns; managedFields itself). */
const SERVER_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink', 'managedFields']);

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function portKeys(items: Array<Record<string, unknown>>): string[] {
  return items.some((i) => 'containerPort' in i) ? ['containerPort', 'protocol'] : ['port', 'protocol'];
}

function itemKey(field: string, item: Record<string, unknown>, items: Array<Record<string, unknown>>): string | undefined {
  const keys = field === 'ports' ? portKeys(items) : LIST_KEYS[field];
  if (!keys || keys.length === 0) return undefined;
  const k: Record<string, unknown> = {};
  for (const name of [...keys].sort()) if (item[name] !== undefined) k[name] = item[name];
  return `k:${JSON.stringify(k)}`;
}

/** Every owned path under `v` (paths as arrays of FieldsV1 segments), with the leaf values to compare. */
function walk(v: Json, path: string[], field: string, out: Map<string, { path: string[]; value: string }>, apply: boolean): void {
  const add = (p: string[], value: unknown): void => {
    out.set(JSON.stringify(p), { path: p, value: JSON.stringify(value) });
  };
  if (Array.isArray(v)) {
    const objs = v.filter(isObj);
    if (SET_LISTS.has(field) && objs.length === 0) {
      if (!apply) add(path, null);
      for (const x of v) add([...path, `v:${JSON.stringify(x)}`], x);
      return;
    }
    const keyed = objs.length === v.length && v.length > 0 && objs.every((o) => itemKey(field, o, objs) !== undefined);
    if (!keyed) return add(path, v);
    if (!apply) add(path, null);
    for (const o of objs) {
      const p = [...path, itemKey(field, o, objs) as string];
      add(p, null);
      for (const [k, x] of Object.entries(o)) walk(x, [...p, `f:${k}`], k, out, apply);
    }
    return;
  }
  if (isObj(v)) {
    const entries = Object.entries(v);
    const atomicSelector = field === 'selector' && ('matchLabels' in v || 'matchExpressions' in v);
    if (entries.length === 0 || atomicSelector) return add(path, v);
    if (!apply && (MAP_FIELDS.has(field) || field === 'selector')) add(path, null);
    for (const [k, x] of entries) walk(x, [...path, `f:${k}`], k, out, apply);
    return;
  }
  add(path, v);
}

/**
 * The owned paths of an object: everything but the server's metadata, and status unless `status` (the subresource).
 * An applied configuration owns its leaves and list items, not the maps and lists holding them (SMD's ToFieldSet).
 */
export function fieldPaths(o: KObject, subresource: string, apply = false): Map<string, { path: string[]; value: string }> {
  const out = new Map<string, { path: string[]; value: string }>();
  for (const [k, v] of Object.entries(o)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if ((k === 'status') !== (subresource === 'status')) continue;
    if (k === 'metadata' && isObj(v)) {
      for (const [mk, mv] of Object.entries(v)) if (!SERVER_META.has(mk)) walk(mv, ['f:metadata', `f:${mk}`], mk, out, apply);
      continue;
    }
    walk(v, [`f:${k}`], k, out, apply);
  }
  return out;
}

/** A set of paths as the FieldsV1 tree. */
export function toFieldsV1(paths: string[][]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const sorted = [...paths].sort((a, b) => a.length - b.length);
  const owned = new Set(sorted.map((p) => JSON.stringify(p)));
  for (const p of sorted) {
    let node = root;
    for (let i = 0; i < p.length; i++) {
      const seg = p[i];
      if (!isObj(node[seg])) node[seg] = {};
      node = node[seg] as Record<string, unknown>;
      if (i < p.length - 1 && owned.has(JSON.stringify(p.slice(0, i + 1)))) node['.'] = {};
    }
  }
  return root;
}

function fromFieldsV1(tree: Record<string, unknown>, prefix: string[] = [], out: string[][] = []): string[][] {
  const keys = Object.keys(tree);
  if (keys.length === 0 && prefix.length > 0) out.push(prefix);
  for (const k of keys) {
    if (k === '.') {
      out.push(prefix);
      continue;
    }
    fromFieldsV1(isObj(tree[k]) ? (tree[k] as Record<string, unknown>) : {}, [...prefix, k], out);
  }
  return out;
}

export interface ManagerOf {
  manager: string;
  operation: 'Update' | 'Apply';
  apiVersion: string;
  subresource: string;
  time: string;
}

/** The managedFields after a write from `old` (undefined on create) to `next` by `who`. */
export function updateManagedFields(old: KObject | undefined, next: KObject, who: ManagerOf, applied?: KObject): ManagedFieldsEntry[] {
  const before = (old?.metadata.managedFields as ManagedFieldsEntry[] | undefined) ?? [];
  const oldPaths = old ? fieldPaths(old, who.subresource) : new Map<string, { path: string[]; value: string }>();
  const newPaths = fieldPaths(next, who.subresource);
  // what this write set: for an apply, the fields of the applied configuration; else what changed
  const changed = new Set([...newPaths].filter(([k, p]) => oldPaths.get(k)?.value !== p.value).map(([k]) => k));
  const taken = new Map<string, string[]>();
  if (applied) for (const [k, p] of fieldPaths(applied, who.subresource, true)) taken.set(k, p.path);
  else for (const k of changed) taken.set(k, newPaths.get(k)?.path ?? []);
  const removed = new Set([...oldPaths.keys()].filter((k) => !newPaths.has(k)));
  const same = (e: ManagedFieldsEntry): boolean => e.manager === who.manager && e.operation === who.operation && (e.subresource ?? '') === who.subresource;
  const out: ManagedFieldsEntry[] = [];
  let mine: string[][] = [];
  let mineBefore: ManagedFieldsEntry | undefined;
  for (const e of before) {
    const paths = fromFieldsV1(e.fieldsV1 ?? {}).filter((p) => !removed.has(JSON.stringify(p)));
    if (same(e)) {
      mineBefore = e;
      mine = applied ? [] : paths;
      continue;
    }
    // fields set to the value they had stay shared; a changed one now belongs to this manager only
    const kept = paths.filter((p) => !(taken.has(JSON.stringify(p)) && changed.has(JSON.stringify(p))) || (e.subresource ?? '') !== who.subresource);
    if (kept.length > 0) out.push({ ...e, fieldsV1: toFieldsV1(kept) });
  }
  const all = new Map(mine.map((p) => [JSON.stringify(p), p]));
  for (const [k, p] of taken) all.set(k, p);
  if (all.size > 0) {
    const fieldsV1 = toFieldsV1([...all.values()]);
    const unchanged = mineBefore && JSON.stringify(mineBefore.fieldsV1) === JSON.stringify(fieldsV1) && taken.size === 0;
    out.push({
      manager: who.manager,
      operation: who.operation,
      apiVersion: who.apiVersion,
      time: unchanged && mineBefore ? mineBefore.time : who.time,
      fieldsType: 'FieldsV1',
      fieldsV1,
      ...(who.subresource ? { subresource: who.subresource } : {}),
    });
  }
  return out;
}

/** managerOrUserAgent (fieldmanager): the fieldManager parameter, else the User-Agent before its first "/". */
export function managerName(fieldManager: string | undefined | null, userAgent: string | undefined): string {
  if (fieldManager) return fieldManager;
  return (userAgent ?? '').split('/')[0].replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 128);
}
