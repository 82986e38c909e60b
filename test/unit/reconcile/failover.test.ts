// planFailover: which master, which replica (--to, or the most in-sync one on another Kubernetes node), the action's
// method and conditions, and the refusals; and restart's order. Pure: observations from the models in builders.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IN_SYNC_BYTES, planFailover } from '../../../src/reconcile/failover.js';
import { holds } from '../../../src/reconcile/conditions.js';
import { RefusedError, UsageError } from '../../../src/errors.js';
import { restartOrder } from '../../../src/workflows/restart/index.js';
import { byPod, clusterModel, groupModel, mastersOf, observeCluster, observeGroup, replicasOfNode, rnode } from './builders.js';

test('Redis Cluster: --shard picks its replica, CLUSTER FAILOVER on it, in sync before and every node agreeing after', () => {
  const m = clusterModel(3, 1);
  const o = observeCluster(m);
  const p = planFailover(o, { shard: 'redis-0' });
  assert.equal(p.from, 'redis-0');
  assert.equal(p.to, 'redis-3');
  assert.equal(p.action.kind, 'failover');
  assert.equal(p.action.method, 'cluster');
  assert.equal(p.action.mode, 'default');
  assert.ok(p.action.precondition.every((c) => holds(o, c)), 'its precondition holds now');
  assert.ok(!p.action.postcondition.every((c) => holds(o, c)), 'its postcondition does not hold yet');
  assert.ok(p.action.postcondition.some((c) => c.type === 'clusterRoleAgreed' && c.role === 'master'));
  // --to alone names the shard
  assert.equal(planFailover(o, { to: 'redis-4' }).from, 'redis-1');
});

test('Redis Cluster: the replica on another Kubernetes node than its master wins over a more in-sync one on the same node', () => {
  const m = clusterModel(2, 2);
  const master = byPod(m, 'redis-0');
  const [a, b] = replicasOfNode(m, master);
  a.k8sNode = master.k8sNode;
  b.offset = master.offset - 10; // a little behind, still in sync
  assert.equal(planFailover(observeCluster(m), { shard: 'redis-0' }).to, b.pod);
  b.offset = master.offset - IN_SYNC_BYTES - 1; // too far behind: the same-node one it is
  assert.equal(planFailover(observeCluster(m), { shard: 'redis-0' }).to, a.pod);
});

test('refusals: --to not a replica of that master, a master as --to, no replica in sync (how far behind), --force while the master answers, bad flags', () => {
  const m = clusterModel(3, 1);
  const o = observeCluster(m);
  const refused = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof RefusedError && re.test(e.message));
  const usage = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof UsageError && re.test(e.message));
  refused(() => planFailover(o, { shard: 'redis-0', to: 'redis-4' }), /"redis-4" is not a replica of redis-0 \(its replicas: redis-3\)/);
  refused(() => planFailover(o, { to: 'redis-1' }), /redis-1 is a master, not a replica/);
  refused(() => planFailover(o, { shard: 'redis-0', force: true }), /--force while the master redis-0 answers is refused/);
  usage(() => planFailover(o, {}), /has 3 masters: name the shard with --shard/);
  usage(() => planFailover(o, { shard: 'redis-3' }), /redis-3 is a replica; name the master of the shard \(redis-0\)/);
  usage(() => planFailover(o, { to: 'nope' }), /pod "nope" is not a pod/);
  usage(() => planFailover(o, { shard: 'redis-0', force: true, takeover: true }), /give one/);
  byPod(m, 'redis-3').offset = byPod(m, 'redis-0').offset - 5 * IN_SYNC_BYTES;
  refused(() => planFailover(observeCluster(m), { shard: 'redis-0' }), new RegExp(`no replica of redis-0 is in sync to take over \\(redis-3 is ${5 * IN_SYNC_BYTES} bytes behind\\)`));
  refused(() => planFailover(observeCluster(m), { to: 'redis-3' }), /redis-3 is not in sync with redis-0: redis-3 is \d+ bytes behind/);
  byPod(m, 'redis-3').up = false;
  refused(() => planFailover(observeCluster(m), { shard: 'redis-0' }), /\(redis-3 does not answer\)/);
});

