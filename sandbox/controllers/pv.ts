// The PV controller (pkg/controller/volume/persistentvolume) and the hostpath provisioner of StorageClass "standard":
// dynamic provisioning of `pvc-<uid>` under ctx.storageDir, binding (also of a PVC naming its volume, as a PV copied
// to another cluster is), Released / Lost, and reclaim (Delete removes the PV and its directory; Retain keeps both).
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { createIfMissing, deleteQuietly, isTerminating, mutate, obj, recordEvent } from './util.js';

const PROVISIONER = 'sandbox.local/hostpath';
const PVC = 'persistentvolumeclaims';
const PV = 'persistentvolumes';
const SC = 'storageclasses.storage.k8s.io';

interface ClaimRef {
  kind?: string;
  apiVersion?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
}

function claimRefOf(pv: KObject): ClaimRef | undefined {
  const c = obj(pv.spec).claimRef;
  return c && typeof c === 'object' ? (c as ClaimRef) : undefined;
}

function phaseOf(o: KObject): string {
  return String(obj(o.status).phase ?? '');
}

function requested(pvc: KObject): string {
  return String(obj(obj(obj(pvc.spec).resources).requests).storage ?? '1Gi');
}

export class PersistentVolumeController {
  constructor(private readonly ctx: ClusterContext) {}

