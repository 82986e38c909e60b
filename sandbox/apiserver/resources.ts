// The generic registry: create/get/list/update/patch/delete of every resource type over the store, with the
// special behaviour of namespaces, CRDs, /status, /scale and pods/eviction.
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { KObject, Store } from '../core/store.js';
import { Registry, storeKey, apiVersionOf, type ResourceType } from '../core/registry.js';
import { matchesFieldSelector, matchesLabelSelector, matchesLabelString, type LabelSelector } from '../core/selectors.js';
import { applyDefaults, validateObject } from './defaults.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, type Json } from './patch.js';
import { ApiError, apiError, fromStoreError, notFound } from './status.js';
import { Paginator, type Page } from './paging.js';
import { goFormat, goQuote, jsonDecodeError, unstructuredError } from './schema.js';
import { updateManagedFields } from './managedfields.js';

export interface WriteOptions {
  dryRun: boolean;
  /** Who writes (fieldManager, else the User-Agent's product), for managedFields. */
  manager?: string;
  /** A server-side apply: its configuration, whose fields the manager then owns (operation Apply). */
  applied?: KObject;
}

export interface DeleteRequest {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun: boolean;
}

export const CRD_KEY = 'customresourcedefinitions.apiextensions.k8s.io';
const PDB_KEY = 'poddisruptionbudgets.policy';

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** metav1.LabelSelector -> its string form (as Scale.status.selector carries it). */
export function selectorString(sel: LabelSelector | undefined): string {
  if (!sel) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const r of sel.matchExpressions ?? []) {
    if (r.operator === 'In') parts.push(`${r.key} in (${(r.values ?? []).join(',')})`);
    else if (r.operator === 'NotIn') parts.push(`${r.key} notin (${(r.values ?? []).join(',')})`);
    else if (r.operator === 'Exists') parts.push(r.key);
    else parts.push(`!${r.key}`);
  }
  return parts.join(',');
}

function readPath(o: unknown, path: string): unknown {
  let v = o;
  for (const p of path.replace(/^\./, '').split('.')) {
    if (!isObj(v)) return undefined;
    v = v[p];
  }
  return v;
}

function writePath(o: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.replace(/^\./, '').split('.');
  let v = o;
  for (const p of parts.slice(0, -1)) {
    if (!isObj(v[p])) v[p] = {};
    v = v[p] as Record<string, unknown>;
  }
  v[parts[parts.length - 1]] = value;
}

/**
 * RESTUpdateStrategy.AllowUnconditionalUpdate of the kinds the sandbox serves (kubernetes v1.32 pkg/registry/*\/strategy.go):
 * true for the core, apps, policy, rbac, storage, events kinds; false for custom resources and CRDs
 * (apiextensions-apiserver pkg/registry/customresource{,definition}/strategy.go) and Leases
 * (pkg/registry/coordination/lease/strategy.go).
 */
export function allowUnconditionalUpdate(t: ResourceType, key: string): boolean {
  return !t.custom && key !== CRD_KEY && key !== 'leases.coordination.k8s.io';
}

export class Resources {
  /** The snapshots paged lists continue from (see paging.ts). */
  readonly paginator = new Paginator();

  constructor(
    readonly store: Store,
    readonly registry: Registry,
  ) {}

  /** The object as served at a version: apiVersion/kind of the request. */
  present(t: ResourceType, version: string, o: KObject): KObject {
    o.apiVersion = apiVersionOf(t.group, version);
    o.kind = t.kind;
    return o;
  }

  private key(t: ResourceType): string {
    return storeKey(t);
  }

  private fail(e: unknown, t: ResourceType, name: string): ApiError {
    return fromStoreError(e, t.plural, t.group, name);
  }

  requireNamespace(ns: string, forCreate: boolean): void {
    const n = this.store.get('namespaces', undefined, ns);
    if (!n) throw notFound('namespaces', '', ns);
    if (forCreate && n.metadata.deletionTimestamp) {
      throw apiError(403, `${'unable to create new content in namespace'} ${ns} because it is being terminated`, { name: ns, kind: 'namespaces' }, 'Forbidden');
    }
  }

