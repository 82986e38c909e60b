import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { diagnose, toRanges } from '../../../src/reconcile/diagnose.js';
import { FINDING_KINDS, NON_TOPOLOGY_KINDS, type Observed } from '../../../src/reconcile/types.js';
import type { ClusterNodeEntry } from '../../../src/redis/types.js';
import { CASES, byPod, clusterModel, forgetNode, groupModel, observeCluster, observeGroup, observeScenario, restartOnNewIp, settle, contest, staleView, uncover } from './builders.js';

const kinds = (o: Observed) => [...new Set(diagnose(o).map((f) => f.kind))].sort();
const topology = (o: Observed) => diagnose(o).filter((f) => !NON_TOPOLOGY_KINDS.includes(f.kind));

for (const c of CASES) {
  test(`diagnose: ${c.name}`, () => {
    assert.deepEqual(kinds(observeScenario(c.build())), c.findings);
  });
}

test('every finding says what, where and why, in FINDING_KINDS order', () => {
  for (const c of CASES) {
    const findings = diagnose(observeScenario(c.build()));
    const order = findings.map((f) => FINDING_KINDS.indexOf(f.kind));
    assert.deepEqual(order, [...order].sort((a, b) => a - b), c.name);
    for (const f of findings) {
      assert.ok(f.message.length > 10 && !f.message.includes('undefined'), `${c.name}: ${f.message}`);
      assert.ok(f.pods.length + f.objects.length > 0 || f.kind === 'slots-uncovered', `${c.name}: ${f.kind} names something`);
      assert.deepEqual(f.pods, [...f.pods].sort(), 'pods sorted');
    }
  }
});

test('a node known under its old IP: stale-ip names the node, its new address and who is stale', () => {
  const m = clusterModel(3, 1);
  restartOnNewIp(m, 'redis-1');
  const [f] = diagnose(observeCluster(m));
  assert.equal(f.kind, 'stale-ip');
  assert.equal(f.severity, 'critical');
  assert.deepEqual(f.nodeIds, [byPod(m, 'redis-1').id]);
  assert.match(f.message, /redis-1 \(00020002\) answers at 10\.1\.0\.11:6379 but 5 node\(s\) still know it at its old address 10\.0\.0\.11:6379/);
  assert.equal(f.evidence.length, 5);
  assert.equal(f.fix, 'kubectl redis heal rediscluster/orders -n shop --only stale-ip');
});

test('a forgotten master: node-forgotten names it and every node that forgot it; its own replica still knows it', () => {
  const m = clusterModel(3, 1);
  forgetNode(m, 'redis-1');
  settle(m);
  const f = diagnose(observeCluster(m)).find((x) => x.kind === 'node-forgotten');
  assert.ok(f, 'node-forgotten reported');
  assert.equal(f.severity, 'critical');
  assert.deepEqual(f.nodeIds, [byPod(m, 'redis-1').id]);
  // redis-4 replicates redis-1 and cannot forget it
  assert.deepEqual(f.pods, ['redis-0', 'redis-1', 'redis-2', 'redis-3', 'redis-5']);
  assert.match(f.message, /redis-1 \(00020002, master, 5461 slots\) is in the cluster but 4 node\(s\) do not know it/);
});

test('a forgotten replica is a warning (redis-cli --cluster check does not see it), and a healthy cluster has none', () => {
  const m = clusterModel(3, 1);
  assert.equal(diagnose(observeCluster(m)).length, 0);
  forgetNode(m, 'redis-3');
  settle(m);
  const fs = diagnose(observeCluster(m));
  assert.deepEqual(fs.map((x) => [x.kind, x.severity]), [['node-forgotten', 'warning']]);
});

test('uncovered slots are reported as ranges with the keys found in them', () => {
  const m = clusterModel(3, 0);
  uncover(m, 100, 199, 4);
  settle(m);
  const [f] = diagnose(observeCluster(m));
  assert.equal(f.kind, 'slots-uncovered');
  assert.deepEqual(f.slots, [[100, 199]]);
  assert.deepEqual(f.evidence, ['redis-0 holds 4 keys there']);
});

test('slots claimed twice are grouped by the masters that claim them, with their keys', () => {
  const m = clusterModel(3, 1);
  contest(m, 'redis-0', 'redis-1', 5, { owner: 2, rival: 1 });
  const f = diagnose(observeCluster(m)).find((x) => x.kind === 'slot-multiple-owners')!;
  assert.deepEqual(f.slots, [[0, 4]]);
  assert.deepEqual(f.pods, ['redis-0', 'redis-1']);
  assert.ok(f.evidence.some((e) => /redis-0 .* holds 2 keys/.test(e)) && f.evidence.some((e) => /redis-1 .* holds 1 keys/.test(e)));
});

