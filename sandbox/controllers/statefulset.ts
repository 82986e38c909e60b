// The StatefulSet controller (pkg/controller/statefulset): pods <sts>-<ordinal> from spec.ordinals.start, PVCs from
// volumeClaimTemplates before the pod, OrderedReady / Parallel, scale down from the highest ordinal, rolling update
// from the highest ordinal (partition, OnDelete), ControllerRevisions and status.
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { matchesLabelSelector, type LabelSelector } from '../core/selectors.js';
import { applyDefaults } from '../apiserver/defaults.js';
import { controllerOf, createIfMissing, deleteQuietly, isPodAvailable, isPodReady, isTerminating, mutate, obj, ownerRef, podPhase, safeHash, stableJson, type Obj } from './util.js';

const STS = 'statefulsets.apps';
const CR = 'controllerrevisions.apps';

interface StsSpec {
  replicas?: number;
  ordinals?: { start?: number };
  podManagementPolicy?: string;
  serviceName?: string;
  selector?: LabelSelector;
  template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Obj };
  volumeClaimTemplates?: Array<{ metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Obj }>;
  updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
  persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string; whenScaled?: string };
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
}

function ordinalOf(sts: KObject, pod: KObject): number | undefined {
  const m = pod.metadata.name.match(/^(.*)-(\d+)$/);
  if (!m || m[1] !== sts.metadata.name) return undefined;
  return Number(m[2]);
}

function healthy(p: KObject): boolean {
  return !isTerminating(p) && podPhase(p) === 'Running' && isPodReady(p);
}

/** The revision of a template, as the name suffix of its ControllerRevision (`<sts>-<hash>`). */
function revisionName(sts: KObject, template: unknown): string {
  return `${sts.metadata.name}-${safeHash(stableJson(template))}`;
}

export function claimName(template: string, sts: string, ordinal: number): string {
  return `${template}-${sts}-${ordinal}`;
}

export class StatefulSetController {
  constructor(private readonly ctx: ClusterContext) {}