  get(t: ResourceType, version: string, ns: string | undefined, name: string): KObject {
    const o = this.store.get(this.key(t), t.namespaced ? ns : undefined, name);
    if (!o) throw notFound(t.plural, t.group, name);
    return this.present(t, version, o);
  }

  list(t: ResourceType, version: string, ns: string | undefined, labelSelector?: string, fieldSelector?: string): { items: KObject[]; resourceVersion: string } {
    const { items, resourceVersion } = this.store.list(this.key(t), t.namespaced ? ns : undefined);
    const out: KObject[] = [];
    for (const o of items) {
      if (!this.matches(o, labelSelector, fieldSelector)) continue;
      out.push(this.present(t, version, o));
    }
    return { items: out, resourceVersion };
  }

  /** A list request with its `limit`, `continue` and `resourceVersion` parameters, one page of it. */
  listPage(t: ResourceType, version: string, ns: string | undefined, q: URLSearchParams): Page {
    const labelSelector = q.get('labelSelector') ?? undefined;
    const fieldSelector = q.get('fieldSelector') ?? undefined;
    this.matches({ apiVersion: 'v1', kind: 'x', metadata: { name: '' } }, labelSelector, fieldSelector); // validates selectors (400)
    const key = this.key(t);
    const page = this.paginator.page(key, {
      all: () => this.store.list(key).items,
      rv: Number(this.store.resourceVersion),
      namespace: t.namespaced ? ns : undefined,
      limit: q.get('limit'),
      continueToken: q.get('continue'),
      resourceVersion: q.get('resourceVersion'),
      matches: (o) => this.matches(o, labelSelector, fieldSelector),
      unfiltered: !labelSelector && !fieldSelector,
    });
    return { ...page, items: page.items.map((o) => this.present(t, version, structuredClone(o))) };
  }

  matches(o: KObject, labelSelector?: string, fieldSelector?: string): boolean {
    try {
      return matchesLabelString(labelSelector, o.metadata.labels) && matchesFieldSelector(fieldSelector, o);
    } catch (e) {
      throw apiError(400, e instanceof Error ? e.message : String(e));
    }
  }

