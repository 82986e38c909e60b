import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADAPTERS, discoverAll, resolveTarget } from '../../../src/targets/index.js';
import { targetContext } from '../../../src/reconcile/session.js';
import { otRedis, otRedisCluster } from '../../../src/targets/ot.js';
import { spotahomeFailover } from '../../../src/targets/spotahome.js';
import { compareVersions, imageVersion } from '../../../src/targets/common.js';
import type { KubeObject, KubeReader, ResourceRef } from '../../../src/kube/types.js';
import type { Target } from '../../../src/targets/types.js';
import { NotFoundError, UsageError } from '../../../src/errors.js';
import { matchesLabelString } from '../../../src/kube/selector.js';

/** A reader over plain objects, keyed by "group/plural" (unit tests of pure lookup logic only). */
function fakeReader(objects: Record<string, KubeObject[]>): KubeReader {
  const key = (r: ResourceRef) => `${r.group}/${r.version}/${r.plural}`;
  return {
    async list(res, namespace, opts) {
      return (objects[key(res)] ?? []).filter((o) => (namespace === undefined || o.metadata.namespace === namespace) && matchesLabelString(opts?.labelSelector, o.metadata.labels));
    },
    async get(res, namespace, name) {
      return (objects[key(res)] ?? []).find((o) => o.metadata.name === name && o.metadata.namespace === namespace);
    },
  };
}

const ns = 'redis';
const objects: Record<string, KubeObject[]> = {
  'redis.redis.opstreelabs.in/v1beta2/redisclusters': [{ apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'RedisCluster', metadata: { name: 'orders', namespace: ns }, spec: { clusterSize: 3, kubernetesConfig: { redisSecret: { name: 'orders-auth', key: 'password' } } } }],
  'databases.spotahome.com/v1/redisfailovers': [{ metadata: { name: 'sessions', namespace: ns }, spec: { redis: { replicas: 3 }, sentinel: { replicas: 3 }, auth: { secretPath: 'sessions-auth' } } }],
  'apps/v1/statefulsets': [
    { metadata: { name: 'cache', namespace: ns, labels: { 'app.kubernetes.io/name': 'redis-cluster', 'app.kubernetes.io/instance': 'cache' } }, spec: { replicas: 6, selector: { matchLabels: { 'app.kubernetes.io/name': 'redis-cluster', 'app.kubernetes.io/instance': 'cache' } }, template: { spec: { containers: [{ name: 'redis-cluster', env: [{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'cache', key: 'redis-password' } } }] }] } } } },
    { metadata: { name: 'orders-leader', namespace: ns, labels: { 'app.kubernetes.io/name': 'redis-cluster' }, ownerReferences: [{ apiVersion: 'x', kind: 'RedisCluster', name: 'orders', uid: 'u', controller: true }] }, spec: {} },
    { metadata: { name: 'orders', namespace: 'other', labels: { 'app.kubernetes.io/name': 'redis-cluster' } }, spec: { selector: { matchLabels: { a: 'b' } } } },
  ],
  '/v1/secrets': [{ metadata: { name: 'orders-auth', namespace: ns }, data: { password: Buffer.from('s3cret').toString('base64') } }],
  'apps/v1/deployments': [{ metadata: { name: 'redis-operator', namespace: 'ot-operators' }, spec: { replicas: 1, template: { spec: { containers: [{ image: 'quay.io/opstree/redis-operator:v0.18.0' }] } } }, status: { readyReplicas: 1 } }],
};
const reader = fakeReader(objects);

test('discovery finds each system with its names, selectors and PDBs, and never claims an operator-owned StatefulSet', async () => {
  const all = await discoverAll(reader, ns);
  assert.deepEqual(all.map((t) => t.ref), ['rediscluster/orders', 'rf/sessions', 'sts/cache']);
  const orders = all[0];
  assert.deepEqual(orders.statefulSets, ['orders-leader', 'orders-follower']);
  assert.equal(orders.redisSelector, 'app in (orders-leader,orders-follower)');
  assert.deepEqual(orders.expected, { masters: 3, replicasPerMaster: 1 });
  assert.deepEqual(orders.passwordSecret, { name: 'orders-auth', key: 'password' });
  const rf = all[1];
  assert.equal(rf.topology, 'sentinel');
  assert.deepEqual(rf.pdbNames, ['rfr-sessions', 'rfs-sessions']);
  assert.equal(rf.roleLabel?.key, 'redisfailovers-role');
  const cache = all[2];
  assert.equal(cache.redisSelector, 'app.kubernetes.io/name=redis-cluster,app.kubernetes.io/instance=cache');
  assert.deepEqual(cache.passwordSecret, { name: 'cache', key: 'redis-password' });
});