test('a paused target says by whom, why and until when; an expired pause warns', () => {
  const o = observeCluster(clusterModel(1, 0));
  o.pause = { paused: true, by: 'ann', at: '2026-03-01T08:00:00Z', reason: 'moving', until: '2026-03-01T12:00:00Z', strategy: 'annotation' };
  const [active] = diagnose(o);
  assert.equal(active.severity, 'info');
  assert.equal(active.message, 'reconcile is paused by ann since 2026-03-01T08:00:00Z (moving) until 2026-03-01T12:00:00Z');
  o.pause.until = '2026-03-01T09:00:00Z';
  assert.equal(diagnose(o)[0].severity, 'warning');
  assert.match(diagnose(o)[0].message, /expired at 2026-03-01T09:00:00Z/);
});

test('an operator scaled down by pause is only an info', () => {
  const o = observeCluster(clusterModel(1, 0));
  o.pause = { paused: true, strategy: 'operator-scale-down' };
  o.operator = { present: true, running: false, replicas: 0 };
  assert.deepEqual(diagnose(o).map((f) => [f.kind, f.severity]), [['reconcile-paused', 'info'], ['operator-not-running', 'info']]);
});

test('a replica sentinels know by hostname is not stale; one they know twice is', () => {
  const g = groupModel(1, 1);
  const o = observeGroup(g);
  o.sentinels[0].knownReplicas = ['redis-1.redis-headless.shop.svc.cluster.local:6379'];
  assert.deepEqual(kinds(o), []);
  o.sentinels[0].knownReplicas.push('10.0.1.11:6379');
  assert.deepEqual(kinds(o), ['sentinel-stale-entries']);
});

test('diagnose is deterministic', () => {
  for (const c of CASES) {
    const o = observeScenario(c.build());
    assert.deepEqual(diagnose(o), diagnose(structuredClone(o)), c.name);
  }
});

test('property: a healthy cluster of any size has no finding', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 2 }), fc.boolean(), (masters, replicas, labels) => {
      assert.deepEqual(topology(observeCluster(clusterModel(masters, replicas, { labels }))), []);
    }),
    { numRuns: 40 },
  );
});

test('property: a healthy sentinel or replication group has no finding', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4 }), fc.constantFrom(0, 1, 3, 5), (replicas, sentinels) => {
      assert.deepEqual(diagnose(observeGroup(groupModel(replicas, sentinels, { labels: true }))), []);
    }),
    { numRuns: 40 },
  );
});

// ---------------------------------------------------------------- never throws on partial observations