test('a master that does not answer: refused without --force, and --force promotes its replica with a warning of what it loses', () => {
  const m = clusterModel(3, 1);
  byPod(m, 'redis-0').up = false;
  const o = observeCluster(m);
  assert.throws(() => planFailover(o, { shard: 'redis-0' }), (e: unknown) => e instanceof RefusedError && /does not answer.*--force \(CLUSTER FAILOVER FORCE\)/.test(e.message));
  const p = planFailover(o, { shard: 'redis-0', force: true });
  assert.equal(p.to, 'redis-3');
  assert.equal(p.action.mode, 'force');
  assert.equal(p.action.risk, 'data-loss');
  assert.match(p.warnings[0], /writes the master acknowledged and the replica had not received are lost/);
});

test('Sentinel: SENTINEL FAILOVER steered to the chosen replica, the other replicas at replica-priority 0 meanwhile (their priority kept to restore)', () => {
  const g = groupModel(2, 3);
  rnode(g, 'redis-1').offset -= 100;
  const o = observeGroup(g);
  const p = planFailover(o, {});
  assert.equal(p.from, 'redis-0');
  assert.equal(p.to, 'redis-2', 'the most in-sync replica');
  assert.equal(p.action.method, 'sentinel');
  assert.deepEqual(p.action.steer, [{ pod: 'redis-1', priority: 100 }]);
  assert.equal(p.action.masterName, 'mymaster');
  assert.ok(p.action.postcondition.filter((c) => c.type === 'sentinelMasterPod').length === 3, 'every sentinel names it');
  assert.equal(planFailover(o, { to: 'redis-1' }).to, 'redis-1');
  assert.throws(() => planFailover(o, { to: 'redis-0' }), (e: unknown) => e instanceof RefusedError && /"redis-0" is not a replica of redis-0/.test(e.message));
  assert.throws(() => planFailover(o, { force: true }), (e: unknown) => e instanceof UsageError && /for Redis Cluster/.test(e.message));
});

test('replication without Sentinel: promote and re-point every other pod, the old master too; the role label follows', () => {
  const g = groupModel(2, 0, { labels: true });
  const p = planFailover(observeGroup(g), { to: 'redis-2' });
  assert.equal(p.action.method, 'replication');
  assert.deepEqual(p.action.repoint, ['redis-0', 'redis-1']);
  assert.ok(p.action.label, 'the role label moves');
  assert.ok(p.action.postcondition.some((c) => c.type === 'podLabel' && c.pod === 'redis-2'));
  const two = groupModel(2, 0);
  rnode(two, 'redis-1').masterIp = null;
  assert.throws(() => planFailover(observeGroup(two), {}), (e: unknown) => e instanceof RefusedError && /2 masters .*run kubectl redis heal/.test(e.message));
});

test('property: on any healthy cluster, every shard fails over to one of its own replicas, never on the master\'s Kubernetes node when another is free', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.nat(), (masters, replicas, pick) => {
    const m = clusterModel(masters, replicas);
    const master = mastersOf(m)[pick % masters];
    const p = planFailover(observeCluster(m), { shard: master.pod });
    const own = replicasOfNode(m, master);
    assert.ok(own.some((r) => r.pod === p.to));
    if (own.some((r) => r.k8sNode !== master.k8sNode)) assert.notEqual(byPod(m, p.to).k8sNode, master.k8sNode);
  }));
});

test('restart order: sentinels, then replicas, then masters', () => {
  const o = observeGroup(groupModel(2, 2));
  assert.deepEqual(restartOrder(o, o.pods.map((p) => p.name)).map((x) => `${x.role}:${x.pod}`), ['sentinel:sentinel-0', 'sentinel:sentinel-1', 'replica:redis-1', 'replica:redis-2', 'master:redis-0']);
});
