// The mini operators' pause semantics, as operators.md reads them from each operator's source, shown through the
// real kubectl and redis-cli on five sandboxes started together: `demo` (OT v0.21 RedisCluster orders, plus a
// RedisReplication queue and RedisSentinel queue-sentinel added here; spotahome upstream RedisFailover sessions;
// Bitnami cache), `ot-old` (OT v0.18), `freshworks` (the fork v3.3.5), `ot-replication` and `ucloud`.
//
// One 30 s window covers them all: every custom resource is edited (a size) while its operator is paused the way
// that operator allows (OT keys "true"; OT v0.18 key "false"; freshworks "true"; spotahome upstream and ucloud have
// no pause, so their operator Deployment is scaled to 0, as is OT's in ot-replication), and nothing a reconcile
// would touch changes. Then each is released (key removed, "false" on OT v0.21, Deployment back to 1) and the
// operator converges, the Redis underneath included; upstream spotahome converges with the fork's annotation still
// set, so it ignores it. Each sandbox is first checked healthy: cluster check, sentinels agreeing.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { TestSandbox } from '../support/sandbox.js';
import {
  clusterCheck, eventually, fingerprint, k, kjson, o, pods, rc, scaleOperator, secret, sentinelsAgree, sleep, startSandboxes, withoutSpec, type ClusterTarget,
} from '../support/redis.js';

const NS = 'redis';
const WINDOW_MS = 30_000;
const OT_KEYS = {
  redis: 'redis.opstreelabs.in/skip-reconcile',
  rediscluster: 'rediscluster.opstreelabs.in/skip-reconcile',
  redisreplication: 'redisreplication.opstreelabs.in/skip-reconcile',
  redissentinel: 'redissentinel.opstreelabs.in/skip-reconcile',
};
const FRESHWORKS_KEY = 'redis-failover.freshworks.com/skip-reconcile';

const orders: ClusterTarget = { ns: NS, selector: 'app in (orders-leader,orders-follower)', secret: { name: 'orders-redis', key: 'password' } };
const cache: ClusterTarget = { ns: NS, selector: 'app.kubernetes.io/instance=cache', secret: { name: 'cache', key: 'redis-password' } };
const ledger: ClusterTarget = { ns: NS, selector: 'redis.kun/name=ledger', secret: { name: 'ledger-auth', key: 'password' } };
const sessions = (redisPods: number) => ({
  ns: NS, selector: 'app.kubernetes.io/name=sessions,app.kubernetes.io/component=redis', secret: { name: 'sessions-auth', key: 'password' },
  sentinels: 'app.kubernetes.io/name=sessions,app.kubernetes.io/component=sentinel', masterName: 'mymaster', redisPods, sentinelPods: 3,
});
const queue = (redisPods: number, sentinelPods: number) => ({
  ns: NS, selector: 'app=queue,redis_setup_type=replication', secret: { name: 'queue-redis', key: 'password' },
  sentinels: 'app=queue-sentinel-sentinel', masterName: 'myMaster', redisPods, sentinelPods,
});

/** The ot-replication preset's two custom resources, added to the demo sandbox with kubectl apply. */
const QUEUE_YAML = `apiVersion: v1
kind: Secret
metadata: {name: queue-redis, namespace: redis}
stringData: {password: queue-pass-0d1b}
---
apiVersion: redis.redis.opstreelabs.in/v1beta2
kind: RedisReplication
metadata: {name: queue, namespace: redis}
spec:
  clusterSize: 3
  kubernetesConfig: {image: "quay.io/opstree/redis:v7.0.12", redisSecret: {name: queue-redis, key: password}}
  pdb: {enabled: true, maxUnavailable: 1}
---
apiVersion: redis.redis.opstreelabs.in/v1beta2
kind: RedisSentinel
metadata: {name: queue-sentinel, namespace: redis}
spec:
  clusterSize: 3
  kubernetesConfig: {image: "quay.io/opstree/redis-sentinel:v7.0.12", redisSecret: {name: queue-redis, key: password}}
  redisSentinelConfig: {redisReplicationName: queue, masterGroupName: myMaster, quorum: "2"}
  pdb: {enabled: true, maxUnavailable: 1}
`;