const hexId = fc.constantFrom('a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40), 'd'.repeat(40));
const slotRange = fc.tuple(fc.integer({ min: 0, max: 16383 }), fc.integer({ min: 0, max: 200 })).map(([a, n]): [number, number] => [a, Math.min(16383, a + n)]);

const entryArb: fc.Arbitrary<ClusterNodeEntry> = fc.record({
  id: hexId,
  ip: fc.constantFrom('', '10.0.0.1', '10.0.0.2', '10.0.0.3'),
  port: fc.constantFrom(0, 6379),
  busPort: fc.constantFrom(0, 16379),
  flags: fc.subarray(['myself', 'master', 'slave', 'fail', 'fail?', 'handshake', 'noaddr']),
  myself: fc.boolean(),
  role: fc.constantFrom('master' as const, 'replica' as const, 'unknown' as const),
  masterId: fc.option(hexId, { nil: null }),
  pingSent: fc.nat(),
  pongRecv: fc.nat(),
  configEpoch: fc.nat({ max: 5 }),
  linkState: fc.constantFrom('connected' as const, 'disconnected' as const),
  slots: fc.array(slotRange, { maxLength: 3 }),
  migrating: fc.array(fc.record({ slot: fc.integer({ min: 0, max: 16383 }), to: hexId }), { maxLength: 1 }),
  importing: fc.array(fc.record({ slot: fc.integer({ min: 0, max: 16383 }), from: hexId }), { maxLength: 1 }),
  failed: fc.boolean(),
  pfail: fc.boolean(),
  handshake: fc.boolean(),
  noaddr: fc.boolean(),
});

const podName = fc.constantFrom('p0', 'p1', 'p2', 'p3');

const observedArb = fc.record({
  target: fc.record({
    kind: fc.constant('RedisCluster'), name: fc.constant('x'), namespace: fc.constant('ns'), system: fc.constant('ot' as const),
    topology: fc.constantFrom('cluster' as const, 'sentinel' as const, 'replication' as const, 'standalone' as const),
    expected: fc.record({ masters: fc.integer({ min: 0, max: 4 }), replicasPerMaster: fc.integer({ min: 0, max: 2 }), sentinels: fc.integer({ min: 0, max: 5 }) }, { requiredKeys: [] }),
  }, { requiredKeys: ['kind', 'name', 'namespace', 'system', 'topology'] }),
  observedAt: fc.constantFrom('2026-03-01T10:00:00Z', '', 'garbage'),
  pods: fc.array(fc.record({
    name: podName, ip: fc.constantFrom('', '10.0.0.1', '10.0.0.2'), nodeName: fc.constantFrom('', 'n1', 'n2'), ready: fc.boolean(),
    phase: fc.constantFrom('Running', 'Pending'), deleting: fc.boolean(), component: fc.constantFrom('redis' as const, 'sentinel' as const),
    shard: fc.option(fc.constantFrom('s0', 's1'), { nil: undefined }),
  }), { maxLength: 4 }),
  redis: fc.array(fc.record({
    pod: podName, address: fc.constantFrom('', '10.0.0.1:6379', 'nonsense'), reachable: fc.boolean(),
    clusterNodes: fc.array(entryArb, { maxLength: 4 }),
    replication: fc.record({
      role: fc.constantFrom('master' as const, 'replica' as const), masterHost: fc.constantFrom('10.0.0.1', 'p1', 'gone'), masterPort: fc.constantFrom(6379, 1),
      masterLinkStatus: fc.constantFrom('up' as const, 'down' as const), masterLastIoSecondsAgo: fc.nat({ max: 100 }), connectedReplicas: fc.constant([]),
      masterReplid: fc.constantFrom('r1', 'r2'), masterReplOffset: fc.nat(),
    }, { requiredKeys: ['role', 'connectedReplicas', 'masterReplid', 'masterReplOffset'] }),
    keysBySlot: fc.dictionary(fc.integer({ min: 0, max: 16383 }).map(String), fc.nat({ max: 5 })),
    dbsize: fc.nat({ max: 5 }),
  }, { requiredKeys: ['pod', 'address', 'reachable'] }), { maxLength: 4 }),
  sentinels: fc.array(fc.record({
    pod: podName, reachable: fc.boolean(), masterName: fc.constant('mymaster'),
    master: fc.record({ ip: fc.constantFrom('10.0.0.1', 'x'), port: fc.constant(6379), flags: fc.constant(['master']), numSlaves: fc.nat(), numOtherSentinels: fc.nat(), quorum: fc.nat({ max: 3 }) }),
    knownReplicas: fc.array(fc.constantFrom('10.0.0.1:6379', 'p2.svc:6379', 'junk'), { maxLength: 3 }),
    knownSentinels: fc.array(fc.constantFrom('10.0.0.2:26379', 'junk'), { maxLength: 2 }),
  }, { requiredKeys: ['pod', 'reachable', 'masterName', 'knownReplicas', 'knownSentinels'] }), { maxLength: 3 }),
  pause: fc.record({ paused: fc.boolean(), until: fc.constantFrom('2026-01-01T00:00:00Z', 'not a date'), strategy: fc.constant('annotation' as const) }, { requiredKeys: ['paused', 'strategy'] }),
  operator: fc.record({ present: fc.boolean(), running: fc.boolean() }),
  pdbs: fc.array(fc.record({ name: fc.constant('pdb'), pods: fc.array(podName, { maxLength: 3 }), maxUnavailable: fc.constantFrom(1, 2, '50%', 'x') }, { requiredKeys: ['name', 'pods'] }), { maxLength: 2 }),
}, { requiredKeys: [] });

test('property: diagnose never throws on partial, inconsistent observations', () => {
  fc.assert(
    fc.property(observedArb, (partial) => {
      const findings = diagnose(partial as unknown as Observed);
      for (const f of findings) assert.ok(FINDING_KINDS.includes(f.kind));
    }),
    { numRuns: 300 },
  );
});

test('toRanges folds slots into inclusive ranges', () => {
  assert.deepEqual(toRanges([5, 1, 2, 3, 9, 10, 3]), [[1, 3], [5, 5], [9, 10]]);
  assert.deepEqual(toRanges([]), []);
});

test('views-disagree names each node whose view is wrong, whatever order its CLUSTER NODES lists the others in', () => {
  // diagnose works a view's wrong slots out once per distinct set of claims: the order of entries must not matter,
  // and two nodes with the same wrong view are both named
  const m = clusterModel(3, 1);
  assert.ok(staleView(m, 'redis-3', 'redis-0', 'redis-1', 5));
  assert.ok(staleView(m, 'redis-4', 'redis-0', 'redis-1', 5));
  const o = observeCluster(m);
  o.redis.forEach((r, i) => {
    if (i % 2 === 1) r.clusterNodes = [...(r.clusterNodes ?? [])].reverse();
  });
  const disagree = diagnose(o).filter((f) => f.kind === 'views-disagree');
  assert.deepEqual(disagree.flatMap((f) => f.pods).sort(), ['redis-3', 'redis-4']);
  for (const f of disagree) assert.match(f.message, /for 5 slot\(s\)/);
});

test('node-forgotten at scale: every forgotten node named once, in a 120-node cluster', () => {
  const m = clusterModel(60, 1);
  forgetNode(m, 'redis-7');
  const forgotten = diagnose(observeCluster(m)).filter((f) => f.kind === 'node-forgotten');
  assert.equal(forgotten.length, 1);
  assert.ok(forgotten[0].pods.includes('redis-7'));
});
