// The sandbox's object store: what etcd + the generic registry are to a real kube-apiserver.
// One Store per simulated cluster. Objects are kept by group-resource ("pods", "statefulsets.apps",
// "redisclusters.redis.redis.opstreelabs.in"), independent of API version. Every write bumps one
// cluster-wide resourceVersion, is appended to a write-ahead file (so a crashed sandbox can be inspected)
// and is fanned out to watchers, with a bounded history so a watch can resume from an older resourceVersion.
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  [k: string]: unknown;
}

export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface StoreEvent {
  type: WatchEventType;
  resource: string;
  object: KObject;
  rv: number;
}

/** A store failure, shaped like the Status the API server returns for it. */
export class StoreError extends Error {
  constructor(
    readonly code: number,
    readonly reason: 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Gone' | 'Invalid' | 'BadRequest',
    message: string,
  ) {
    super(message);
  }
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  /** Fail with 409 unless the object still has this uid / resourceVersion. */
  preconditions?: { uid?: string; resourceVersion?: string };
}

const HISTORY = 20_000;

function clone<T>(v: T): T {
  return structuredClone(v);
}

function key(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** Fields whose change does not bump metadata.generation (status and metadata are not spec). */
function specOf(o: KObject): unknown {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

export class Store {
  private rv = 1;
  private readonly data = new Map<string, Map<string, KObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly watchers = new Set<{ resource: string; namespace?: string; cb: (e: StoreEvent) => void }>();
  private nameSeq = 0;

  constructor(private readonly walPath?: string) {
    if (walPath) mkdirSync(dirname(walPath), { recursive: true });
  }

  /** The current resourceVersion (as a string, the way the API returns it). */
  get resourceVersion(): string {
    return String(this.rv);
  }

  private bucket(resource: string): Map<string, KObject> {
    let b = this.data.get(resource);
    if (!b) {
      b = new Map();
      this.data.set(resource, b);
    }
    return b;
  }

  get(resource: string, namespace: string | undefined, name: string): KObject | undefined {
    const o = this.data.get(resource)?.get(key(namespace, name));
    return o ? clone(o) : undefined;
  }

  /** All objects of a resource, in one namespace or (namespace undefined) all, sorted by namespace/name. */
  list(resource: string, namespace?: string): { items: KObject[]; resourceVersion: string } {
    const b = this.data.get(resource);
    const items: KObject[] = [];
    if (b) {
      for (const o of b.values()) if (namespace === undefined || o.metadata.namespace === namespace) items.push(clone(o));
    }
    items.sort((a, z) => key(a.metadata.namespace, a.metadata.name).localeCompare(key(z.metadata.namespace, z.metadata.name)));
    return { items, resourceVersion: this.resourceVersion };
  }

  create(resource: string, input: KObject): KObject {
    const o = clone(input);
    const meta = o.metadata;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${this.randomSuffix()}`;
    if (!meta.name) throw new StoreError(422, 'Invalid', `${resource} "": name or generateName is required`);
    const b = this.bucket(resource);
    const k = key(meta.namespace, meta.name);
    if (b.has(k)) throw new StoreError(409, 'AlreadyExists', `${resource} "${meta.name}" already exists`);
    meta.uid = randomUUID();
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    meta.generation = 1;
    delete meta.deletionTimestamp;
    meta.resourceVersion = String(++this.rv);
    b.set(k, o);
    this.emit({ type: 'ADDED', resource, object: clone(o), rv: this.rv });
    return clone(o);
  }

  /**
   * Replace an object. If input.metadata.resourceVersion is set it must equal the stored one (optimistic
   * concurrency, 409 Conflict otherwise). `subresource` "status" keeps everything but status; any other update
   * keeps status (as the real registry does for resources with a status subresource when `statusSubresource` is true).
   */
  update(resource: string, input: KObject, opts: { subresource?: 'status'; statusSubresource?: boolean } = {}): KObject {
    const b = this.bucket(resource);
    const k = key(input.metadata.namespace, input.metadata.name);
    const cur = b.get(k);
    if (!cur) throw new StoreError(404, 'NotFound', `${resource} "${input.metadata.name}" not found`);
    const wantRV = input.metadata.resourceVersion;
    if (wantRV && wantRV !== cur.metadata.resourceVersion) {
      throw new StoreError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resource} "${input.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    let next: KObject;
    if (opts.subresource === 'status') {
      next = clone(cur);
      next.status = clone(input.status);
    } else {
      next = clone(input);
      if (opts.statusSubresource) {
        if (cur.status === undefined) delete next.status;
        else next.status = clone(cur.status);
      }
      // Immutable metadata comes from the stored object.
      next.metadata.uid = cur.metadata.uid;
      next.metadata.creationTimestamp = cur.metadata.creationTimestamp;
      next.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
      if (next.metadata.deletionGracePeriodSeconds === undefined && cur.metadata.deletionGracePeriodSeconds !== undefined) {
        next.metadata.deletionGracePeriodSeconds = cur.metadata.deletionGracePeriodSeconds;
      }
      next.metadata.generation = cur.metadata.generation ?? 1;
      if (JSON.stringify(specOf(next)) !== JSON.stringify(specOf(cur))) next.metadata.generation += 1;
    }
    if (JSON.stringify(next) === JSON.stringify({ ...cur })) return clone(cur); // no-op writes do not bump rv
    // An object being deleted goes away once its last finalizer is removed.
    if (next.metadata.deletionTimestamp && !(next.metadata.finalizers?.length) && !this.waitsForKubelet(resource, next) && !this.hasSpecFinalizers(resource, next)) {
      b.delete(k);
      next.metadata.resourceVersion = String(++this.rv);
      this.emit({ type: 'DELETED', resource, object: clone(next), rv: this.rv });
      return clone(next);
    }
    next.metadata.resourceVersion = String(++this.rv);
    b.set(k, next);
    this.emit({ type: 'MODIFIED', resource, object: clone(next), rv: this.rv });
    return clone(next);
  }

  /**
   * Delete as the API server does: objects with finalizers, and scheduled pods with a grace period, are only marked
   * (deletionTimestamp set); everything else is removed at once. Returns the object as it is after the call and
   * whether it is gone.
   */
  delete(resource: string, namespace: string | undefined, name: string, opts: DeleteOptions = {}): { object: KObject; gone: boolean } {
    const b = this.bucket(resource);
    const k = key(namespace, name);
    const cur = b.get(k);
    if (!cur) throw new StoreError(404, 'NotFound', `${resource} "${name}" not found`);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== cur.metadata.uid) {
      throw new StoreError(409, 'Conflict', `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw new StoreError(409, 'Conflict', `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
    }
    const grace = this.gracePeriod(resource, cur, opts.gracePeriodSeconds);
    const mustWait = (cur.metadata.finalizers?.length ?? 0) > 0 || grace > 0 || this.hasSpecFinalizers(resource, cur);
    if (mustWait) {
      if (cur.metadata.deletionTimestamp && (cur.metadata.deletionGracePeriodSeconds ?? 0) <= grace) {
        return { object: clone(cur), gone: false }; // already being deleted; a longer grace cannot extend it
      }
      const next = clone(cur);
      next.metadata.deletionTimestamp = cur.metadata.deletionTimestamp ?? new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      next.metadata.deletionGracePeriodSeconds = grace;
      next.metadata.resourceVersion = String(++this.rv);
      b.set(k, next);
      this.emit({ type: 'MODIFIED', resource, object: clone(next), rv: this.rv });
      return { object: clone(next), gone: false };
    }
    b.delete(k);
    const gone = clone(cur);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit({ type: 'DELETED', resource, object: clone(gone), rv: this.rv });
    return { object: gone, gone: true };
  }

  /**
   * Watch a resource (in a namespace, or all). With `sinceRV`, first replays every event after it; throws 410 Gone
   * when that is older than the history kept. Returns the function that stops the watch.
   */
  watch(resource: string, namespace: string | undefined, sinceRV: string | undefined, cb: (e: StoreEvent) => void): () => void {
    if (sinceRV !== undefined && sinceRV !== '' && sinceRV !== '0') {
      const since = Number(sinceRV);
      if (!Number.isFinite(since)) throw new StoreError(400, 'BadRequest', `invalid resourceVersion "${sinceRV}"`);
      const oldest = this.history[0]?.rv ?? this.rv;
      if (since < oldest - 1 && this.history.length >= HISTORY) {
        throw new StoreError(410, 'Gone', `too old resource version: ${since} (${oldest - 1})`);
      }
      for (const e of this.history) {
        if (e.rv > since && e.resource === resource && (namespace === undefined || e.object.metadata.namespace === namespace)) cb(clone(e));
      }
    }
    const w = { resource, namespace, cb };
    this.watchers.add(w);
    return () => {
      this.watchers.delete(w);
    };
  }

  /** Every resource name that holds at least one object (for the garbage collector and dumps). */
  resources(): string[] {
    return [...this.data.keys()];
  }

  private emit(e: StoreEvent): void {
    this.history.push(e);
    if (this.history.length > HISTORY) this.history.splice(0, this.history.length - HISTORY);
    if (this.walPath) {
      appendFileSync(this.walPath, JSON.stringify({ rv: e.rv, type: e.type, resource: e.resource, object: e.object }) + '\n');
    }
    for (const w of [...this.watchers]) {
      if (w.resource !== e.resource) continue;
      if (w.namespace !== undefined && e.object.metadata.namespace !== w.namespace) continue;
      try {
        w.cb(clone(e));
      } catch {
        // A broken watcher must not break the write that triggered it.
      }
    }
  }

  /** Pods bound to a node are deleted gracefully: the kubelet finishes the deletion (grace period 0). */
  private gracePeriod(resource: string, o: KObject, requested: number | undefined): number {
    if (resource !== 'pods') return 0;
    const spec = (o.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
    if (!spec.nodeName) return 0;
    if (requested !== undefined) return Math.max(0, requested);
    return spec.terminationGracePeriodSeconds ?? 30;
  }

  /** A namespace is only marked (Terminating) while spec.finalizers is non-empty; the namespace controller empties it. */
  private hasSpecFinalizers(resource: string, o: KObject): boolean {
    if (resource !== 'namespaces') return false;
    const f = (o.spec as { finalizers?: string[] } | undefined)?.finalizers;
    return Array.isArray(f) && f.length > 0;
  }

  private waitsForKubelet(resource: string, o: KObject): boolean {
    return resource === 'pods' && (o.metadata.deletionGracePeriodSeconds ?? 0) > 0;
  }

  private randomSuffix(): string {
    const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
    let s = '';
    let n = Date.now() + ++this.nameSeq * 7919;
    for (let i = 0; i < 5; i++) {
      s += alphabet[(n + Math.floor(Math.random() * alphabet.length)) % alphabet.length];
      n = Math.floor(n / alphabet.length);
    }
    return s;
  }
}