/** An OT Redis standalone, in a namespace of its own so that its edits stay out of the `redis` fingerprints. */
const SCRATCH_NS = 'standalone';
const scratchYaml = (apiVersion: string) => `apiVersion: v1
kind: Namespace
metadata: {name: ${SCRATCH_NS}}
---
apiVersion: v1
kind: Secret
metadata: {name: scratch-redis, namespace: ${SCRATCH_NS}}
stringData: {password: scratch-pass-7c2e}
---
apiVersion: redis.redis.opstreelabs.in/${apiVersion}
kind: Redis
metadata: {name: scratch, namespace: ${SCRATCH_NS}}
spec:
  kubernetesConfig: {image: "quay.io/opstree/redis:v7.0.12", redisSecret: {name: scratch-redis, key: password}}
`;
const SCRATCH_IMAGE = 'quay.io/opstree/redis:v7.0.12';
const OTHER_IMAGE = 'quay.io/opstree/redis:v6.2.14';

/** The image of the standalone's StatefulSet, or undefined when there is none. */
async function scratchImage(sb: TestSandbox): Promise<string | undefined> {
  const r = await sb.kubectl(['get', 'statefulset', '-n', SCRATCH_NS, 'scratch', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
  if (r.code !== 0 && /NotFound|not found/.test(r.stderr)) return undefined;
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** The standalone answers with its password and is a master. */
async function scratchUp(sb: TestSandbox): Promise<boolean> {
  const p = await pods(sb, SCRATCH_NS, 'app=scratch,redis_setup_type=standalone');
  if (p.length !== 1 || !p[0].ready) return false;
  return (await rc(p[0].ip, 6379, 'scratch-pass-7c2e', ['ROLE'])).startsWith('master');
}

const isMaster = (clusterNodesLine: string): boolean => (clusterNodesLine.split(' ')[2] ?? '').split(',').includes('master');

const stsReady = async (sb: TestSandbox, name: string, replicas: number): Promise<boolean> => {
  const s = await kjson(sb, ['get', 'statefulset', '-n', NS, name]);
  return o(s.spec).replicas === replicas && o(s.status).readyReplicas === replicas;
};

const patch = (sb: TestSandbox, kind: string, name: string, spec: Record<string, unknown>) => k(sb, ['patch', kind, name, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec })]);

describe('mini operators: pause keys, scaling the operator to 0, converging after', { timeout: 900_000 }, () => {
  let sb: Record<'demo' | 'otOld' | 'freshworks' | 'otReplication' | 'ucloud', TestSandbox>;

  before(async () => {
    const all = await startSandboxes({
      demo: { preset: 'demo', upTimeoutMs: 400_000 },
      otOld: { preset: 'ot-old', upTimeoutMs: 400_000 },
      freshworks: { preset: 'freshworks', upTimeoutMs: 400_000 },
      otReplication: { preset: 'ot-replication', upTimeoutMs: 400_000 },
      ucloud: { preset: 'ucloud', upTimeoutMs: 400_000 },
    });
    sb = all as typeof sb;
    try {
      const r = await sb.demo.kubectl(['apply', '-f', '-'], { input: QUEUE_YAML });
      assert.equal(r.code, 0, r.stderr);
      for (const [s, v] of [[sb.demo, 'v1beta2'], [sb.otOld, 'v1beta1']] as const) {
        const a = await s.kubectl(['apply', '-f', '-'], { input: scratchYaml(v) });
        assert.equal(a.code, 0, a.stderr);
      }
      await eventually('the standalone scratch to answer in demo and ot-old', async () => (await scratchUp(sb.demo)) && scratchUp(sb.otOld), 120_000, 1000);
      await eventually('queue and queue-sentinel to be healthy in demo', () => sentinelsAgree(sb.demo, queue(3, 3)).then(() => true), 120_000, 1000);
    } catch (e) {
      await Promise.allSettled(Object.values(sb).map((s) => s.down()));
      throw e;
    }
  });

  after(async () => {
    if (sb) await Promise.all(Object.values(sb).map((s) => s.down()));
  });

  test('every preset is healthy after up: cluster check passes, sentinels agree', async () => {
    await clusterCheck(sb.demo, orders, { masters: 3, replicasPer: 1 });
    await clusterCheck(sb.demo, cache, { masters: 3, replicasPer: 1 });
    await sentinelsAgree(sb.demo, sessions(3));
    await clusterCheck(sb.otOld, orders, { masters: 3, replicasPer: 1 });
    await sentinelsAgree(sb.freshworks, sessions(3));
    await sentinelsAgree(sb.otReplication, queue(3, 3));
    await clusterCheck(sb.ucloud, ledger, { masters: 3, replicasPer: 1 });
    // the objects' API versions follow the operator's: OT v0.18 served v1beta1, v0.21 v1beta2
    assert.equal((await kjson(sb.otOld, ['get', 'rediscluster', '-n', NS, 'orders'])).apiVersion, 'redis.redis.opstreelabs.in/v1beta1');
    // the fork watches only RedisFailovers of its operator group
    const rf = await kjson(sb.freshworks, ['get', 'redisfailover', '-n', NS, 'sessions']);
    assert.ok(o(o(rf.metadata).labels)['redis-failover.freshworks.com/operator-group'], 'the fork\'s RedisFailover carries its operator-group label');
  });

  test(`paused or stopped operators leave an edited resource alone for ${WINDOW_MS / 1000} s`, async () => {
    const views: Array<{ what: string; sb: TestSandbox; crKinds: string[] }> = [
      { what: 'demo (OT v0.21 keys "true"; spotahome upstream scaled to 0)', sb: sb.demo, crKinds: ['redisclusters', 'redisreplications', 'redissentinels', 'redisfailovers'] },
      { what: 'ot-old (OT v0.18, key "false")', sb: sb.otOld, crKinds: ['redisclusters'] },
      { what: 'freshworks (fork v3.3.5, "true")', sb: sb.freshworks, crKinds: ['redisfailovers'] },
      { what: 'ot-replication (OT scaled to 0)', sb: sb.otReplication, crKinds: ['redisreplications', 'redissentinels'] },
      { what: 'ucloud (operator scaled to 0)', sb: sb.ucloud, crKinds: ['distributedredisclusters'] },
    ];
    const before = await Promise.all(views.map((v) => fingerprint(v.sb, NS, v.crKinds)));

    // pause each the way its operator allows
    await Promise.all([
      k(sb.demo, ['annotate', 'rediscluster', '-n', NS, 'orders', `${OT_KEYS.rediscluster}=true`]),
      k(sb.demo, ['annotate', 'redisreplication', '-n', NS, 'queue', `${OT_KEYS.redisreplication}=true`]),
      k(sb.demo, ['annotate', 'redissentinel', '-n', NS, 'queue-sentinel', `${OT_KEYS.redissentinel}=true`]),
      // the fork's key on upstream spotahome: it will be ignored (shown once the operator is back)
      k(sb.demo, ['annotate', 'redisfailover', '-n', NS, 'sessions', `${FRESHWORKS_KEY}=true`]),
      scaleOperator(sb.demo, 'spotahome', 'redis-operator', 0),
      k(sb.otOld, ['annotate', 'rediscluster', '-n', NS, 'orders', `${OT_KEYS.rediscluster}=false`]),
      k(sb.freshworks, ['annotate', 'redisfailover', '-n', NS, 'sessions', `${FRESHWORKS_KEY}=true`]),
      scaleOperator(sb.otReplication, 'ot-operators', 'redis-operator', 0),
      scaleOperator(sb.ucloud, 'ucloud', 'redis-cluster-operator', 0),
      k(sb.demo, ['annotate', 'redis', '-n', SCRATCH_NS, 'scratch', `${OT_KEYS.redis}=true`]),
      k(sb.otOld, ['annotate', 'redis', '-n', SCRATCH_NS, 'scratch', `${OT_KEYS.redis}=false`]),
    ]);
    // then edit every custom resource
    await Promise.all([
      patch(sb.demo, 'rediscluster', 'orders', { clusterSize: 4 }),
      patch(sb.demo, 'redisreplication', 'queue', { clusterSize: 4 }),
      patch(sb.demo, 'redissentinel', 'queue-sentinel', { clusterSize: 4 }),
      patch(sb.demo, 'redisfailover', 'sessions', { redis: { replicas: 4 } }),
      patch(sb.otOld, 'rediscluster', 'orders', { clusterSize: 4 }),
      patch(sb.freshworks, 'redisfailover', 'sessions', { redis: { replicas: 4 } }),
      patch(sb.otReplication, 'redisreplication', 'queue', { clusterSize: 4 }),
      patch(sb.otReplication, 'redissentinel', 'queue-sentinel', { clusterSize: 4 }),
      patch(sb.ucloud, 'distributedredisclusters', 'ledger', { clusterReplicas: 2 }),
      // the standalones: a new image on the CR and its StatefulSet deleted (v0.21); image drift on the StatefulSet (v0.18)
      k(sb.demo, ['patch', 'redis', 'scratch', '-n', SCRATCH_NS, '--type', 'merge', '-p', JSON.stringify({ spec: { kubernetesConfig: { image: OTHER_IMAGE } } })])
        .then(() => k(sb.demo, ['delete', 'statefulset', '-n', SCRATCH_NS, 'scratch'])),
      k(sb.otOld, ['set', 'image', 'statefulset/scratch', '-n', SCRATCH_NS, `scratch=${OTHER_IMAGE}`]),
    ]);
    const started = Date.now();
    let samples = 0;
    while (Date.now() - started < WINDOW_MS) {
      await sleep(Math.min(3000, Math.max(0, WINDOW_MS - (Date.now() - started))));
      const now = await Promise.all(views.map((v) => fingerprint(v.sb, NS, v.crKinds)));
      views.forEach((v, i) => assert.equal(withoutSpec(now[i]), withoutSpec(before[i]), `${v.what} changed ${Math.round((Date.now() - started) / 1000)} s after the edit`));
      // the edits did land
      views.forEach((v, i) => assert.notEqual(now[i], before[i], `${v.what}: the edit is not visible`));
      const at = `${Math.round((Date.now() - started) / 1000)} s after the edit`;
      assert.equal(await scratchImage(sb.demo), undefined, `demo: the deleted StatefulSet of the paused Redis scratch was re-created ${at}`);
      assert.equal(await scratchImage(sb.otOld), OTHER_IMAGE, `ot-old: the image drift of the paused ("false") Redis scratch was reset ${at}`);
      samples++;
    }
    assert.ok(Date.now() - started >= WINDOW_MS, 'the window lasted');
    assert.ok(samples >= 4, `${samples} samples in the window`);
    // and the Redis underneath was left alone too: same cluster size, same replicas
    await clusterCheck(sb.demo, orders, { masters: 3, replicasPer: 1 });
    await clusterCheck(sb.otOld, orders, { masters: 3, replicasPer: 1 });
    await clusterCheck(sb.ucloud, ledger, { masters: 3, replicasPer: 1 });
    await sentinelsAgree(sb.freshworks, sessions(3));
    await sentinelsAgree(sb.otReplication, queue(3, 3));
  });

  describe('released, each operator converges', { concurrency: true }, () => {
    test('OT v0.21: key set to "false" (only "true" pauses since v0.19.1): RedisCluster scales out to 4 shards, then in to 3', async () => {
      await k(sb.demo, ['annotate', '--overwrite', 'rediscluster', '-n', NS, 'orders', `${OT_KEYS.rediscluster}=false`]);
      await eventually('orders to have 4 leaders and 4 followers', async () => (await stsReady(sb.demo, 'orders-leader', 4)) && stsReady(sb.demo, 'orders-follower', 4), 120_000, 1000);
      await eventually('orders cluster check with 4 masters', () => clusterCheck(sb.demo, orders, { masters: 4, replicasPer: 1 }), 120_000, 1000);
      const p = await pods(sb.demo, NS, orders.selector);
      assert.deepEqual(p.map((x) => x.labels['redis-role']).sort(), ['master', 'master', 'master', 'master', 'slave', 'slave', 'slave', 'slave']);
      // the keys written by the preset survived the rebalance
      const pass = await secret(sb.demo, NS, 'orders-redis', 'password');
      assert.equal(await rc(p[0].ip, 6379, pass, ['-c', 'GET', 'orders:key:7']), 'value-7');

      // and back in to 3 shards, as OT does it: the slots of orders-leader-3 and their keys move to the others,
      // orders-leader-3 and its follower leave the cluster, then the StatefulSets shrink
      const ip = async (pod: string) => (await pods(sb.demo, NS, orders.selector)).find((x) => x.name === pod)?.ip ?? '';
      const gone = new Set((await Promise.all(['orders-leader-3', 'orders-follower-3'].map(async (n) => (await rc(await ip(n), 6379, pass, ['CLUSTER', 'MYID'])).trim()))));
      const dbsize = async () => {
        const masters = (await rc(p[0].ip, 6379, pass, ['CLUSTER', 'NODES'])).split('\n').filter(isMaster);
        let total = 0;
        for (const l of masters) total += Number(await rc(l.split(' ')[1].split(':')[0], 6379, pass, ['DBSIZE']));
        return total;
      };
      const keysBefore = await dbsize();
      assert.ok(keysBefore >= 300, `${keysBefore} keys before`);
      await patch(sb.demo, 'rediscluster', 'orders', { clusterSize: 3 });
      await eventually('orders to be back at 3 leaders and 3 followers', async () => (await stsReady(sb.demo, 'orders-leader', 3)) && (await stsReady(sb.demo, 'orders-follower', 3))
        && (await pods(sb.demo, NS, orders.selector)).length === 6, 180_000, 1000);
      const check = await eventually('orders cluster check with 3 masters', () => clusterCheck(sb.demo, orders, { masters: 3, replicasPer: 1 }), 120_000, 1000);
      assert.match(check, new RegExp(`\\[OK\\] ${keysBefore} keys in 3 masters`), check);
      const left = await pods(sb.demo, NS, orders.selector);
      for (const x of left) {
        const nodes = await rc(x.ip, 6379, pass, ['CLUSTER', 'NODES']);
        for (const id of gone) assert.ok(!nodes.includes(id), `${x.name} still knows removed node ${id.slice(0, 8)}:\n${nodes}`);
      }
      // the slots are spread evenly again (rebalance) and no key was lost
      const slotsOf = (line: string) => line.split(' ').slice(8).filter((r) => !r.startsWith('[')).reduce((n, r) => { const [a, b] = r.split('-').map(Number); return n + (b ?? a) - a + 1; }, 0);
      const masterSlots = (await rc(left[0].ip, 6379, pass, ['CLUSTER', 'NODES'])).split('\n').filter(isMaster).map(slotsOf);
      assert.equal(masterSlots.length, 3);
      for (const n of masterSlots) assert.ok(n >= 5400 && n <= 5500, `slots per master ${masterSlots.join(', ')}`);
      assert.equal(await dbsize(), keysBefore);
      for (const i of [0, 7, 123, 299]) assert.equal(await rc(left[0].ip, 6379, pass, ['-c', 'GET', `orders:key:${i}`]), `value-${i}`);
      assert.deepEqual(left.map((x) => x.labels['redis-role']).sort(), ['master', 'master', 'master', 'slave', 'slave', 'slave']);
    });

    test('OT Redis standalone, key removed: v0.21 re-creates the deleted StatefulSet with the new image, v0.18 resets the drift', async () => {
      await k(sb.demo, ['annotate', 'redis', '-n', SCRATCH_NS, 'scratch', `${OT_KEYS.redis}-`]);
      await k(sb.otOld, ['annotate', 'redis', '-n', SCRATCH_NS, 'scratch', `${OT_KEYS.redis}-`]);
      await eventually('demo: scratch re-created with the CR\'s image', async () => (await scratchImage(sb.demo)) === OTHER_IMAGE, 60_000, 1000);
      await eventually('ot-old: scratch\'s image back to the CR\'s', async () => (await scratchImage(sb.otOld)) === SCRATCH_IMAGE, 60_000, 1000);
      await eventually('both standalones to answer', async () => (await scratchUp(sb.demo)) && scratchUp(sb.otOld), 120_000, 1000);
      // OT's names and labels
      const sts = await kjson(sb.demo, ['get', 'statefulset', '-n', SCRATCH_NS, 'scratch']);
      assert.deepEqual(o(o(sts.metadata).labels), { app: 'scratch', redis_setup_type: 'standalone', role: 'standalone' });
      assert.equal(o(sts.spec).replicas, 1);
      const svcs = await kjson(sb.demo, ['get', 'services', '-n', SCRATCH_NS]);
      assert.deepEqual(((svcs.items ?? []) as Array<Record<string, unknown>>).map((x) => String(o(x.metadata).name)).sort(), ['scratch', 'scratch-headless']);
    });

    test('OT v0.21: RedisReplication and RedisSentinel keys removed: 4 replicas, 4 sentinels agreeing', async () => {
      await k(sb.demo, ['annotate', 'redisreplication', '-n', NS, 'queue', `${OT_KEYS.redisreplication}-`]);
      await k(sb.demo, ['annotate', 'redissentinel', '-n', NS, 'queue-sentinel', `${OT_KEYS.redissentinel}-`]);
      await eventually('queue: 4 replicas and 4 sentinels agreeing', () => sentinelsAgree(sb.demo, queue(4, 4)), 120_000, 1000);
    });

    test('spotahome upstream ignores the fork\'s skip-reconcile: back at 1 replica, it converges with the annotation still "true"', async () => {
      await scaleOperator(sb.demo, 'spotahome', 'redis-operator', 1);
      await eventually('sessions: 4 redis, sentinels agreeing', () => sentinelsAgree(sb.demo, sessions(4)), 120_000, 1000);
      const rf = await kjson(sb.demo, ['get', 'redisfailover', '-n', NS, 'sessions']);
      assert.equal(o(o(rf.metadata).annotations)[FRESHWORKS_KEY], 'true');
      const p = await pods(sb.demo, NS, sessions(4).selector);
      assert.deepEqual(p.map((x) => x.labels['redisfailovers-role']).sort(), ['master', 'slave', 'slave', 'slave']);
    });

    test('OT v0.18: "false" paused; only deleting the key resumes', async () => {
      await k(sb.otOld, ['annotate', 'rediscluster', '-n', NS, 'orders', `${OT_KEYS.rediscluster}-`]);
      await eventually('orders (v0.18) cluster check with 4 masters', () => clusterCheck(sb.otOld, orders, { masters: 4, replicasPer: 1 }), 180_000, 1000);
    });

    test('freshworks fork: removing "true" resumes', async () => {
      await k(sb.freshworks, ['annotate', 'redisfailover', '-n', NS, 'sessions', `${FRESHWORKS_KEY}-`]);
      await eventually('sessions (fork): 4 redis, sentinels agreeing', () => sentinelsAgree(sb.freshworks, sessions(4)), 120_000, 1000);
    });

    test('OT scaled back to 1: the RedisReplication and RedisSentinel catch up', async () => {
      await scaleOperator(sb.otReplication, 'ot-operators', 'redis-operator', 1);
      await eventually('queue: 4 replicas and 4 sentinels agreeing', () => sentinelsAgree(sb.otReplication, queue(4, 4)), 120_000, 1000);
    });

    test('ucloud (no pause key) scaled back to 1: every shard gets its second replica', async () => {
      await scaleOperator(sb.ucloud, 'ucloud', 'redis-cluster-operator', 1);
      await eventually('ledger cluster check with 2 replicas per master', () => clusterCheck(sb.ucloud, ledger, { masters: 3, replicasPer: 2 }), 180_000, 1000);
      for (const i of [0, 1, 2]) assert.ok(await stsReady(sb.ucloud, `drc-ledger-${i}`, 3));
    });
  });
});
