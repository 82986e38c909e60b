import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { copyableOwner, copyablePv, copyablePvc, copyableService, destinationStatefulSet, migrationSteps, ownedBy, stepId } from '../../../src/workflows/migrate/objects.js';
import type { KubeObject } from '../../../src/kube/types.js';

const pv: KubeObject = {
  apiVersion: 'v1', kind: 'PersistentVolume',
  metadata: { name: 'pvc-1', uid: 'u1', resourceVersion: '9', annotations: { 'pv.kubernetes.io/provisioned-by': 'x' }, finalizers: ['kubernetes.io/pv-protection'] } as KubeObject['metadata'],
  spec: { capacity: { storage: '1Gi' }, hostPath: { path: '/data/pvc-1' }, claimRef: { name: 'data-cache-5', namespace: 'redis', uid: 'c1' }, persistentVolumeReclaimPolicy: 'Retain' },
  status: { phase: 'Bound' },
};

test('PV copy drops exactly what seed 003 drops and keeps the storage', () => {
  const c = copyablePv(pv);
  assert.equal(c.metadata.uid, undefined);
  assert.equal(c.metadata.resourceVersion, undefined);
  assert.equal(c.metadata.annotations, undefined);
  assert.equal((c.metadata as unknown as Record<string, unknown>).finalizers, undefined);
  assert.equal(c.spec?.claimRef, undefined);
  assert.equal(c.status, undefined);
  assert.deepEqual(c.spec?.hostPath, { path: '/data/pvc-1' });
  assert.equal(c.spec?.persistentVolumeReclaimPolicy, 'Retain');
  assert.ok(pv.spec?.claimRef, 'the source object is not modified');
});

test('PVC copy keeps volumeName and moves to the destination namespace', () => {
  const pvc: KubeObject = {
    metadata: { name: 'data-cache-5', namespace: 'redis', uid: 'c1', resourceVersion: '3', annotations: { 'pv.kubernetes.io/bind-completed': 'yes' } },
    spec: { volumeName: 'pvc-1', accessModes: ['ReadWriteOnce'] }, status: { phase: 'Bound' },
  };
  const c = copyablePvc(pvc, 'redis-west');
  assert.equal(c.spec?.volumeName, 'pvc-1');
  assert.equal(c.metadata.namespace, 'redis-west');
  assert.equal(c.metadata.annotations, undefined);
  assert.equal(c.status, undefined);
});

test('destination StatefulSet starts with no replicas and ordinals past the end', () => {
  const sts: KubeObject = { metadata: { name: 'cache', namespace: 'redis', uid: 's', ownerReferences: [{ apiVersion: 'x', kind: 'Y', name: 'z', uid: 'w' }] }, spec: { replicas: 6, serviceName: 'cache-headless' }, status: { replicas: 6 } };
  const d = destinationStatefulSet(sts, 'redis');
  assert.equal(d.spec?.replicas, 0);
  assert.deepEqual(d.spec?.ordinals, { start: 6 });
  assert.equal(d.metadata.ownerReferences, undefined);
  assert.equal(d.spec?.serviceName, 'cache-headless');
});

test('migration steps hand over one ordinal at a time, highest first, never running one identity twice', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 5 }), (n, start) => {
    const steps = migrationSteps([{ name: 'cache', start, replicas: n }]);
    const ids = steps.map(stepId);
    assert.equal(new Set(ids).size, ids.length, 'step ids are unique (the journal relies on it)');
    // Walk the steps: the source range and destination range must always be disjoint and together cover all.
    let srcReplicas = n;
    let dst = { start: start + n, replicas: 0 };
    const order: number[] = [];
    for (const s of steps) {
      if (s.kind === 'scale-source') {
        srcReplicas = s.replicas;
        order.push(s.ordinal);
      }
      if (s.kind === 'scale-destination') dst = { start: s.start, replicas: s.replicas };
      const srcEnd = start + srcReplicas; // source owns [start, srcEnd)
      assert.ok(srcEnd <= dst.start, `source [${start},${srcEnd}) overlaps destination from ${dst.start}`);
      assert.equal(dst.start + dst.replicas, start + n);
    }
    assert.deepEqual(order, [...Array(n).keys()].map((i) => start + n - 1 - i));
    assert.equal(srcReplicas, 0);
    assert.deepEqual(dst, { start, replicas: n });
  }));
});

test('every ordinal fails over before its source pod stops, and is copied before the destination starts it', () => {
  const steps = migrationSteps([{ name: 'orders-follower', start: 0, replicas: 3 }, { name: 'orders-leader', start: 0, replicas: 3 }]);
  const ids = steps.map(stepId);
  assert.deepEqual(ids.slice(0, 3), ['pause', 'copy-config', 'create-destination']);
  assert.deepEqual(ids.slice(-2), ['verify', 'resume']);
  for (const pod of ['orders-follower-0', 'orders-follower-2', 'orders-leader-1']) {
    const at = (kind: string) => ids.indexOf(`${kind}/${pod}`);
    assert.ok(at('failover') < at('retain-pv') && at('retain-pv') < at('scale-source') && at('scale-source') < at('copy-volumes'));
    assert.ok(at('copy-volumes') < at('scale-destination') && at('scale-destination') < at('wait-joined'));
  }
  // the follower set moves entirely before the first leader
  assert.ok(ids.indexOf('wait-joined/orders-follower-0') < ids.indexOf('failover/orders-leader-2'));
});

test('Service copy drops cluster IPs and node ports but keeps a headless Service headless', () => {
  const svc: KubeObject = { metadata: { name: 'cache', namespace: 'redis', uid: 'x' }, spec: { type: 'NodePort', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], selector: { app: 'c' }, ports: [{ port: 6379, nodePort: 31000 }] } };
  const c = copyableService(svc, 'redis-west');
  assert.equal(c.spec?.clusterIP, undefined);
  assert.equal(c.spec?.clusterIPs, undefined);
  assert.deepEqual(c.spec?.ports, [{ port: 6379 }]);
  assert.equal(c.metadata.namespace, 'redis-west');
  const headless = copyableService({ metadata: { name: 'h' }, spec: { clusterIP: 'None', selector: { app: 'c' } } }, 'redis');
  assert.equal(headless.spec?.clusterIP, 'None');
});

test("the operator's resource keeps its annotations (the pause key) and is re-owned in the destination", () => {
  const cr: KubeObject = { apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'RedisCluster', metadata: { name: 'orders', namespace: 'redis', uid: 'u', resourceVersion: '5', annotations: { 'rediscluster.opstreelabs.in/skip-reconcile': 'true', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }, spec: { clusterSize: 3 }, status: { state: 'Ready' } };
  const c = copyableOwner(cr, 'redis');
  assert.deepEqual(c.metadata.annotations, { 'rediscluster.opstreelabs.in/skip-reconcile': 'true' });
  assert.equal(c.status, undefined);
  assert.equal(c.metadata.uid, undefined);
  const sts: KubeObject = { metadata: { name: 'orders-leader', ownerReferences: [{ apiVersion: 'a', kind: 'RedisCluster', name: 'orders', uid: 'east-uid', controller: true }] } };
  const owned = ownedBy(sts, { ...cr, metadata: { ...cr.metadata, uid: 'west-uid' } });
  assert.equal(owned.metadata.ownerReferences?.[0].uid, 'west-uid');
  assert.equal(ownedBy(sts, undefined).metadata.ownerReferences, undefined);
});
