// The patch types kube-apiserver accepts: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic
// merge patch (merge keys of the core types, `$patch`, `$deleteFromPrimitiveList`, `$setElementOrder`, `$retainKeys`).
import { apiError } from './status.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JObj = { [k: string]: Json };

function isObj(v: unknown): v is JObj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function unescape(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw apiError(422, `the server rejected our request due to an error in our request`);
  return p.slice(1).split('/').map(unescape);
}

function getAt(doc: Json, path: string[]): Json | undefined {
  let cur: Json | undefined = doc;
  for (const seg of path) {
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (isObj(cur)) cur = Object.prototype.hasOwnProperty.call(cur, seg) ? cur[seg] : undefined;
    else return undefined;
  }
  return cur;
}

function badPatch(msg: string): Error {
  return apiError(422, msg, undefined, 'Invalid');
}

/** Apply an RFC 6902 JSON patch; errors are 422 like the real server's. */
export function applyJsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw apiError(400, 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let root = structuredClone(doc);
  for (const raw of ops as Array<Record<string, Json>>) {
    const op = raw.op as string;
    const path = parsePointer(String(raw.path ?? ''));
    const setAt = (p: string[], value: Json, insert: boolean): void => {
      if (p.length === 0) {
        root = value;
        return;
      }
      const parent = getAt(root, p.slice(0, -1));
      const last = p[p.length - 1];
      if (Array.isArray(parent)) {
        const idx = last === '-' ? parent.length : Number(last);
        if (!Number.isInteger(idx) || idx < 0 || idx > parent.length || (!insert && idx >= parent.length)) {
          throw badPatch(`the server rejected our request due to an error in our request`);
        }
        if (insert) parent.splice(idx, 0, value);
        else parent[idx] = value;
      } else if (isObj(parent)) {
        if (!insert && !(last in parent)) throw badPatch(`the server rejected our request due to an error in our request`);
        parent[last] = value;
      } else {
        throw badPatch(`the server rejected our request due to an error in our request`);
      }
    };
    const removeAt = (p: string[]): Json => {
      const parent = getAt(root, p.slice(0, -1));
      const last = p[p.length - 1];
      if (Array.isArray(parent)) {
        const idx = Number(last);
        if (!Number.isInteger(idx) || idx < 0 || idx >= parent.length) throw badPatch(`the server rejected our request due to an error in our request`);
        return parent.splice(idx, 1)[0];
      }
      if (isObj(parent) && last in parent) {
        const v = parent[last];
        delete parent[last];
        return v;
      }
      throw badPatch(`the server rejected our request due to an error in our request`);
    };
    switch (op) {
      case 'add':
        setAt(path, structuredClone(raw.value), true);
        break;
      case 'replace':
        setAt(path, structuredClone(raw.value), false);
        break;
      case 'remove':
        removeAt(path);
        break;
      case 'move': {
        const v = removeAt(parsePointer(String(raw.from)));
        setAt(path, v, true);
        break;
      }
      case 'copy': {
        const v = getAt(root, parsePointer(String(raw.from)));
        if (v === undefined) throw badPatch(`the server rejected our request due to an error in our request`);
        setAt(path, structuredClone(v), true);
        break;
      }
      case 'test': {
        const v = getAt(root, path);
        if (JSON.stringify(v) !== JSON.stringify(raw.value)) throw badPatch(`the server rejected our request due to an error in our request`);
        break;
      }
      default:
        throw badPatch(`the server rejected our request due to an error in our request`);
    }
  }
  return root;
}

/** RFC 7386 JSON merge patch. */
export function applyMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObj(patch)) return structuredClone(patch);
  const out: JObj = isObj(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/** Merge keys of the list fields the core types declare with patchStrategy "merge" (by field name). */
const MERGE_KEYS: Record<string, string | ((items: JObj[]) => string)> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  ports: (items) => (items.some((i) => 'containerPort' in i) ? 'containerPort' : 'port'),
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  conditions: 'type',
  ownerReferences: 'uid',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  taints: 'key',
  addresses: 'type',
  resourceClaims: 'name',
};
/** Primitive lists merged as sets. */
const MERGE_PRIMITIVES = new Set(['finalizers']);

function mergeKeyFor(field: string, items: JObj[]): string | undefined {
  const k = MERGE_KEYS[field];
  if (!k) return undefined;
  return typeof k === 'string' ? k : k(items);
}

function smpList(field: string, cur: Json[] | undefined, patch: Json[], deleteValues: Json[] | undefined): Json[] {
  const current = cur ? structuredClone(cur) : [];
  // `[{"$patch": "replace"}, ...items]` replaces the list.
  if (patch.some((p) => isObj(p) && p.$patch === 'replace')) return patch.filter((p) => !(isObj(p) && p.$patch === 'replace')).map((p) => strip(p));
  const objItems = patch.filter(isObj);
  const key = mergeKeyFor(field, [...objItems, ...current.filter(isObj)]);
  if (key && objItems.length === patch.length) {
    const out = current;
    for (const p of objItems) {
      const idx = out.findIndex((c) => isObj(c) && JSON.stringify(c[key]) === JSON.stringify(p[key]));
      if (p.$patch === 'delete') {
        if (idx >= 0) out.splice(idx, 1);
        continue;
      }
      if (idx >= 0) out[idx] = smpObject(out[idx] as JObj, p);
      else out.push(strip(p));
    }
    return out;
  }
  if (MERGE_PRIMITIVES.has(field)) {
    const out = current.filter((c) => !(deleteValues ?? []).some((d) => JSON.stringify(d) === JSON.stringify(c)));
    for (const p of patch) if (!out.some((c) => JSON.stringify(c) === JSON.stringify(p))) out.push(p);
    return out;
  }
  return patch.map((p) => strip(p));
}

/** Remove directives from a value being inserted as is. */
function strip(v: Json): Json {
  if (Array.isArray(v)) return v.map(strip);
  if (!isObj(v)) return v;
  const out: JObj = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    if (x === null) continue;
    out[k] = strip(x);
  }
  return out;
}

function smpObject(cur: JObj | undefined, patch: JObj): JObj {
  if (patch.$patch === 'replace') return strip(patch) as JObj;
  if (patch.$patch === 'delete') return {};
  let out: JObj = isObj(cur) ? structuredClone(cur) : {};
  const retain = patch.$retainKeys;
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field]) && Array.isArray(v) && !(field in patch)) {
        out[field] = (out[field] as Json[]).filter((c) => !v.some((d) => JSON.stringify(d) === JSON.stringify(c)));
      }
      continue;
    }
    if (k.startsWith('$')) continue;
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      const del = patch[`$deleteFromPrimitiveList/${k}`];
      out[k] = smpList(k, Array.isArray(out[k]) ? (out[k] as Json[]) : undefined, v, Array.isArray(del) ? del : undefined);
    } else if (isObj(v)) {
      out[k] = smpObject(isObj(out[k]) ? (out[k] as JObj) : undefined, v);
    } else {
      out[k] = v;
    }
  }
  if (Array.isArray(retain)) {
    const keep = new Set(retain.map(String));
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  return out;
}

/** Strategic merge patch of a built-in object. */
export function applyStrategicMergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) throw apiError(400, 'unable to find api field in struct for the patch');
  return smpObject(isObj(target) ? target : {}, patch);
}

export type { Json, JObj };
