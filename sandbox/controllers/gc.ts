// The garbage collector (pkg/controller/garbagecollector), level-triggered: an object whose every owner is gone is
// deleted (background propagation); dangling references beside a live owner are dropped; the foregroundDeletion
// and orphan finalizers are honoured.
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { deleteQuietly, mutate } from './util.js';

interface Entry {
  resource: string;
  o: KObject;
}

export class GarbageCollector {
  constructor(private readonly ctx: ClusterContext) {}

  pass(): void {
    const store = this.ctx.store;
    // One synchronous snapshot of every object: JS runs this without interleaving writes.
    const all: Entry[] = [];
    for (const resource of store.resources()) for (const o of store.list(resource).items) all.push({ resource, o });
    const byUid = new Map<string, Entry>();
    for (const e of all) if (e.o.metadata.uid) byUid.set(e.o.metadata.uid, e);
    const dependents = new Map<string, Entry[]>();
    for (const e of all) {
      for (const r of e.o.metadata.ownerReferences ?? []) dependents.set(r.uid, [...(dependents.get(r.uid) ?? []), e]);
    }

    for (const e of all) {
      const refs = e.o.metadata.ownerReferences ?? [];
      if (refs.length === 0 || e.o.metadata.deletionTimestamp) continue;
      // an owner is "there" if its uid exists with the same kind (a namespaced owner in the same namespace)
      const alive = refs.filter((r) => {
        const owner = byUid.get(r.uid);
        if (!owner || owner.o.kind !== r.kind) return false;
        return !owner.o.metadata.namespace || owner.o.metadata.namespace === e.o.metadata.namespace;
      });
      const ownersBeingDeletedForeground = alive.filter((r) => {
        const owner = byUid.get(r.uid);
        return owner?.o.metadata.deletionTimestamp && owner.o.metadata.finalizers?.includes('foregroundDeletion') && r.blockOwnerDeletion;
      });
      if (alive.length === 0 || (ownersBeingDeletedForeground.length > 0 && ownersBeingDeletedForeground.length === alive.length)) {
        deleteQuietly(store, e.resource, e.o.metadata.namespace, e.o.metadata.name, e.o.metadata.uid);
        continue;
      }
      if (alive.length < refs.length) {
        const keep = new Set(alive.map((r) => r.uid));
        mutate(store, e.resource, e.o.metadata.namespace, e.o.metadata.name, (o) => {
          if (o.metadata.uid !== e.o.metadata.uid) return false;
          o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((r) => keep.has(r.uid) || byUid.has(r.uid));
        });
      }
    }

    // Owners held by the foregroundDeletion / orphan finalizers.
    for (const e of all) {
      const fin = e.o.metadata.finalizers ?? [];
      if (!e.o.metadata.deletionTimestamp || !e.o.metadata.uid) continue;
      const uid = e.o.metadata.uid;
      if (fin.includes('orphan')) {
        for (const d of dependents.get(uid) ?? []) {
          mutate(store, d.resource, d.o.metadata.namespace, d.o.metadata.name, (o) => {
            const before = o.metadata.ownerReferences ?? [];
            const after = before.filter((r) => r.uid !== uid);
            if (after.length === before.length) return false;
            if (after.length) o.metadata.ownerReferences = after;
            else delete o.metadata.ownerReferences;
          });
        }
        this.dropFinalizer(e, 'orphan');
      }
      if (fin.includes('foregroundDeletion')) {
        const left = (dependents.get(uid) ?? []).filter((d) => store.get(d.resource, d.o.metadata.namespace, d.o.metadata.name)?.metadata.uid === d.o.metadata.uid);
        const blocking = left.filter((d) => (d.o.metadata.ownerReferences ?? []).some((r) => r.uid === uid && r.blockOwnerDeletion));
        for (const d of left) if (!d.o.metadata.deletionTimestamp) deleteQuietly(store, d.resource, d.o.metadata.namespace, d.o.metadata.name, d.o.metadata.uid);
        if (blocking.length === 0) this.dropFinalizer(e, 'foregroundDeletion');
      }
    }
  }

  private dropFinalizer(e: Entry, name: string): void {
    mutate(this.ctx.store, e.resource, e.o.metadata.namespace, e.o.metadata.name, (o) => {
      if (o.metadata.uid !== e.o.metadata.uid || !o.metadata.finalizers?.includes(name)) return false;
      o.metadata.finalizers = o.metadata.finalizers.filter((f) => f !== name);
    });
  }
}