  create(t: ResourceType, version: string, ns: string | undefined, body: unknown, opts: WriteOptions): KObject {
    if (!isObj(body) || !isObj(body.metadata)) {
      if (isObj(body) && body.metadata === undefined) body.metadata = {};
      else throw apiError(400, 'the body of the request was in an unknown format');
    }
    const o = structuredClone(body) as KObject;
    const meta = o.metadata;
    if (t.namespaced) {
      if (meta.namespace && ns && meta.namespace !== ns) {
        throw apiError(400, 'the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = ns ?? meta.namespace;
      if (!meta.namespace) throw apiError(400, 'the namespace of the provided object does not match the namespace sent on the request');
      this.requireNamespace(meta.namespace, true);
    } else {
      delete meta.namespace;
    }
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    if (!meta.name) {
      throw apiError(422, `${t.kind}${t.group ? '.' + t.group : ''} "" is invalid: metadata.name: Required value: name or generateName is required`, {
        group: t.group || undefined,
        kind: t.kind,
        causes: [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }],
      });
    }
    for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'managedFields', 'selfLink']) delete meta[f];
    const key = this.key(t);
    applyDefaults(key, o, { create: true, defaultStorageClass: this.defaultStorageClass() });
    if (key === CRD_KEY) this.crdStatus(o);
    validateObject(t, key, o);
    this.present(t, version, o);
    this.manage(undefined, o, '', opts);
    if (opts.dryRun) {
      if (this.store.get(key, meta.namespace, meta.name)) throw apiError(409, `${t.group ? `${t.plural}.${t.group}` : t.plural} "${meta.name}" already exists`, { name: meta.name, group: t.group || undefined, kind: t.plural }, 'AlreadyExists');
      meta.uid = randomUUID();
      meta.creationTimestamp = now();
      meta.generation = 1;
      return o;
    }
    try {
      const created = this.store.create(key, o);
      if (key === CRD_KEY) this.registry.registerCrd(created);
      return this.present(t, version, created);
    } catch (e) {
      throw this.fail(e, t, meta.name);
    }
  }

  private defaultStorageClass(): string | undefined {
    const scs = this.store.list('storageclasses.storage.k8s.io').items;
    const d = scs.find((s) => s.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
    return d?.metadata.name;
  }

  /** CRD status as the apiextensions controllers set it: names accepted, Established. */
  crdStatus(o: KObject): void {
    const spec = o.spec as { names?: Record<string, unknown>; versions?: Array<{ name: string; storage?: boolean }> } | undefined;
    const ts = now();
    o.status = {
      acceptedNames: spec?.names ?? {},
      conditions: [
        { type: 'NamesAccepted', status: 'True', lastTransitionTime: ts, reason: 'NoConflicts', message: 'no conflicts found' },
        { type: 'Established', status: 'True', lastTransitionTime: ts, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
      ],
      storedVersions: (spec?.versions ?? []).filter((v) => v.storage).map((v) => v.name),
    };
  }

  update(t: ResourceType, version: string, ns: string | undefined, name: string, body: unknown, subresource: string, opts: WriteOptions): KObject {
    if (!isObj(body) || !isObj(body.metadata)) throw apiError(400, 'the body of the request was in an unknown format');
    const o = structuredClone(body) as KObject;
    if (o.metadata.name && o.metadata.name !== name) {
      throw apiError(400, `the name of the object (${o.metadata.name}) does not match the name on the URL (${name})`);
    }
    o.metadata.name = name;
    if (t.namespaced) {
      if (o.metadata.namespace && o.metadata.namespace !== ns) throw apiError(400, 'the namespace of the provided object does not match the namespace sent on the request');
      o.metadata.namespace = ns;
    } else delete o.metadata.namespace;
    const key = this.key(t);
    const cur = this.store.get(key, t.namespaced ? ns : undefined, name);
    if (!cur) throw notFound(t.plural, t.group, name);
    // No resourceVersion ("" or "0", both parse to 0): an unconditional update where the kind's strategy allows one,
    // else 422 (apiserver pkg/registry/generic/registry/store.go Update, v1.32; the value is a uint64, printed %#v).
    if (!o.metadata.resourceVersion || o.metadata.resourceVersion === '0') {
      if (!allowUnconditionalUpdate(t, key)) {
        const gk = t.group ? `${t.plural}.${t.group}` : t.plural;
        throw apiError(422, `${gk} "${name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`, {
          name,
          group: t.group || undefined,
          kind: t.plural,
          causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update', field: 'metadata.resourceVersion' }],
        });
      }
      o.metadata.resourceVersion = cur.metadata.resourceVersion;
    }
    if (subresource === 'status') {
      if (!t.subresources.includes('status')) throw notFound(t.plural, t.group, name);
    } else {
      applyDefaults(key, o, { create: false });
      validateObject(t, key, o);
      this.present(t, version, o);
      this.manage(cur, o, subresource, opts);
    }
    if (opts.dryRun) {
      const rv = o.metadata.resourceVersion;
      if (rv && rv !== cur.metadata.resourceVersion) throw this.fail(this.conflict(t, name), t, name);
      return this.present(t, version, subresource === 'status' ? { ...cur, status: o.status } : { ...o, metadata: { ...o.metadata, uid: cur.metadata.uid } });
    }
    try {
      const next = this.store.update(key, o, subresource === 'status' ? { subresource: 'status' } : { statusSubresource: t.subresources.includes('status') });
      if (key === CRD_KEY && next.metadata.deletionTimestamp === undefined) this.registry.registerCrd(next);
      return this.present(t, version, next);
    } catch (e) {
      throw this.fail(e, t, name);
    }
  }

  /** metadata.managedFields after this write (writes through the API only; the sandbox's controllers write the store). */
  private manage(cur: KObject | undefined, o: KObject, subresource: string, opts: WriteOptions): void {
    if (opts.manager === undefined) {
      if (cur?.metadata.managedFields) o.metadata.managedFields = cur.metadata.managedFields;
      else delete o.metadata.managedFields;
      return;
    }
    const entries = updateManagedFields(cur, o, { manager: opts.manager, operation: opts.applied ? 'Apply' : 'Update', apiVersion: o.apiVersion, subresource, time: now() }, opts.applied);
    if (entries.length > 0) o.metadata.managedFields = entries;
    else delete o.metadata.managedFields;
  }

  private conflict(t: ResourceType, name: string): ApiError {
    const gr = t.group ? `${t.plural}.${t.group}` : t.plural;
    return apiError(409, `Operation cannot be fulfilled on ${gr} "${name}": the object has been modified; please apply your changes to the latest version and try again`, {
      name,
      group: t.group || undefined,
      kind: t.plural,
    });
  }

  /** Apply a patch document of a given content type to `cur` (a full object). */
  applyPatch(t: ResourceType, contentType: string, cur: KObject, raw: string): KObject {
    const ct = contentType.split(';')[0].trim();
    let patch: unknown;
    try {
      patch = ct === 'application/apply-patch+yaml' ? parseYaml(raw) : JSON.parse(raw);
    } catch (e) {
      throw apiError(400, `error decoding patch: ${e instanceof Error ? e.message : String(e)}`);
    }
    switch (ct) {
      case 'application/json-patch+json':
        return applyJsonPatch(cur as unknown as Json, patch) as unknown as KObject;
      case 'application/merge-patch+json':
        return applyMergePatch(cur as unknown as Json, patch as Json) as unknown as KObject;
      case 'application/strategic-merge-patch+json':
        if (t.custom) throw this.unsupportedPatch(ct);
        return applyStrategicMergePatch(cur as unknown as Json, patch as Json) as unknown as KObject;
      case 'application/apply-patch+yaml':
        return (t.custom ? applyMergePatch(cur as unknown as Json, patch as Json) : applyStrategicMergePatch(cur as unknown as Json, patch as Json)) as unknown as KObject;
      default:
        throw this.unsupportedPatch(ct);
    }
  }

  private unsupportedPatch(_ct: string): ApiError {
    return apiError(
      415,
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
      undefined,
      'UnsupportedMediaType',
    );
  }

  patch(t: ResourceType, version: string, ns: string | undefined, name: string, contentType: string, raw: string, subresource: string, opts: WriteOptions & { fieldManager?: string }): { object: KObject; created: boolean } {
    const key = this.key(t);
    const isApply = contentType.startsWith('application/apply-patch+yaml');
    const cur = this.store.get(key, t.namespaced ? ns : undefined, name);
    if (!cur) {
      if (isApply && !subresource) {
        if (!opts.fieldManager) {
          throw apiError(422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
            group: 'meta.k8s.io',
            kind: 'PatchOptions',
            causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
          });
        }
        let body: unknown;
        try {
          body = parseYaml(raw);
        } catch (e) {
          throw apiError(400, `error decoding patch: ${e instanceof Error ? e.message : String(e)}`);
        }
        if (!isObj(body)) throw apiError(400, 'error decoding patch: not an object');
        const meta = isObj(body.metadata) ? body.metadata : (body.metadata = {});
        if (meta.name && meta.name !== name) throw apiError(400, `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
        meta.name = name;
        return { object: this.create(t, version, ns, body, { ...opts, applied: structuredClone(body) as KObject }), created: true };
      }
      throw notFound(t.plural, t.group, name);
    }
    const patched = this.applyPatch(t, contentType, structuredClone(cur), raw);
    if (!t.custom) this.checkPatchedTypes(key, contentType, raw, patched);
    if (!isObj(patched) || !isObj(patched.metadata)) throw apiError(422, 'the patch produced an invalid object');
    if (patched.metadata.name !== name) throw apiError(400, `the name of the object (${String(patched.metadata.name)}) does not match the name on the URL (${name})`);
    // A resourceVersion in the patch is a precondition; otherwise the patch applies to what was just read.
    if (!patched.metadata.resourceVersion) patched.metadata.resourceVersion = cur.metadata.resourceVersion;
    if (subresource === 'status') {
      const withStatus = { ...cur, metadata: { ...cur.metadata, resourceVersion: patched.metadata.resourceVersion }, status: patched.status };
      return { object: this.update(t, version, ns, name, withStatus, 'status', opts), created: false };
    }
    const applied = isApply ? (parseYaml(raw) as KObject) : undefined;
    return { object: this.update(t, version, ns, name, patched, '', { ...opts, applied }), created: false };
  }

  /**
   * The patched object must still fit the kind's Go types, or the patch handler answers 422 for the field "patch"
   * (apiserver pkg/endpoints/handlers/patch.go v1.32): after a strategic merge patch the converter's error with the
   * patch as %+v, after a JSON merge / JSON patch the decoder's error with the patched object as JSON.
   */
  private checkPatchedTypes(key: string, contentType: string, raw: string, patched: unknown): void {
    const ct = contentType.split(';')[0].trim();
    let value: string;
    let err: string | undefined;
    if (ct === 'application/strategic-merge-patch+json') {
      err = unstructuredError(key, patched);
      value = err ? goFormat(JSON.parse(raw)) : '';
    } else if (ct === 'application/merge-patch+json' || ct === 'application/json-patch+json') {
      err = jsonDecodeError(key, patched);
      value = err ? JSON.stringify(patched) : '';
    } else return;
    if (!err) return;
    const message = `Invalid value: ${goQuote(value)}: ${err}`;
    throw apiError(422, ` "" is invalid: patch: ${message}`, { causes: [{ reason: 'FieldValueInvalid', message, field: 'patch' }] });
  }

  // ---- scale ----

  private scalePaths(t: ResourceType, version: string): { spec: string; status: string; selector?: string } {
    if (!t.custom) return { spec: '.spec.replicas', status: '.status.replicas', selector: undefined };
    const crd = this.store.list(CRD_KEY).items.find((c) => {
      const s = c.spec as { group?: string; names?: { plural?: string } };
      return s.group === t.group && s.names?.plural === t.plural;
    });
    const p = crd ? Registry.crdScalePaths(crd, version) : undefined;
    if (!p) throw apiError(404, 'the server could not find the requested resource');
    return { spec: p.specReplicasPath, status: p.statusReplicasPath, selector: p.labelSelectorPath };
  }

  getScale(t: ResourceType, version: string, ns: string | undefined, name: string): KObject {
    const o = this.get(t, version, ns, name);
    return this.toScale(t, version, o);
  }

  private toScale(t: ResourceType, version: string, o: KObject): KObject {
    const paths = this.scalePaths(t, version);
    const selector = paths.selector
      ? String(readPath(o, paths.selector) ?? '')
      : selectorString((o.spec as { selector?: LabelSelector } | undefined)?.selector);
    const scale: KObject = {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: o.metadata.name,
        namespace: o.metadata.namespace,
        uid: o.metadata.uid,
        resourceVersion: o.metadata.resourceVersion,
        creationTimestamp: o.metadata.creationTimestamp,
      },
      spec: { replicas: Number(readPath(o, paths.spec) ?? 0) },
      status: { replicas: Number(readPath(o, paths.status) ?? 0), ...(selector ? { selector } : {}) },
    };
    return scale;
  }

  writeScale(t: ResourceType, version: string, ns: string | undefined, name: string, scale: unknown, opts: WriteOptions): KObject {
    if (!isObj(scale) || !isObj(scale.spec)) throw apiError(400, 'the body of the request was in an unknown format');
    const replicas = Number(scale.spec.replicas ?? 0);
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw apiError(422, `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${String(scale.spec.replicas)}: must be greater than or equal to 0`, {
        name,
        group: 'autoscaling',
        kind: 'Scale',
        causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: ${String(scale.spec.replicas)}: must be greater than or equal to 0`, field: 'spec.replicas' }],
      });
    }
    const o = this.get(t, version, ns, name);
    const rv = isObj(scale.metadata) ? (scale.metadata.resourceVersion as string | undefined) : undefined;
    if (rv && rv !== o.metadata.resourceVersion) throw this.conflict(t, name);
    writePath(o as Record<string, unknown>, this.scalePaths(t, version).spec, replicas);
    const next = this.update(t, version, ns, name, o, '', opts);
    return this.toScale(t, version, next);
  }

  patchScale(t: ResourceType, version: string, ns: string | undefined, name: string, contentType: string, raw: string, opts: WriteOptions): KObject {
    const cur = this.getScale(t, version, ns, name);
    const scaleType: ResourceType = { ...t, custom: false };
    const patched = this.applyPatch(scaleType, contentType, cur, raw);
    return this.writeScale(t, version, ns, name, patched, opts);
  }

  // ---- delete ----

  delete(t: ResourceType, version: string, ns: string | undefined, name: string, req: DeleteRequest): { object: KObject; gone: boolean } {
    const key = this.key(t);
    const namespace = t.namespaced ? ns : undefined;
    const cur = this.store.get(key, namespace, name);
    if (!cur) throw notFound(t.plural, t.group, name);
    if (req.dryRun) return { object: this.present(t, version, cur), gone: false };
    const policy = req.propagationPolicy ?? 'Background';
    if (policy === 'Orphan') this.orphanDependents(cur);
    let result: { object: KObject; gone: boolean };
    try {
      result = this.store.delete(key, namespace, name, { gracePeriodSeconds: req.gracePeriodSeconds, preconditions: req.preconditions });
    } catch (e) {
      throw this.fail(e, t, name);
    }
    if (key === CRD_KEY) this.dropCustomResources(cur);
    if (key === 'namespaces' && !result.gone) {
      const marked = this.store.get('namespaces', undefined, name);
      if (marked && (marked.status as { phase?: string } | undefined)?.phase !== 'Terminating') {
        marked.status = { ...(isObj(marked.status) ? marked.status : {}), phase: 'Terminating' };
        result = { object: this.store.update('namespaces', marked, { subresource: 'status' }), gone: false };
      }
    }
    return { object: this.present(t, version, result.object), gone: result.gone };
  }

  /** Remove the ownerReferences that point at `owner` from every object (propagationPolicy Orphan). */
  private orphanDependents(owner: KObject): void {
    const uid = owner.metadata.uid;
    for (const res of this.store.resources()) {
      for (const o of this.store.list(res, owner.metadata.namespace && this.registry.byKey(res)?.namespaced ? owner.metadata.namespace : undefined).items) {
        const refs = o.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === uid)) continue;
        o.metadata.ownerReferences = refs.filter((r) => r.uid !== uid);
        if (o.metadata.ownerReferences.length === 0) delete o.metadata.ownerReferences;
        try {
          this.store.update(res, o);
        } catch {
          // changed meanwhile: the garbage collector's next pass sees the owner gone
        }
      }
    }
  }

  /** Deleting a CRD deletes every custom resource of it and stops serving it. */
  private dropCustomResources(crd: KObject): void {
    const spec = crd.spec as { group: string; names: { plural: string } };
    const key = storeKey({ group: spec.group, plural: spec.names.plural });
    for (const o of this.store.list(key).items) {
      try {
        this.store.delete(key, o.metadata.namespace, o.metadata.name);
        const left = this.store.get(key, o.metadata.namespace, o.metadata.name);
        if (left) {
          left.metadata.finalizers = [];
          this.store.update(key, left);
        }
      } catch {
        // already gone
      }
    }
    this.registry.unregisterCrd(crd);
  }

  /** One pass of the namespace controller: delete everything in terminating namespaces, then the namespace. */
  sweepNamespaces(): void {
    for (const ns of this.store.list('namespaces').items) {
      if (!ns.metadata.deletionTimestamp) continue;
      let left = 0;
      for (const t of this.registry.all()) {
        if (!t.namespaced || t.verbs.length === 1) continue;
        const key = storeKey(t);
        for (const o of this.store.list(key, ns.metadata.name).items) {
          left++;
          if (o.metadata.deletionTimestamp) continue;
          try {
            this.store.delete(key, o.metadata.namespace, o.metadata.name);
          } catch {
            // gone meanwhile
          }
        }
      }
      if (left === 0) {
        const cur = this.store.get('namespaces', undefined, ns.metadata.name);
        if (cur) {
          cur.spec = { ...(isObj(cur.spec) ? cur.spec : {}), finalizers: [] };
          try {
            this.store.update('namespaces', cur);
          } catch {
            // retried on the next pass
          }
        }
      }
    }
  }

  deleteCollection(t: ResourceType, version: string, ns: string | undefined, labelSelector: string | undefined, fieldSelector: string | undefined, req: DeleteRequest): KObject[] {
    const out: KObject[] = [];
    for (const o of this.list(t, version, ns, labelSelector, fieldSelector).items) {
      try {
        out.push(this.delete(t, version, o.metadata.namespace, o.metadata.name, req).object);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    return out;
  }

  // ---- eviction ----

  /** pods/eviction as pkg/registry/core/pod/storage/eviction.go does it. */
  evict(ns: string, name: string, body: unknown): void {
    const pod = this.store.get('pods', ns, name);
    if (!pod) throw notFound('pods', '', name);
    const eviction = isObj(body) ? body : {};
    const delOpts = isObj(eviction.deleteOptions) ? eviction.deleteOptions : {};
    const dryRun = Array.isArray(delOpts.dryRun) && delOpts.dryRun.includes('All');
    const grace = typeof delOpts.gracePeriodSeconds === 'number' ? delOpts.gracePeriodSeconds : undefined;
    const pre = isObj(delOpts.preconditions) ? (delOpts.preconditions as { uid?: string; resourceVersion?: string }) : undefined;
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    const ignorePdb = phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata.deletionTimestamp;
    if (!ignorePdb) {
      const pdbs = this.store.list(PDB_KEY, ns).items.filter((p) => {
        const sel = (p.spec as { selector?: LabelSelector } | undefined)?.selector;
        return sel !== undefined && matchesLabelSelector(sel, pod.metadata.labels);
      });
      if (pdbs.length > 1) {
        throw apiError(500, 'Internal error occurred: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.', {
          causes: [{ message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.' }],
        });
      }
      if (pdbs.length === 1) {
        const pdb = pdbs[0];
        const st = (pdb.status ?? {}) as { observedGeneration?: number; disruptionsAllowed?: number; desiredHealthy?: number; currentHealthy?: number; disruptedPods?: Record<string, string> };
        const tooMany = (message: string): ApiError =>
          apiError(429, "Cannot evict pod as it would violate the pod's disruption budget.", { causes: [{ reason: 'DisruptionBudget', message }] });
        if (st.observedGeneration === undefined || st.observedGeneration < (pdb.metadata.generation ?? 1)) {
          throw tooMany(`The disruption budget ${pdb.metadata.name} is still being processed by the server.`);
        }
        if ((st.disruptionsAllowed ?? 0) < 0) {
          throw apiError(403, `poddisruptionbudget.policy "${pdb.metadata.name}" is forbidden: pdb disruptions allowed is negative`, { name: pdb.metadata.name, group: 'policy', kind: 'poddisruptionbudget' }, 'Forbidden');
        }
        if ((st.disruptionsAllowed ?? 0) < 1) {
          throw tooMany(`The disruption budget ${pdb.metadata.name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`);
        }
        if (!dryRun) {
          pdb.status = { ...st, disruptionsAllowed: (st.disruptionsAllowed ?? 0) - 1, disruptedPods: { ...(st.disruptedPods ?? {}), [name]: now() } };
          try {
            this.store.update(PDB_KEY, pdb, { subresource: 'status' });
          } catch (e) {
            throw fromStoreError(e, 'poddisruptionbudgets', 'policy', pdb.metadata.name);
          }
        }
      }
    }
    if (dryRun) return;
    try {
      this.store.delete('pods', ns, name, { gracePeriodSeconds: grace, preconditions: pre });
    } catch (e) {
      throw fromStoreError(e, 'pods', '', name);
    }
  }
}