  pass(): void {
    const store = this.ctx.store;
    const pvcs = store.list(PVC).items;
    const pvs = store.list(PV).items;
    const pvByName = new Map(pvs.map((p) => [p.metadata.name, p]));
    for (const pvc of pvcs) {
      if (isTerminating(pvc)) continue;
      try {
        this.syncClaim(pvc, pvByName, pvs);
      } catch (e) {
        this.ctx.log(`pv controller: claim ${pvc.metadata.namespace}/${pvc.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const claims = new Map(store.list(PVC).items.map((c) => [`${c.metadata.namespace}/${c.metadata.name}`, c]));
    for (const pv of store.list(PV).items) {
      if (isTerminating(pv)) {
        // pv-protection: a volume being deleted goes once no live claim uses it
        const ref = claimRefOf(pv);
        const claim = ref?.name ? claims.get(`${ref.namespace}/${ref.name}`) : undefined;
        if (!claim || (ref?.uid && claim.metadata.uid !== ref.uid)) {
          mutate(store, PV, undefined, pv.metadata.name, (o) => {
            if (!o.metadata.finalizers?.includes('kubernetes.io/pv-protection')) return false;
            o.metadata.finalizers = o.metadata.finalizers.filter((f) => f !== 'kubernetes.io/pv-protection');
          });
        }
        continue;
      }
      try {
        this.syncVolume(pv, claims);
      } catch (e) {
        this.ctx.log(`pv controller: volume ${pv.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  private syncClaim(pvc: KObject, pvByName: Map<string, KObject>, pvs: KObject[]): void {
    const store = this.ctx.store;
    const spec = obj(pvc.spec);
    const ns = pvc.metadata.namespace;
    const volumeName = typeof spec.volumeName === 'string' && spec.volumeName ? spec.volumeName : undefined;
    if (volumeName) {
      const pv = pvByName.get(volumeName);
      if (!pv) {
        if (phaseOf(pvc) === 'Bound') this.setClaimPhase(pvc, 'Lost');
        return;
      }
      const ref = claimRefOf(pv);
      const mine = !ref || !ref.name || (ref.namespace === ns && ref.name === pvc.metadata.name && (!ref.uid || ref.uid === pvc.metadata.uid));
      if (!mine) return; // bound to someone else: stays Pending
      if (phaseOf(pvc) === 'Bound' && ref?.uid === pvc.metadata.uid && phaseOf(pv) === 'Bound') return;
      this.bind(pv, pvc);
      return;
    }
    if (phaseOf(pvc) === 'Bound') return;
    // a PV pre-bound to this claim by claimRef
    const prebound = pvs.find((pv) => {
      const ref = claimRefOf(pv);
      if (!ref) return false;
      return ref.namespace === ns && ref.name === pvc.metadata.name && (!ref.uid || ref.uid === pvc.metadata.uid) && !isTerminating(pv);
    });
    if (prebound) {
      this.bind(prebound, pvc);
      return;
    }
    const className = typeof spec.storageClassName === 'string' ? spec.storageClassName : '';
    // static: an Available PV of the same class, no claimRef, big enough (smallest first)
    const candidates = pvs.filter((pv) => !claimRefOf(pv) && phaseOf(pv) !== 'Released' && String(obj(pv.spec).storageClassName ?? '') === className && !isTerminating(pv) && bytes(String(obj(obj(pv.spec).capacity).storage ?? '0')) >= bytes(requested(pvc)));
    candidates.sort((a, z) => bytes(String(obj(obj(a.spec).capacity).storage ?? '0')) - bytes(String(obj(obj(z.spec).capacity).storage ?? '0')));
    if (candidates[0]) {
      this.bind(candidates[0], pvc);
      return;
    }
    if (!className) return;
    const sc = store.get(SC, undefined, className);
    if (!sc || sc.provisioner !== PROVISIONER) return;
    const name = `pvc-${pvc.metadata.uid}`;
    const path = join(this.ctx.storageDir, name);
    mkdirSync(path, { recursive: true });
    const pv = createIfMissing(store, PV, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER }, finalizers: ['kubernetes.io/pv-protection'] },
      spec: {
        capacity: { storage: requested(pvc) },
        accessModes: (spec.accessModes as string[] | undefined) ?? ['ReadWriteOnce'],
        hostPath: { path, type: 'DirectoryOrCreate' },
        persistentVolumeReclaimPolicy: String(sc.reclaimPolicy ?? 'Delete'),
        storageClassName: className,
        volumeMode: spec.volumeMode ?? 'Filesystem',
        claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: ns, name: pvc.metadata.name, uid: pvc.metadata.uid, resourceVersion: pvc.metadata.resourceVersion },
      },
      status: { phase: 'Pending' },
    });
    const created = pv ?? store.get(PV, undefined, name);
    if (pv) recordEvent(this.ctx, pvc, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${name} using ${PROVISIONER}`, `${PROVISIONER}_sandbox`);
    if (created) this.bind(created, pvc);
  }

  private bind(pv: KObject, pvc: KObject): void {
    const store = this.ctx.store;
    const ns = pvc.metadata.namespace;
    const boundPv = mutate(store, PV, undefined, pv.metadata.name, (o) => {
      const ref = claimRefOf(o);
      if (ref?.name && !(ref.namespace === ns && ref.name === pvc.metadata.name && (!ref.uid || ref.uid === pvc.metadata.uid))) return false;
      const next = { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: ns, name: pvc.metadata.name, uid: pvc.metadata.uid, resourceVersion: pvc.metadata.resourceVersion };
      if (ref?.uid === pvc.metadata.uid) return false;
      o.spec = { ...obj(o.spec), claimRef: next };
      o.metadata.annotations = { ...(o.metadata.annotations ?? {}), 'pv.kubernetes.io/bound-by-controller': 'yes' };
    });
    if (!boundPv || claimRefOf(boundPv)?.uid !== pvc.metadata.uid) return;
    mutate(store, PV, undefined, pv.metadata.name, (o) => {
      if (phaseOf(o) === 'Bound') return false;
      o.status = { ...obj(o.status), phase: 'Bound' };
    }, { subresource: 'status' });
    const claim = mutate(store, PVC, ns, pvc.metadata.name, (o) => {
      if (o.metadata.uid !== pvc.metadata.uid) return false;
      const s = obj(o.spec);
      const ann = o.metadata.annotations ?? {};
      if (s.volumeName === pv.metadata.name && ann['pv.kubernetes.io/bind-completed'] === 'yes') return false;
      const byController = s.volumeName !== pv.metadata.name;
      o.spec = { ...s, volumeName: pv.metadata.name };
      o.metadata.annotations = { ...ann, 'pv.kubernetes.io/bind-completed': 'yes', ...(byController ? { 'pv.kubernetes.io/bound-by-controller': 'yes' } : {}) };
    });
    if (!claim) return;
    const pvSpec = obj(boundPv.spec);
    mutate(store, PVC, ns, pvc.metadata.name, (o) => {
      if (o.metadata.uid !== pvc.metadata.uid) return false;
      const st = obj(o.status);
      if (st.phase === 'Bound') return false;
      o.status = { ...st, phase: 'Bound', accessModes: pvSpec.accessModes, capacity: pvSpec.capacity };
    }, { subresource: 'status' });
  }

  private setClaimPhase(pvc: KObject, phase: string): void {
    mutate(this.ctx.store, PVC, pvc.metadata.namespace, pvc.metadata.name, (o) => {
      if (phaseOf(o) === phase) return false;
      o.status = { ...obj(o.status), phase };
    }, { subresource: 'status' });
  }

  private syncVolume(pv: KObject, claims: Map<string, KObject>): void {
    const store = this.ctx.store;
    const ref = claimRefOf(pv);
    const setPhase = (phase: string): void => {
      mutate(store, PV, undefined, pv.metadata.name, (o) => {
        if (phaseOf(o) === phase) return false;
        o.status = { ...obj(o.status), phase };
      }, { subresource: 'status' });
    };
    if (!ref?.name) {
      setPhase('Available');
      return;
    }
    const claim = claims.get(`${ref.namespace}/${ref.name}`);
    if (claim && (!ref.uid || ref.uid === claim.metadata.uid)) {
      if (ref.uid && obj(claim.spec).volumeName === pv.metadata.name) setPhase('Bound');
      return;
    }
    if (!ref.uid) {
      setPhase('Available'); // pre-bound, waiting for its claim
      return;
    }
    // the claim is gone (or replaced): reclaim
    const policy = String(obj(pv.spec).persistentVolumeReclaimPolicy ?? 'Retain');
    if (policy === 'Delete') {
      const hp = obj(obj(pv.spec).hostPath).path;
      if (typeof hp === 'string' && this.ownsPath(hp)) rmSync(hp, { recursive: true, force: true });
      deleteQuietly(store, PV, undefined, pv.metadata.name);
      const left = store.get(PV, undefined, pv.metadata.name);
      if (left?.metadata.finalizers?.includes('kubernetes.io/pv-protection')) {
        mutate(store, PV, undefined, pv.metadata.name, (o) => {
          o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => f !== 'kubernetes.io/pv-protection');
        });
      }
      return;
    }
    setPhase('Released');
  }

  /** Only directories of the shared storage are ever removed. */
  private ownsPath(p: string): boolean {
    const root = resolve(this.ctx.storageDir) + sep;
    return resolve(p).startsWith(root);
  }
}

/** A Kubernetes quantity in bytes (enough for storage requests). */
export function bytes(q: string): number {
  const m = q.trim().match(/^([0-9.]+)\s*([KMGTPE]i?|[kmgtpe]|)$/);
  if (!m) return 0;
  const n = Number(m[1]);
  const unit = m[2];
  const bin: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
  const dec: Record<string, number> = { k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
  return n * (bin[unit] ?? dec[unit] ?? 1);
}
