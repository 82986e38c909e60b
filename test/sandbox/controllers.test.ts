// The controllers against a store, with a stand-in kubelet that marks bound pods Running/Ready (no processes):
// StatefulSet ordering and ordinals.start, scheduling (cordon, required anti-affinity), PV binding of a copied PV,
// PDB status, garbage collection, re-creation of a deleted pod.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, type KObject } from '../../sandbox/core/store.js';
import type { ClusterContext } from '../../sandbox/core/context.js';
import { seedCluster } from '../../sandbox/apiserver/seed.js';
import { applyDefaults } from '../../sandbox/apiserver/defaults.js';
import { startControllers } from '../../sandbox/controllers/index.js';

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v !== null && typeof v === 'object' ? (v as Obj) : {});

function create(store: Store, key: string, x: KObject): KObject {
  applyDefaults(key, x, { create: true, defaultStorageClass: 'standard' });
  return store.create(key, x);
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function node(name: string, extra: Obj = {}): KObject {
  const t = new Date().toISOString();
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: { ...extra },
    status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: t, lastTransitionTime: t }] },
  };
}

/** A stand-in kubelet: bound pods become Running and Ready with a fresh IP; graceful deletions are completed. */
function fakeKubelet(store: Store): () => void {
  let ip = 0;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    for (const p of store.list('pods').items) {
      const nodeName = o(p.spec).nodeName;
      if (!nodeName) continue;
      if (p.metadata.deletionTimestamp) {
        try {
          store.delete('pods', p.metadata.namespace, p.metadata.name, { gracePeriodSeconds: 0 });
        } catch {
          // gone
        }
        continue;
      }
      if (o(p.status).phase === 'Running') continue;
      const t = new Date().toISOString();
      p.status = {
        ...o(p.status),
        phase: 'Running',
        podIP: `127.62.0.${++ip}`,
        conditions: [
          { type: 'Ready', status: 'True', lastTransitionTime: t },
          { type: 'PodScheduled', status: 'True', lastTransitionTime: t },
        ],
      };
      try {
        store.update('pods', p, { subresource: 'status' });
      } catch {
        // retried next tick
      }
    }
    setTimeout(tick, 30);
  };
  tick();
  return () => {
    stopped = true;
  };
}

function sts(name: string, spec: Obj): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: {
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'redis', image: 'redis:7' }] } },
      ...spec,
    },
  };
}