test('a namespace without any CRD installed finds nothing', async () => {
  assert.deepEqual(await discoverAll(fakeReader({}), ns), []);
});

test('resolveTarget: kubectl-style kinds, bare names, and one-sentence errors', async () => {
  assert.equal((await resolveTarget(reader, 'rediscluster/orders', ns)).ref, 'rediscluster/orders');
  assert.equal((await resolveTarget(reader, 'redisclusters.redis.redis.opstreelabs.in/orders', ns)).ref, 'rediscluster/orders');
  assert.equal((await resolveTarget(reader, 'rf/sessions', ns)).ref, 'rf/sessions');
  assert.equal((await resolveTarget(reader, 'sessions', ns)).ref, 'rf/sessions');
  assert.equal((await resolveTarget(reader, 'sts/cache', ns)).ref, 'sts/cache');
  await assert.rejects(resolveTarget(reader, 'rediscluster/nope', ns), (e: unknown) => e instanceof NotFoundError && e.message === 'rediscluster "nope" not found in namespace "redis"');
  await assert.rejects(resolveTarget(reader, 'deployment/x', ns), (e: unknown) => e instanceof UsageError && /unknown kind "deployment"/.test(e.message));
  await assert.rejects(resolveTarget(reader, 'nope', ns), /no Redis target named "nope" in namespace "redis"/);
  const twice = fakeReader({ ...objects, 'databases.spotahome.com/v1/redisfailovers': [{ metadata: { name: 'orders', namespace: ns }, spec: {} }] });
  await assert.rejects(resolveTarget(twice, 'orders', ns), (e: unknown) => e instanceof UsageError && /ambiguous .* rediscluster\/orders, rf\/orders/.test(e.message));
});

test('pause mechanism follows the operator version', () => {
  const t = {} as Target;
  const ot = (v?: string) => otRedisCluster.pauseMechanism(t, { present: true, running: true, version: v, image: `quay.io/opstree/redis-operator:${v}` });
  for (const v of ['v0.15.0', 'v0.18.3', 'v0.19.0']) assert.deepEqual(ot(v), { type: 'annotation', key: 'rediscluster.opstreelabs.in/skip-reconcile', value: 'true', presenceOnly: true }, v);
  for (const v of ['v0.19.1', 'v0.21.0', 'v0.26.0']) assert.equal((ot(v) as { presenceOnly: boolean }).presenceOnly, false, v);
  assert.equal(ot('v0.14.0').type, 'none');
  const rf = (image: string, version?: string) => spotahomeFailover.pauseMechanism(t, { present: true, running: true, image, version });
  assert.equal(rf('quay.io/spotahome/redis-operator:v1.3.0', 'v1.3.0').type, 'none');
  assert.equal(rf('freshworks/redis-operator:v3.3.1', 'v3.3.1').type, 'none');
  assert.deepEqual(rf('freshworks/redis-operator:v3.3.2', 'v3.3.2'), { type: 'annotation', key: 'redis-failover.freshworks.com/skip-reconcile', value: 'true', presenceOnly: false });
});

test('targetContext finds the operator, its pause semantics and the password (never shown)', async () => {
  const t = await resolveTarget(reader, 'rediscluster/orders', ns);
  const ctx = await targetContext(reader, t);
  assert.equal(ctx.operator.deployment, 'ot-operators/redis-operator');
  assert.equal(ctx.operator.version, 'v0.18.0');
  assert.equal(ctx.mechanism.type === 'annotation' && ctx.mechanism.presenceOnly, true);
  assert.equal(ctx.observeInput.spec.auth?.password, 's3cret');
  assert.equal(ctx.observeInput.spec.secretHint, 'Secret redis/orders-auth key password');
  const missing = await resolveTarget(reader, 'rf/sessions', ns);
  await assert.rejects(targetContext(reader, missing), /Secret redis\/sessions-auth key "password", which does not exist/);
});