  pass(): void {
    const store = this.ctx.store;
    const allPods = store.list('pods').items;
    for (const sts of store.list(STS).items) {
      if (isTerminating(sts)) continue;
      for (const p of allPods) {
        if (p.metadata.namespace !== sts.metadata.namespace || !adoptable(sts, p) || isTerminating(p)) continue;
        const adopted = mutate(store, 'pods', p.metadata.namespace, p.metadata.name, (o) => {
          if (o.metadata.uid !== p.metadata.uid || controllerOf(o)) return false;
          o.metadata.ownerReferences = [...(o.metadata.ownerReferences ?? []), ownerRef(sts)];
        });
        if (adopted) p.metadata.ownerReferences = adopted.metadata.ownerReferences;
      }
      const pods = allPods.filter((p) => p.metadata.namespace === sts.metadata.namespace && controllerOf(p)?.uid === sts.metadata.uid);
      try {
        this.sync(sts, pods);
      } catch (e) {
        this.ctx.log(`statefulset ${sts.metadata.namespace}/${sts.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /**
   * The update revision, as getStatefulSetRevisions (pkg/controller/statefulset/stateful_set_control.go, v1.32) finds
   * it: the revision equal to the current template if there is one (the newest revision: unchanged; an older one: a
   * rollback, which gives that revision the next number, history.UpdateControllerRevision), else a new one numbered
   * max+1 with the StatefulSet's annotations (kubernetes.io/change-cause among them) and its template's labels
   * (newRevision in stateful_set_utils.go).
   */
  private ensureRevision(sts: KObject, spec: StsSpec): { name: string; template: StsSpec['template'] } {
    const store = this.ctx.store;
    const name = revisionName(sts, spec.template);
    const ns = sts.metadata.namespace;
    const revisions = this.revisions(sts);
    const next = Math.max(0, ...revisions.map((r) => Number(r.revision ?? 0))) + 1;
    const existing = revisions.find((r) => r.metadata.name === name);
    if (existing) {
      if (revisions[revisions.length - 1] !== existing) {
        mutate(store, CR, ns, name, (o) => {
          if (o.metadata.uid !== existing.metadata.uid) return false;
          o.revision = next;
        });
      }
    } else {
      createIfMissing(store, CR, {
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: {
          name,
          namespace: ns,
          labels: { ...(spec.template?.metadata?.labels ?? {}), 'controller.kubernetes.io/hash': name.slice(sts.metadata.name.length + 1) },
          ...(sts.metadata.annotations ? { annotations: { ...sts.metadata.annotations } } : {}),
          ownerReferences: [ownerRef(sts)],
        },
        data: revisionData(spec.template),
        revision: next,
      });
    }
    return { name, template: spec.template };
  }

  /** The StatefulSet's ControllerRevisions, oldest revision number first. */
  private revisions(sts: KObject): KObject[] {
    return this.ctx.store
      .list(CR, sts.metadata.namespace)
      .items.filter((r) => controllerOf(r)?.uid === sts.metadata.uid)
      .sort((a, z) => Number(a.revision ?? 0) - Number(z.revision ?? 0));
  }

  /** truncateHistory: keep revisionHistoryLimit revisions besides the live ones (current, update, the pods'). */
  private truncateHistory(sts: KObject, spec: StsSpec, pods: KObject[], current: string, update: string): void {
    const live = new Set([current, update, ...pods.map((p) => p.metadata.labels?.['controller-revision-hash'] ?? '')]);
    const history = this.revisions(sts).filter((r) => !live.has(r.metadata.name));
    const limit = spec.revisionHistoryLimit ?? 10;
    for (const r of history.slice(0, Math.max(0, history.length - limit))) deleteQuietly(this.ctx.store, CR, sts.metadata.namespace, r.metadata.name, r.metadata.uid);
  }

  private templateOf(sts: KObject, revision: string, fallback: StsSpec['template']): StsSpec['template'] {
    const r = this.ctx.store.get(CR, sts.metadata.namespace, revision);
    const t = obj(obj(obj(r?.data).spec).template);
    if (!r || Object.keys(t).length === 0) return fallback;
    const { $patch: _p, ...rest } = t;
    return rest as StsSpec['template'];
  }

  private newPod(sts: KObject, spec: StsSpec, ordinal: number, revision: string, template: StsSpec['template']): KObject {
    const name = `${sts.metadata.name}-${ordinal}`;
    const tspec = structuredClone(template?.spec ?? {}) as Obj;
    const volumes = Array.isArray(tspec.volumes) ? (tspec.volumes as Obj[]) : [];
    for (const vct of spec.volumeClaimTemplates ?? []) {
      const vname = vct.metadata?.name ?? '';
      const claim = { name: vname, persistentVolumeClaim: { claimName: claimName(vname, sts.metadata.name, ordinal) } };
      const i = volumes.findIndex((v) => v.name === vname);
      if (i >= 0) volumes[i] = claim;
      else volumes.push(claim);
    }
    if (volumes.length > 0) tspec.volumes = volumes;
    tspec.hostname = name;
    if (spec.serviceName) tspec.subdomain = spec.serviceName;
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: sts.metadata.namespace,
        labels: {
          ...(template?.metadata?.labels ?? {}),
          'controller-revision-hash': revision,
          'statefulset.kubernetes.io/pod-name': name,
          'apps.kubernetes.io/pod-index': String(ordinal),
        },
        ...(template?.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        ownerReferences: [ownerRef(sts)],
      },
      spec: tspec,
      status: { phase: 'Pending' },
    };
  }

  private ensureClaims(sts: KObject, spec: StsSpec, ordinal: number): void {
    const store = this.ctx.store;
    const ns = sts.metadata.namespace;
    for (const vct of spec.volumeClaimTemplates ?? []) {
      const name = claimName(vct.metadata?.name ?? '', sts.metadata.name, ordinal);
      const cur = store.get('persistentvolumeclaims', ns, name);
      if (cur && !isTerminating(cur)) continue;
      if (cur) continue; // being deleted: wait for it to go
      const whenDeleted = spec.persistentVolumeClaimRetentionPolicy?.whenDeleted ?? 'Retain';
      const pvcSpec = structuredClone(vct.spec ?? {}) as Obj;
      createIfMissing(store, 'persistentvolumeclaims', {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name,
          namespace: ns,
          labels: { ...(vct.metadata?.labels ?? {}), ...(spec.selector?.matchLabels ?? {}) },
          ...(vct.metadata?.annotations ? { annotations: { ...vct.metadata.annotations } } : {}),
          ...(whenDeleted === 'Delete' ? { ownerReferences: [{ ...ownerRef(sts), blockOwnerDeletion: true }] } : {}),
        },
        spec: { volumeMode: 'Filesystem', ...pvcSpec, ...(pvcSpec.storageClassName === undefined ? { storageClassName: this.defaultClass() } : {}) },
        status: { phase: 'Pending' },
      });
    }
  }

  private defaultClass(): string | undefined {
    const sc = this.ctx.store.list('storageclasses.storage.k8s.io').items.find((c) => c.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
    return sc?.metadata.name;
  }

  private sync(sts: KObject, pods: KObject[]): void {
    const store = this.ctx.store;
    const spec = (sts.spec ?? {}) as StsSpec;
    const ns = sts.metadata.namespace;
    const replicas = spec.replicas ?? 1;
    const start = spec.ordinals?.start ?? 0;
    const parallel = spec.podManagementPolicy === 'Parallel';
    const strategy = spec.updateStrategy?.type ?? 'RollingUpdate';
    const partition = strategy === 'RollingUpdate' ? (spec.updateStrategy?.rollingUpdate?.partition ?? 0) : 0;

    const update = this.ensureRevision(sts, spec);
    const status = obj(sts.status);
    const currentRevision = typeof status.currentRevision === 'string' && status.currentRevision ? status.currentRevision : update.name;
    const currentTemplate = currentRevision === update.name ? update.template : this.templateOf(sts, currentRevision, update.template);

    const byOrdinal = new Map<number, KObject>();
    const condemned: KObject[] = [];
    for (const p of pods) {
      const o = ordinalOf(sts, p);
      if (o === undefined) continue;
      if (o >= start && o < start + replicas) byOrdinal.set(o, p);
      else condemned.push(p);
    }
    condemned.sort((a, z) => (ordinalOf(sts, z) ?? 0) - (ordinalOf(sts, a) ?? 0));

    let done = false;
    // 1. Failed pods are deleted (and re-created with the same name on a later pass).
    for (const p of byOrdinal.values()) {
      if (!isTerminating(p) && podPhase(p) === 'Failed') {
        deleteQuietly(store, 'pods', ns, p.metadata.name, p.metadata.uid);
        if (!parallel) done = true;
      }
    }
    // 2. Create missing pods, in order; OrderedReady waits for every predecessor to be Running and Ready.
    for (let i = 0; i < replicas && !done; i++) {
      const ordinal = start + i;
      const p = byOrdinal.get(ordinal);
      if (!p) {
        this.ensureClaims(sts, spec, ordinal);
        const useUpdate = i >= partition || strategy === 'OnDelete';
        const pod = this.newPod(sts, spec, ordinal, useUpdate ? update.name : currentRevision, useUpdate ? update.template : currentTemplate);
        applyDefaults('pods', pod, { create: true });
        createIfMissing(store, 'pods', pod);
        if (!parallel) done = true;
        continue;
      }
      if (!parallel && !healthy(p)) done = true;
    }
    // 3. Scale down: highest ordinal first; OrderedReady one at a time and only when the rest is healthy.
    if (!done) {
      for (const p of condemned) {
        if (isTerminating(p)) {
          if (!parallel) break;
          continue;
        }
        deleteQuietly(store, 'pods', ns, p.metadata.name, p.metadata.uid);
        if (!parallel) break;
      }
    }
    // PVCs of scaled-away ordinals go if whenScaled is Delete, once their pod is gone.
    if (spec.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete') {
      for (const vct of spec.volumeClaimTemplates ?? []) {
        const prefix = `${vct.metadata?.name ?? ''}-${sts.metadata.name}-`;
        for (const pvc of store.list('persistentvolumeclaims', ns).items) {
          if (!pvc.metadata.name.startsWith(prefix) || isTerminating(pvc)) continue;
          const rest = pvc.metadata.name.slice(prefix.length);
          if (!/^\d+$/.test(rest)) continue;
          const o = Number(rest);
          if (o >= start && o < start + replicas) continue;
          if (pods.some((p) => ordinalOf(sts, p) === o)) continue;
          deleteQuietly(store, 'persistentvolumeclaims', ns, pvc.metadata.name);
        }
      }
    }
    // 4. Rolling update: the highest ordinal not at the update revision, one at a time, waiting for health.
    const allPresent = condemned.length === 0 && byOrdinal.size === replicas;
    if (!done && strategy === 'RollingUpdate' && allPresent) {
      for (let i = replicas - 1; i >= partition; i--) {
        const p = byOrdinal.get(start + i);
        if (!p) break;
        if (p.metadata.labels?.['controller-revision-hash'] !== update.name) {
          if (!isTerminating(p)) deleteQuietly(store, 'pods', ns, p.metadata.name, p.metadata.uid);
          break;
        }
        if (!healthy(p)) break;
      }
    }

    // Status, from what is there now.
    const live = store.list('pods', ns).items.filter((p) => controllerOf(p)?.uid === sts.metadata.uid);
    const minReady = spec.minReadySeconds ?? 0;
    let count = 0;
    let ready = 0;
    let available = 0;
    let current = 0;
    let updated = 0;
    for (const p of live) {
      if (isTerminating(p)) continue;
      count++;
      if (podPhase(p) === 'Running' && isPodReady(p)) ready++;
      if (podPhase(p) === 'Running' && isPodAvailable(p, minReady)) available++;
      const rev = p.metadata.labels?.['controller-revision-hash'];
      if (rev === currentRevision) current++;
      if (rev === update.name) updated++;
    }
    let nextCurrentRevision = currentRevision;
    let nextCurrent = current;
    if (strategy === 'RollingUpdate' ? updated === replicas && ready === replicas && count === replicas : false) {
      nextCurrentRevision = update.name;
      nextCurrent = updated;
    }
    if (strategy === 'OnDelete' && updated === count && count === replicas) {
      nextCurrentRevision = update.name;
      nextCurrent = updated;
    }
    this.truncateHistory(sts, spec, live, nextCurrentRevision, update.name);
    const revisions = this.revisions(sts).length;
    mutate(
      store,
      STS,
      ns,
      sts.metadata.name,
      (o) => {
        if (o.metadata.uid !== sts.metadata.uid) return false;
        const st = obj(o.status);
        const next: Obj = {
          ...st,
          observedGeneration: o.metadata.generation ?? 1,
          replicas: count,
          readyReplicas: ready,
          currentReplicas: nextCurrent,
          updatedReplicas: updated,
          availableReplicas: available,
          currentRevision: nextCurrentRevision,
          updateRevision: update.name,
          collisionCount: st.collisionCount ?? 0,
        };
        if (revisions === 0) delete next.collisionCount;
        if (stableJson(next) === stableJson(st)) return false;
        o.status = next;
      },
      { subresource: 'status' },
    );
  }
}

/**
 * ControllerRevision.data as getPatch (stateful_set_utils.go) makes it: the template, encoded from its Go type (so its
 * metadata has `creationTimestamp: null`), with "$patch": "replace", through json.Marshal of a map (keys sorted).
 * kubectl's `rollout undo` compares it byte for byte with the same encoding of the live template.
 */
function revisionData(template: StsSpec['template']): Obj {
  const t = { ...(template ?? {}), metadata: { creationTimestamp: null, ...(template?.metadata ?? {}) }, $patch: 'replace' };
  return JSON.parse(stableJson({ spec: { template: t } })) as Obj;
}

/** Pods matching the StatefulSet's selector and name but not owned by anyone are adopted (as the real controller does). */
function adoptable(sts: KObject, pod: KObject): boolean {
  const sel = (sts.spec as StsSpec | undefined)?.selector;
  return !controllerOf(pod) && ordinalOf(sts, pod) !== undefined && matchesLabelSelector(sel, pod.metadata.labels);
}
