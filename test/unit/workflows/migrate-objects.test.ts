import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { copyablePv, copyablePvc, destinationStatefulSet, migrationSteps, stepId } from '../../../src/workflows/migrate/objects.js';
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
    const steps = migrationSteps(n, start);
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