describe('controllers', () => {
  let dir: string;
  let store: Store;
  let ctx: ClusterContext;
  let stopControllers: () => Promise<void>;
  let stopKubelet: () => void;
  const pods = (app: string): KObject[] => store.list('pods', 'default').items.filter((p) => p.metadata.labels?.app === app && !p.metadata.deletionTimestamp);
  const names = (app: string): string[] => pods(app).map((p) => p.metadata.name).sort();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kr-controllers-'));
    store = new Store();
    seedCluster(store);
    ctx = { name: 'east', index: 0, podNetPrefix: '127.62', store, dir, storageDir: join(dir, 'storage'), nodeNames: ['n1', 'n2', 'n3'], log: () => undefined };
    mkdirSync(ctx.storageDir, { recursive: true });
    for (const n of ctx.nodeNames) store.create('nodes', node(n));
    stopControllers = (await startControllers(ctx)).stop;
    stopKubelet = fakeKubelet(store);
  });
  after(async () => {
    stopKubelet();
    await stopControllers();
    rmSync(dir, { recursive: true, force: true });
  });

  test('StatefulSet: ordered creation with PVCs and pod identity, then scale down from the highest ordinal', async () => {
    create(store, 'statefulsets.apps', sts('web', { replicas: 3, volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] }));
    const created: string[] = [];
    const unwatch = store.watch('pods', 'default', undefined, (e) => {
      if (e.type === 'ADDED' && e.object.metadata.labels?.app === 'web') created.push(e.object.metadata.name);
    });
    await until('3 ready', () => o(store.get('statefulsets.apps', 'default', 'web')?.status).readyReplicas === 3);
    unwatch();
    assert.deepEqual(created, ['web-0', 'web-1', 'web-2']);
    const p1 = store.get('pods', 'default', 'web-1');
    assert.ok(p1);
    assert.equal(p1.metadata.labels?.['statefulset.kubernetes.io/pod-name'], 'web-1');
    assert.equal(p1.metadata.labels?.['apps.kubernetes.io/pod-index'], '1');
    assert.match(p1.metadata.labels?.['controller-revision-hash'] ?? '', /^web-/);
    assert.equal(o(p1.spec).hostname, 'web-1');
    assert.equal(o(p1.spec).subdomain, 'web');
    assert.equal(p1.metadata.ownerReferences?.[0].kind, 'StatefulSet');
    const claim = store.get('persistentvolumeclaims', 'default', 'data-web-1');
    assert.equal(o(claim?.status).phase, 'Bound');
    const pv = store.get('persistentvolumes', undefined, String(o(claim?.spec).volumeName));
    assert.ok(existsSync(String(o(o(pv?.spec).hostPath).path)), 'the PV directory exists');
    const st = o(store.get('statefulsets.apps', 'default', 'web')?.status);
    assert.equal(st.currentRevision, st.updateRevision);
    assert.ok(store.get('controllerrevisions.apps', 'default', String(st.updateRevision)));

    const deleted: string[] = [];
    const unwatch2 = store.watch('pods', 'default', undefined, (e) => {
      if (e.type === 'DELETED') deleted.push(e.object.metadata.name);
    });
    const s = store.get('statefulsets.apps', 'default', 'web');
    assert.ok(s);
    s.spec = { ...o(s.spec), replicas: 1 };
    store.update('statefulsets.apps', s);
    // a terminating pod is gone from names() before its DELETED event (graceful termination): wait for both
    await until('1 pod', () => names('web').length === 1 && o(store.get('statefulsets.apps', 'default', 'web')?.status).replicas === 1 && deleted.length === 2);
    unwatch2();
    assert.deepEqual(deleted, ['web-2', 'web-1']);
    assert.ok(store.get('persistentvolumeclaims', 'default', 'data-web-2'), 'PVCs are retained on scale down');
  });

  test('StatefulSet: ordinals.start 3 with 2 replicas makes -3 and -4; a deleted pod comes back with a new uid and IP', async () => {
    create(store, 'statefulsets.apps', sts('mig', { replicas: 2, ordinals: { start: 3 }, podManagementPolicy: 'Parallel' }));
    await until('2 ready', () => o(store.get('statefulsets.apps', 'default', 'mig')?.status).readyReplicas === 2);
    assert.deepEqual(names('mig'), ['mig-3', 'mig-4']);
    const before = store.get('pods', 'default', 'mig-3');
    assert.ok(before);
    store.delete('pods', 'default', 'mig-3');
    const after = await until('mig-3 back', () => {
      const p = store.get('pods', 'default', 'mig-3');
      return p && p.metadata.uid !== before.metadata.uid && o(p.status).podIP ? p : undefined;
    });
    assert.notEqual(o(after.status).podIP, o(before.status).podIP);
  });

  test('rolling update: template change replaces pods from the highest ordinal; partition keeps the lower ones', async () => {
    const s = store.get('statefulsets.apps', 'default', 'mig');
    assert.ok(s);
    const oldRev = o(s.status).updateRevision;
    const spec = o(s.spec);
    s.spec = { ...spec, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } }, template: { ...o(spec.template), metadata: { labels: { app: 'mig', v: '2' } } } };
    store.update('statefulsets.apps', s);
    await until('mig-4 updated', () => {
      const st = o(store.get('statefulsets.apps', 'default', 'mig')?.status);
      return st.updatedReplicas === 1 && st.readyReplicas === 2 && store.get('pods', 'default', 'mig-4')?.metadata.labels?.v === '2';
    });
    assert.equal(store.get('pods', 'default', 'mig-3')?.metadata.labels?.['controller-revision-hash'], oldRev);
    assert.equal(o(store.get('statefulsets.apps', 'default', 'mig')?.status).currentRevision, oldRev);
  });

  test('scheduler: cordoned nodes get no pods; required anti-affinity spreads; too many replicas stay Pending with an Event', async () => {
    const n3 = store.get('nodes', undefined, 'n3');
    assert.ok(n3);
    n3.spec = { ...o(n3.spec), unschedulable: true };
    store.update('nodes', n3);
    const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'spread' } } }] } };
    create(store, 'statefulsets.apps', sts('spread', { replicas: 3, podManagementPolicy: 'Parallel', template: { metadata: { labels: { app: 'spread' } }, spec: { affinity: anti, containers: [{ name: 'r', image: 'redis:7' }] } } }));
    await until('2 scheduled', () => pods('spread').filter((p) => o(p.spec).nodeName).length === 2);
    const pending = await until('an unschedulable pod', () => pods('spread').find((p) => ((o(p.status).conditions ?? []) as Obj[]).some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable')));
    assert.equal(o(pending.spec).nodeName, undefined);
    assert.deepEqual(pods('spread').map((p) => o(p.spec).nodeName).filter(Boolean).sort(), ['n1', 'n2']);
    await until('FailedScheduling event', () => store.list('events', 'default').items.some((e) => e.reason === 'FailedScheduling' && o(e.involvedObject).name === pending.metadata.name && /unschedulable/.test(String(e.message))));
    // uncordon: the third pod lands on n3, one pod per node
    const n3b = store.get('nodes', undefined, 'n3');
    assert.ok(n3b);
    n3b.spec = { ...o(n3b.spec), unschedulable: false };
    store.update('nodes', n3b);
    await until('3 spread', () => pods('spread').filter((p) => o(p.spec).nodeName).length === 3);
    assert.deepEqual(pods('spread').map((p) => o(p.spec).nodeName).sort(), ['n1', 'n2', 'n3']);
  });

  test('PDB status: minAvailable counts matching pods, maxUnavailable counts the controller scale', async () => {
    create(store, 'poddisruptionbudgets.policy', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'min', namespace: 'default' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'spread' } } } });
    create(store, 'poddisruptionbudgets.policy', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'max', namespace: 'default' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'spread' } } } });
    const st = (n: string): Obj => o(store.get('poddisruptionbudgets.policy', 'default', n)?.status);
    await until('pdb min', () => st('min').observedGeneration === 1 && st('min').currentHealthy === 3);
    assert.deepEqual([st('min').expectedPods, st('min').desiredHealthy, st('min').disruptionsAllowed], [3, 2, 1]);
    await until('pdb max', () => st('max').observedGeneration === 1 && st('max').currentHealthy === 3);
    assert.deepEqual([st('max').expectedPods, st('max').desiredHealthy, st('max').disruptionsAllowed], [3, 2, 1]);
    // scale the StatefulSet up to 5 while only 3 pods exist: maxUnavailable follows the scale (5 - 1 = 4 > 3 healthy)
    const s = store.get('statefulsets.apps', 'default', 'spread');
    assert.ok(s);
    s.spec = { ...o(s.spec), replicas: 5 };
    store.update('statefulsets.apps', s);
    await until('max follows scale', () => st('max').expectedPods === 5);
    assert.equal(st('max').desiredHealthy, 4);
    assert.equal(st('max').disruptionsAllowed, 0);
    assert.equal(st('min').disruptionsAllowed, 1, 'minAvailable 2 of 3 healthy still allows one');
  });

  test('a PV copied without claimRef binds to a PVC naming it, on the same directory; Retain keeps it Released', async () => {
    const path = join(ctx.storageDir, 'pvc-copied');
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'dump.rdb'), 'REDIS0009-before-migration');
    store.create('persistentvolumes', { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pvc-copied' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path }, persistentVolumeReclaimPolicy: 'Retain', storageClassName: 'standard' }, status: { phase: 'Pending' } });
    create(store, 'persistentvolumeclaims', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data-cache-3', namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'standard', volumeName: 'pvc-copied', resources: { requests: { storage: '1Gi' } } } });
    await until('bound', () => o(store.get('persistentvolumeclaims', 'default', 'data-cache-3')?.status).phase === 'Bound');
    const pv = store.get('persistentvolumes', undefined, 'pvc-copied');
    assert.equal(o(pv?.status).phase, 'Bound');
    assert.equal(o(o(pv?.spec).claimRef).name, 'data-cache-3');
    assert.equal(store.list('persistentvolumes').items.filter((p) => o(o(p.spec).claimRef).name === 'data-cache-3').length, 1, 'no second volume was provisioned');
    assert.equal(readFileSync(join(String(o(o(pv?.spec).hostPath).path), 'dump.rdb'), 'utf8'), 'REDIS0009-before-migration');
    store.delete('persistentvolumeclaims', 'default', 'data-cache-3');
    await until('released', () => o(store.get('persistentvolumes', undefined, 'pvc-copied')?.status).phase === 'Released');
    assert.ok(existsSync(join(path, 'dump.rdb')));
  });

  test('reclaim Delete removes the provisioned PV and its directory when the claim goes', async () => {
    create(store, 'persistentvolumeclaims', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'scratch', namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    const claim = await until('bound', () => {
      const c = store.get('persistentvolumeclaims', 'default', 'scratch');
      return o(c?.status).phase === 'Bound' ? c : undefined;
    });
    const pvName = String(o(claim.spec).volumeName);
    const path = String(o(o(store.get('persistentvolumes', undefined, pvName)?.spec).hostPath).path);
    assert.ok(existsSync(path));
    store.delete('persistentvolumeclaims', 'default', 'scratch');
    await until('pv gone', () => !store.get('persistentvolumes', undefined, pvName));
    assert.equal(existsSync(path), false);
  });

  test('garbage collection: the pods of a deleted ReplicaSet go; a Deployment makes a ReplicaSet with pod-template-hash', async () => {
    create(store, 'deployments.apps', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'op', namespace: 'default' }, spec: { replicas: 2, selector: { matchLabels: { app: 'op' } }, template: { metadata: { labels: { app: 'op' } }, spec: { containers: [{ name: 'op', image: 'sandbox/operator:1' }] } } } });
    await until('deployment ready', () => o(store.get('deployments.apps', 'default', 'op')?.status).readyReplicas === 2);
    const rs = store.list('replicasets.apps', 'default').items.find((r) => r.metadata.ownerReferences?.[0]?.name === 'op');
    assert.ok(rs);
    const hash = rs.metadata.labels?.['pod-template-hash'];
    assert.equal(rs.metadata.name, `op-${hash}`);
    for (const p of pods('op')) assert.match(p.metadata.name, new RegExp(`^op-${hash}-[a-z0-9]{5}$`));
    const d = store.get('deployments.apps', 'default', 'op');
    assert.equal(o(d?.status).observedGeneration, 1);
    // delete the Deployment: its ReplicaSet, then the pods, are collected
    store.delete('deployments.apps', 'default', 'op');
    await until('rs collected', () => !store.get('replicasets.apps', 'default', rs.metadata.name));
    await until('pods collected', () => store.list('pods', 'default').items.filter((p) => p.metadata.labels?.app === 'op').length === 0);
  });

  test('node lifecycle: a node that stops heart-beating goes Unknown and gets the unreachable taint', async () => {
    const n2 = store.get('nodes', undefined, 'n2');
    assert.ok(n2);
    const old = new Date(Date.now() - 60_000).toISOString();
    n2.status = { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: old, lastTransitionTime: old }] };
    store.update('nodes', n2, { subresource: 'status' });
    await until('unknown', () => {
      const n = store.get('nodes', undefined, 'n2');
      const ready = ((o(n?.status).conditions ?? []) as Obj[]).find((c) => c.type === 'Ready');
      const taints = (o(n?.spec).taints ?? []) as Obj[];
      return ready?.status === 'Unknown' && taints.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoSchedule');
    });
    const onN2 = store.list('pods').items.filter((p) => o(p.spec).nodeName === 'n2');
    assert.ok(onN2.length > 0);
    for (const p of onN2) assert.equal(((o(p.status).conditions ?? []) as Obj[]).find((c) => c.type === 'Ready')?.status, 'False', `${p.metadata.name} marked not ready`);
  });
});
