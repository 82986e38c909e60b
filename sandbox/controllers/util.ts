// Small pieces every controller shares: a watch-driven, debounced reconcile loop, writes that survive 409s,
// pod readiness, owner references, template hashes and Events.
import { randomUUID } from 'node:crypto';
import type { ClusterContext } from '../core/context.js';
import { StoreError, type KObject, type OwnerReference, type Store } from '../core/store.js';

export type Obj = Record<string, unknown>;

export function obj(v: unknown): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface Loop {
  /** Ask for a pass soon (coalesced). */
  kick(): void;
  stop(): Promise<void>;
}

/**
 * Run `pass` whenever one of `resources` changes (debounced by `debounceMs`) and every `resyncMs`. Passes never
 * overlap; a kick during a pass runs one more pass after it. Errors are logged, never thrown.
 */
export function startLoop(ctx: ClusterContext, name: string, resources: string[], pass: () => void | Promise<void>, opts: { resyncMs?: number; debounceMs?: number } = {}): Loop {
  const debounceMs = opts.debounceMs ?? 30;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const run = (): void => {
    timer = undefined;
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      try {
        await pass();
      } catch (e) {
        ctx.log(`${name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    })().finally(() => {
      running = undefined;
      if (again && !stopped) {
        again = false;
        kick();
      }
    });
  };
  const kick = (): void => {
    if (stopped || timer) return;
    timer = setTimeout(run, debounceMs);
  };
  const unwatch = resources.map((r) => ctx.store.watch(r, undefined, undefined, () => kick()));
  const resync = setInterval(kick, opts.resyncMs ?? 3000);
  kick();
  return {
    kick,
    async stop() {
      stopped = true;
      for (const u of unwatch) u();
      clearInterval(resync);
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

/** Read-modify-write with a few retries on 409 (re-reading the object each time). Returns the result or undefined if gone. */
export function mutate(store: Store, resource: string, ns: string | undefined, name: string, fn: (o: KObject) => boolean | void, opts: { subresource?: 'status' } = {}): KObject | undefined {
  for (let attempt = 0; attempt < 5; attempt++) {
    const cur = store.get(resource, ns, name);
    if (!cur) return undefined;
    if (fn(cur) === false) return cur;
    try {
      return store.update(resource, cur, opts);
    } catch (e) {
      if (e instanceof StoreError && e.code === 409) continue;
      if (e instanceof StoreError && e.code === 404) return undefined;
      throw e;
    }
  }
  return undefined;
}

/** Create, ignoring AlreadyExists. */
export function createIfMissing(store: Store, resource: string, o: KObject): KObject | undefined {
  try {
    return store.create(resource, o);
  } catch (e) {
    if (e instanceof StoreError && e.code === 409) return undefined;
    throw e;
  }
}

/** Delete, ignoring NotFound (and 409 from a uid precondition: the object was replaced meanwhile). */
export function deleteQuietly(store: Store, resource: string, ns: string | undefined, name: string, uid?: string): boolean {
  try {
    store.delete(resource, ns, name, uid ? { preconditions: { uid } } : {});
    return true;
  } catch (e) {
    if (e instanceof StoreError && (e.code === 404 || e.code === 409)) return false;
    throw e;
  }
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string | null;
  lastHeartbeatTime?: string;
  lastUpdateTime?: string;
}

export function conditions(o: KObject): Condition[] {
  const c = obj(o.status).conditions;
  return Array.isArray(c) ? (c as Condition[]) : [];
}

export function condition(o: KObject, type: string): Condition | undefined {
  return conditions(o).find((c) => c.type === type);
}

/** Set a condition in a list, keeping lastTransitionTime when the status does not change. */
export function setCondition(list: Condition[], next: Condition): Condition[] {
  const old = list.find((c) => c.type === next.type);
  const merged: Condition = { ...next };
  if (old && old.status === next.status && old.lastTransitionTime) merged.lastTransitionTime = old.lastTransitionTime;
  else merged.lastTransitionTime = merged.lastTransitionTime ?? now();
  return old ? list.map((c) => (c.type === next.type ? merged : c)) : [...list, merged];
}

export function isPodReady(p: KObject): boolean {
  return condition(p, 'Ready')?.status === 'True';
}

export function podPhase(p: KObject): string {
  return String(obj(p.status).phase ?? 'Pending');
}

export function isTerminating(o: KObject): boolean {
  return !!o.metadata.deletionTimestamp;
}

/** Ready for at least minReadySeconds (the "available" of Deployments and StatefulSets). */
export function isPodAvailable(p: KObject, minReadySeconds: number, at = Date.now()): boolean {
  const c = condition(p, 'Ready');
  if (c?.status !== 'True') return false;
  if (minReadySeconds <= 0) return true;
  const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : 0;
  return at - t >= minReadySeconds * 1000;
}

export function controllerOf(o: KObject): OwnerReference | undefined {
  return (o.metadata.ownerReferences ?? []).find((r) => r.controller);
}

export function ownerRef(owner: KObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** FNV-1a 32-bit, rendered with the alphabet of apimachinery's rand.SafeEncodeString (as pod-template-hash is). */
export function safeHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const digits = String(h);
  let out = '';
  for (const d of digits) out += SAFE[Number(d) % SAFE.length];
  return out;
}

/** A stable JSON (sorted keys) for hashing. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Obj;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Record an Event about an object (aggregating repeats of the same reason+message into a count, as the recorder does). */
export function recordEvent(ctx: ClusterContext, involved: KObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
  const ns = involved.metadata.namespace ?? 'default';
  const store = ctx.store;
  const existing = store.list('events', ns).items.find((e) => {
    const io = obj(e.involvedObject);
    return io.uid === involved.metadata.uid && e.reason === reason && e.message === message;
  });
  const t = now();
  if (existing) {
    mutate(store, 'events', ns, existing.metadata.name, (e) => {
      e.count = Number(e.count ?? 1) + 1;
      e.lastTimestamp = t;
    });
    return;
  }
  try {
    store.create('events', {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${involved.metadata.name}.${randomUUID().replace(/-/g, '').slice(0, 16)}`, namespace: ns },
      involvedObject: { apiVersion: involved.apiVersion, kind: involved.kind, name: involved.metadata.name, namespace: involved.metadata.namespace, uid: involved.metadata.uid, resourceVersion: involved.metadata.resourceVersion },
      reason,
      message,
      type,
      source: { component },
      reportingComponent: component,
      reportingInstance: '',
      firstTimestamp: t,
      lastTimestamp: t,
      eventTime: null,
      count: 1,
    });
  } catch {
    // events are best effort
  }
}

/** An int-or-percent against a total (roundUp as GetScaledValueFromIntOrPercent). */
export function scaled(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const m = v.match(/^(\d+)%$/);
    if (m) {
      const x = (Number(m[1]) * total) / 100;
      return roundUp ? Math.ceil(x) : Math.floor(x);
    }
    if (/^\d+$/.test(v)) return Number(v);
  }
  return 0;
}