test('versions compare numerically and image tags are read', () => {
  assert.equal(compareVersions('v0.19.1', '0.19.0'), 1);
  assert.equal(compareVersions('v0.9', 'v0.15'), -1);
  assert.equal(compareVersions('3.3.2-rc1', 'v3.3.2'), 0);
  assert.equal(imageVersion('quay.io/opstree/redis-operator:v0.21.0'), 'v0.21.0');
  assert.equal(imageVersion('registry:5000/x/redis-operator'), undefined);
  assert.equal(ADAPTERS.length, 9);
});

test('OT Redis standalone and the Bitnami redis chart with architecture=replication', async () => {
  const stsOf = (name: string, component: string, replicas: number, extra: Record<string, unknown> = {}): KubeObject => ({
    metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'store', 'app.kubernetes.io/component': component } },
    spec: { replicas, template: { spec: { containers: [{ name: 'redis', env: [{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'store', key: 'redis-password' } } }] }] } }, ...extra },
  });
  const r = fakeReader({
    'redis.redis.opstreelabs.in/v1beta2/redis': [{ apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'Redis', metadata: { name: 'scratch', namespace: ns }, spec: { kubernetesConfig: { redisSecret: { name: 'scratch-redis', key: 'password' } } } }],
    'apps/v1/statefulsets': [
      stsOf('store-master', 'master', 1), stsOf('store-replicas', 'replica', 2),
      // a sentinel release of the same chart is the sentinel adapter's
      { ...stsOf('queue-node', 'node', 3), metadata: { name: 'queue-node', namespace: ns, labels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'queue', 'app.kubernetes.io/component': 'node' } }, spec: { replicas: 3, template: { spec: { containers: [{ name: 'redis' }, { name: 'sentinel' }] } } } },
    ],
    '/v1/secrets': [{ metadata: { name: 'store', namespace: ns }, data: { 'redis-password': Buffer.from('pw').toString('base64') } }],
  });
  const all = await discoverAll(r, ns);
  assert.deepEqual(all.map((t) => `${t.ref} ${t.topology}`), ['redis/scratch standalone', 'sts/queue-node sentinel', 'sts/store-master replication']);
  const scratch = all[0];
  assert.equal(scratch.redisSelector, 'app=scratch,redis_setup_type=standalone');
  assert.deepEqual(scratch.statefulSets, ['scratch']);
  assert.deepEqual(scratch.passwordSecret, { name: 'scratch-redis', key: 'password' });
  assert.deepEqual(otRedis.pauseMechanism(scratch, { present: true, running: true, version: 'v0.18.0' }), { type: 'annotation', key: 'redis.opstreelabs.in/skip-reconcile', value: 'true', presenceOnly: true });
  assert.equal((await resolveTarget(r, 'redis/scratch', ns)).ref, 'redis/scratch');
  assert.equal((await resolveTarget(r, 'redis.redis.redis.opstreelabs.in/scratch', ns)).ref, 'redis/scratch');
  const store = all[2];
  assert.deepEqual(store.statefulSets, ['store-master', 'store-replicas']);
  assert.deepEqual(store.pdbNames, ['store-master', 'store-replicas']);
  assert.deepEqual(store.expected, { masters: 1, replicasPerMaster: 2 });
  assert.deepEqual(store.passwordSecret, { name: 'store', key: 'redis-password' });
  assert.ok(matchesLabelString(store.redisSelector, { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'store', 'app.kubernetes.io/component': 'replica' }));
  assert.ok(!matchesLabelString(store.redisSelector, { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'queue', 'app.kubernetes.io/component': 'node' }));
  for (const name of ['sts/store-master', 'sts/store-replicas', 'sts/store', 'store', 'store-replicas']) assert.equal((await resolveTarget(r, name, ns)).ref, 'sts/store-master', name);
  const ctx = await targetContext(r, store);
  assert.equal(ctx.mechanism.type, 'none');
  assert.equal(ctx.observeInput.spec.auth?.password, 'pw');
});
