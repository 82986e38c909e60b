import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slotsThatMatter, type Collected } from '../../../src/reconcile/collect.js';
import { buildObserved, type ObserveInput } from '../../../src/reconcile/observe.js';
import { parseClusterNodes } from '../../../src/redis/cluster-nodes.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
/** CLUSTER NODES text with short names a1/b2/c3 replaced by real 40-hex ids. */
const ids = (t: string) => t.replace(/\ba1\b/g, A).replace(/\bb2\b/g, B).replace(/\bc3\b/g, C);

const healthy = `a1 127.0.0.1:6379@16379 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.2:6379@16379 master - 0 0 2 connected 5461-10922
c3 127.0.0.3:6379@16379 master - 0 0 3 connected 10923-16383`;

test('a healthy cluster has no slot that needs counting', () => {
  assert.deepEqual(slotsThatMatter([{ pod: 'p0', address: '', reachable: true, clusterNodes: parseClusterNodes(ids(healthy)) }]), []);
});

test('open, uncovered and contested slots are the ones counted', () => {
  const view1 = parseClusterNodes(ids(`a1 127.0.0.1:6379@16379 myself,master - 0 0 1 connected 0-5460 [100->-b2]
b2 127.0.0.2:6379@16379 master - 0 0 2 connected 5461-10921
c3 127.0.0.3:6379@16379 master - 0 0 3 connected 10923-16383`));
  const view2 = parseClusterNodes(ids(`b2 127.0.0.2:6379@16379 myself,master - 0 0 4 connected 5000-10921
a1 127.0.0.1:6379@16379 master - 0 0 1 connected 0-5460
c3 127.0.0.3:6379@16379 master - 0 0 3 connected 10923-16383`));
  const slots = slotsThatMatter([
    { pod: 'p0', address: '', reachable: true, clusterNodes: view1 },
    { pod: 'p1', address: '', reachable: true, clusterNodes: view2 },
  ]);
  assert.ok(slots.includes(100), 'migrating slot');
  assert.ok(slots.includes(10922), 'uncovered slot');
  assert.ok(slots.includes(5000) && slots.includes(5460), 'slots claimed by a1 and b2');
  assert.ok(!slots.includes(6000) && !slots.includes(0), 'plainly owned slots are not counted');
  assert.equal(slots.length, 1 + 1 + 461);
});

test('buildObserved maps pods, role labels, PDB membership and cluster info', () => {
  const input: ObserveInput = {
    fact: { kind: 'RedisCluster', name: 'orders', namespace: 'redis', system: 'ot', topology: 'cluster' },
    spec: { namespace: 'redis', topology: 'cluster', redisSelector: 'app=orders', redisPort: 6379, sentinelPort: 26379 },
    roleLabel: { key: 'redis-role', master: 'master', replica: 'slave' },
    pdbNames: ['orders-leader'],
    pause: { paused: false, strategy: 'annotation' },
    operator: { present: true, running: true },
  };
  const c: Collected = {
    pods: [
      { name: 'orders-leader-0', ip: '127.14.0.1', nodeName: 'n1', phase: 'Running', ready: true, deleting: false, restarts: 0, createdAt: '', labels: { app: 'orders-leader', 'redis-role': 'master' }, component: 'redis' },
      { name: 'orders-follower-0', ip: '127.14.0.2', nodeName: 'n2', phase: 'Running', ready: false, deleting: false, restarts: 1, createdAt: '', labels: { app: 'orders-follower' }, component: 'redis' },
    ],
    redis: [
      { pod: 'orders-leader-0', address: '127.14.0.1:6379', reachable: true, clusterInfo: { state: 'ok', slotsAssigned: 16384, slotsOk: 16384, slotsPfail: 0, slotsFail: 0, knownNodes: 6, size: 3, currentEpoch: 6, myEpoch: 1 } as never, keys: 10 },
      { pod: 'orders-follower-0', address: '127.14.0.2:6379', reachable: false, error: 'timeout' },
    ],
    sentinels: [],
  };
  const pdbs = [
    { metadata: { name: 'orders-leader' }, spec: { selector: { matchLabels: { app: 'orders-leader' } }, maxUnavailable: 1 }, status: { disruptionsAllowed: 1 } },
    { metadata: { name: 'someone-else' }, spec: { selector: {} } },
  ];
  const o = buildObserved(input, c, pdbs, new Date('2026-01-01T00:00:00Z'));
  assert.equal(o.observedAt, '2026-01-01T00:00:00.000Z');
  assert.deepEqual(o.pods.map((p) => [p.name, p.ordinal, p.roleLabel?.value]), [['orders-leader-0', 0, 'master'], ['orders-follower-0', 0, '']]);
  assert.deepEqual(o.pdbs, [{ name: 'orders-leader', pods: ['orders-leader-0'], maxUnavailable: 1, disruptionsAllowed: 1 }]);
  assert.equal(o.redis[0].clusterInfo?.state, 'ok');
  assert.equal(o.redis[0].dbsize, 10);
  assert.equal(o.redis[1].reachable, false);
  assert.equal(o.redis[1].error, 'timeout');
});
