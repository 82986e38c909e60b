// The pure decisions of drain-reboot: nodes and batches, how each master leaves the node (CLUSTER FAILOVER, the
// steered SENTINEL FAILOVER, a replica relocated first, or stuck), and when Redis counts as healthy again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { KubeObject } from '../../../src/kube/types.js';
import { diagnose } from '../../../src/reconcile/diagnose.js';
import type { Finding, Observed, PodFact, RedisNodeFact, SentinelFact } from '../../../src/reconcile/types.js';
import type { ClusterNodeEntry, ReplicationInfo } from '../../../src/redis/types.js';
import {
  batches, blockingFindings, caughtUp, describeMove, hasPodsOn, healthProblems, masterMoves, NODE_STEPS, resolveNodes, stepKey, stepTitle, stuckFindings, whyNodeNotStartable,
} from '../../../src/workflows/drain-reboot/plan.js';

const k8sNode = (name: string, labels: Record<string, string> = {}, ready = true): KubeObject => ({
  metadata: { name, labels },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

test('nodes: named ones in the order given (deduplicated), or by selector sorted by name; bad requests say why', () => {
  const all = [k8sNode('n3', { pool: 'a' }), k8sNode('n1', { pool: 'a' }), k8sNode('n2', { pool: 'b' })];
  assert.deepEqual(resolveNodes(all, ['n2', 'n1', 'n2'], undefined), { nodes: ['n2', 'n1'] });
  assert.deepEqual(resolveNodes(all, [], 'pool=a'), { nodes: ['n1', 'n3'] });
  assert.match(resolveNodes(all, ['n1'], 'pool=a').error ?? '', /not both/);
  assert.match(resolveNodes(all, [], undefined).error ?? '', /at least one node/);
  assert.match(resolveNodes(all, ['n1', 'n9'], undefined).error ?? '', /node "n9" not found/);
  assert.match(resolveNodes(all, [], 'pool=z').error ?? '', /no node matches/);
});

test('batches keep order and never exceed --max-unavailable', () => {
  fc.assert(
    fc.property(fc.array(fc.string(), { maxLength: 20 }), fc.integer({ min: 1, max: 6 }), (items, size) => {
      const b = batches(items, size);
      assert.deepEqual(b.flat(), items);
      assert.ok(b.every((x) => x.length >= 1 && x.length <= size));
    }),
  );
});

test('a node that is not Ready (or gone) is not started on', () => {
  assert.equal(whyNodeNotStartable(k8sNode('n1'), 'n1'), undefined);
  assert.match(whyNodeNotStartable(k8sNode('n1', {}, false), 'n1') ?? '', /not Ready/);
  assert.match(whyNodeNotStartable(undefined, 'n1') ?? '', /does not exist/);
});

test('every step has a title for each reboot method and a journal key per node', () => {
  for (const method of ['pod', 'command', 'none'] as const) {
    for (const step of NODE_STEPS) assert.ok(stepTitle('n1', step, { rebootMethod: method, delayMs: 30_000 }, (ms) => `${ms / 1000}s`).includes('n1'));
  }
  assert.match(stepTitle('n1', 'delay', { rebootMethod: 'pod', delayMs: 30_000 }, (ms) => `${ms / 1000}s`), /wait 30s, then check n1 is still cordoned by us/);
  assert.equal(stepKey('n1', 'reboot'), 'n1:reboot');
});

// ---------------------------------------------------------------- fixtures

interface ClusterPod {
  pod: string;
  node: string;
  id: string;
  master?: string;
  slots?: Array<[number, number]>;
  offset?: number;
  link?: 'up' | 'down';
  syncing?: boolean;
  ready?: boolean;
}

function entry(p: ClusterPod, myself: boolean): ClusterNodeEntry {
  return {
    id: p.id, ip: `10.0.0.${p.pod.length}`, port: 6379, busPort: 16379, flags: [myself ? 'myself' : '', p.master ? 'slave' : 'master'].filter(Boolean), myself,
    role: p.master ? 'replica' : 'master', masterId: p.master ?? null, pingSent: 0, pongRecv: 0, configEpoch: 1, linkState: 'connected',
    slots: p.slots ?? [], migrating: [], importing: [], failed: false, pfail: false, handshake: false, noaddr: false,
  };
}

function replication(p: { master?: string; offset?: number; link?: 'up' | 'down'; syncing?: boolean; masterHost?: string; priority?: number }): ReplicationInfo {
  return p.master || p.masterHost
    ? { role: 'replica', masterHost: p.masterHost, masterPort: 6379, masterLinkStatus: p.link ?? 'up', masterSyncInProgress: p.syncing ?? false, slaveReplOffset: p.offset ?? 100, replicaPriority: p.priority, connectedReplicas: [], masterReplid: 'r', masterReplOffset: p.offset ?? 100 }
    : { role: 'master', connectedReplicas: [], masterReplid: 'r', masterReplOffset: p.offset ?? 100 };
}

function podFact(name: string, node: string, ip: string, ready = true, component: 'redis' | 'sentinel' = 'redis'): PodFact {
  return { name, ip, nodeName: node, ready, phase: 'Running', deleting: false, component };
}

function clusterObserved(pods: ClusterPod[], expected?: { masters: number; replicasPerMaster: number }): Observed {
  const redis: RedisNodeFact[] = pods.map((p) => ({
    pod: p.pod, address: `10.0.0.${p.pod.length}:6379`, reachable: true,
    clusterNodes: pods.map((q) => entry(q, q.pod === p.pod)), replication: replication(p),
  }));
  return {
    target: { kind: 'RedisCluster', name: 'orders', namespace: 'redis', system: 'ot', topology: 'cluster', expected },
    observedAt: '2026-01-01T00:00:00Z', pods: pods.map((p) => podFact(p.pod, p.node, `10.1.0.${pods.indexOf(p)}`, p.ready ?? true)), redis, sentinels: [],
    pause: { paused: false, strategy: 'annotation' }, operator: { present: true, running: true }, pdbs: [],
  };
}

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const D = 'd'.repeat(40);

test('cluster: a master on the node fails over to its best in-sync replica on another node', () => {
  const o = clusterObserved([
    { pod: 'm0', node: 'n1', id: A, slots: [[0, 8191]] },
    { pod: 'r0a', node: 'n2', id: B, master: A, offset: 90 },
    { pod: 'r0b', node: 'n3', id: C, master: A, offset: 100 },
    { pod: 'm1', node: 'n2', id: D, slots: [[8192, 16383]] },
  ]);
  assert.deepEqual(masterMoves(o, 'n1'), [{ kind: 'cluster-failover', master: 'm0', replica: 'r0b', replicaNode: 'n3' }]);
  assert.deepEqual(masterMoves(o, 'n3'), [], 'no master on n3');
  assert.equal(hasPodsOn(o, 'n3'), true);
  assert.equal(hasPodsOn(o, 'n9'), false);
});

test('cluster: replicas that are not in sync, not Ready or on the node itself are never the failover target', () => {
  const o = clusterObserved([
    { pod: 'm0', node: 'n1', id: A, slots: [[0, 16383]] },
    { pod: 'r0a', node: 'n2', id: B, master: A, link: 'down' },
    { pod: 'r0b', node: 'n3', id: C, master: A, syncing: true },
    { pod: 'r0c', node: 'n3', id: D, master: A, ready: false },
  ]);
  const [m] = masterMoves(o, 'n1');
  assert.equal(m.kind, 'stuck');
  assert.match(describeMove(m, 'rediscluster/orders'), /cannot be moved \(its replicas \(r0a, r0b, r0c\) are not in sync\)/);
});

test('cluster: when every replica shares the master\'s node, one is relocated first; without replicas it is stuck', () => {
  const o = clusterObserved([
    { pod: 'm0', node: 'n1', id: A, slots: [[0, 16383]] },
    { pod: 'r0', node: 'n1', id: B, master: A },
    { pod: 'm1', node: 'n2', id: C },
  ]);
  assert.deepEqual(masterMoves(o, 'n1'), [{ kind: 'relocate-replica', master: 'm0', replica: 'r0' }]);
  assert.deepEqual(masterMoves(o, 'n2'), [], 'a master without slots does not need moving');
  const lonely = clusterObserved([{ pod: 'm0', node: 'n1', id: A, slots: [[0, 16383]] }]);
  assert.deepEqual(masterMoves(lonely, 'n1'), [{ kind: 'stuck', master: 'm0', reason: 'it has no replica' }]);
});

test('with --max-unavailable > 1 the other nodes of the batch are never failover targets; a replica there is relocated', () => {
  const o = clusterObserved([
    { pod: 'm0', node: 'n1', id: A, slots: [[0, 16383]] },
    { pod: 'r0a', node: 'n2', id: B, master: A, offset: 200 },
    { pod: 'r0b', node: 'n3', id: C, master: A, offset: 100 },
  ]);
  assert.deepEqual(masterMoves(o, 'n1', ['n2']), [{ kind: 'cluster-failover', master: 'm0', replica: 'r0b', replicaNode: 'n3' }]);
  assert.deepEqual(masterMoves(o, 'n1', ['n2', 'n3']), [{ kind: 'relocate-replica', master: 'm0', replica: 'r0a' }]);
});

function sentinelObserved(opts: { sentinels?: boolean; replicaNodes: string[]; priorities?: number[]; byHostname?: boolean }): Observed {
  const masterIp = '10.2.0.1';
  // Bitnami: replicas and sentinels name the master by its DNS name under the headless Service
  const masterHost = opts.byHostname ? 'rfr-0.rfr-headless.redis.svc.cluster.local' : masterIp;
  const pods: PodFact[] = [podFact('rfr-0', 'n1', masterIp), ...opts.replicaNodes.map((n, i) => podFact(`rfr-${i + 1}`, n, `10.2.0.${i + 2}`))];
  const redis: RedisNodeFact[] = pods.map((p, i) => ({
    pod: p.name, address: `${p.ip}:6379`, reachable: true,
    replication: i === 0 ? replication({ offset: 500 }) : replication({ masterHost, offset: 400 + i, priority: opts.priorities?.[i - 1] }),
  }));
  const sentinels: SentinelFact[] = opts.sentinels === false ? [] : ['n1', 'n2', 'n3'].map((n, i) => {
    pods.push(podFact(`rfs-${i}`, n, `10.3.0.${i}`, true, 'sentinel'));
    return { pod: `rfs-${i}`, reachable: true, masterName: 'mymaster', master: { ip: masterHost, port: 6379, flags: ['master'], numSlaves: 2, numOtherSentinels: 2, quorum: 2 }, knownReplicas: [], knownSentinels: [] };
  });
  return {
    target: { kind: 'RedisFailover', name: 'sessions', namespace: 'redis', system: 'spotahome', topology: 'sentinel' },
    observedAt: '2026-01-01T00:00:00Z', pods, redis, sentinels, pause: { paused: false, strategy: 'none' }, operator: { present: true, running: true }, pdbs: [],
  };
}

test('sentinel: replicas that name the master by DNS name are its replicas as those naming its IP (same moves)', () => {
  for (const replicaNodes of [['n1', 'n2', 'n3'], ['n2', 'n3'], ['n1']]) {
    assert.deepEqual(masterMoves(sentinelObserved({ replicaNodes, byHostname: true }), 'n1'), masterMoves(sentinelObserved({ replicaNodes }), 'n1'), replicaNodes.join(','));
  }
  assert.equal(masterMoves(sentinelObserved({ replicaNodes: ['n2'], byHostname: true }), 'n1')[0]?.kind, 'sentinel-failover');
});

test('sentinel: SENTINEL FAILOVER to a replica elsewhere; replicas on the node are demoted (priority 0) first', () => {
  const o = sentinelObserved({ replicaNodes: ['n1', 'n2', 'n3'] });
  const [m] = masterMoves(o, 'n1');
  assert.equal(m.kind, 'sentinel-failover');
  assert.ok(m.kind === 'sentinel-failover');
  assert.equal(m.replica, 'rfr-3', 'the highest offset');
  assert.deepEqual(m.demote, ['rfr-1']);
  assert.deepEqual(m.others, ['rfr-3', 'rfr-2']);
  assert.deepEqual(m.sentinels, ['rfs-0', 'rfs-1', 'rfs-2']);
  assert.equal(m.masterName, 'mymaster');
  assert.deepEqual(masterMoves(o, 'n2'), [], 'the master is not on n2');
});

test('sentinel: a replica with replica-priority 0 is never chosen; no sentinel means stuck; same-node replicas are relocated', () => {
  const zero = masterMoves(sentinelObserved({ replicaNodes: ['n2', 'n3'], priorities: [0, 100] }), 'n1')[0];
  assert.ok(zero.kind === 'sentinel-failover' && zero.replica === 'rfr-2');
  assert.equal(masterMoves(sentinelObserved({ sentinels: false, replicaNodes: ['n2'] }), 'n1')[0].kind, 'stuck');
  assert.deepEqual(masterMoves(sentinelObserved({ replicaNodes: ['n1'] }), 'n1'), [{ kind: 'relocate-replica', master: 'rfr-0', replica: 'rfr-1' }]);
});

const finding = (kind: Finding['kind'], severity: Finding['severity'], message: string = kind): Finding => ({ kind, severity, pods: [], nodes: [], nodeIds: [], objects: [], message, evidence: [] });

test('blocking findings: every critical one, and the listed kinds unless informational', () => {
  const fs = [
    finding('slots-uncovered', 'critical'),
    finding('replica-link-down', 'warning'),
    finding('replica-link-down', 'info'),
    finding('master-replica-same-node', 'warning'),
    finding('reconcile-paused', 'info'),
    finding('node-failed', 'warning'),
  ];
  assert.deepEqual(blockingFindings(fs).map((f) => `${f.kind}/${f.severity}`), ['slots-uncovered/critical', 'replica-link-down/warning', 'node-failed/warning']);
});

test('healthy = every pod there and Ready, every replica linked and done syncing, no blocking finding', () => {
  const healthy = clusterObserved([
    { pod: 'm0', node: 'n1', id: A, slots: [[0, 16383]] },
    { pod: 'r0', node: 'n2', id: B, master: A },
  ], { masters: 1, replicasPerMaster: 1 });
  assert.deepEqual(healthProblems(healthy, [finding('master-replica-same-node', 'warning')]), []);
  const syncing = clusterObserved([
    { pod: 'm0', node: 'n1', id: A, slots: [[0, 16383]] },
    { pod: 'r0', node: 'n2', id: B, master: A, syncing: true, ready: false },
  ], { masters: 1, replicasPerMaster: 2 });
  assert.deepEqual(healthProblems(syncing, [finding('pod-not-ready', 'warning'), finding('slots-uncovered', 'critical', 'slots 0-10 have no owner')]), [
    '2 of 3 Redis pods exist',
    'pods not Ready: r0',
    'replica r0 is still syncing',
    'slots 0-10 have no owner',
  ]);
});

test('the sentinel way waits until every other replica has the master\'s offset', () => {
  assert.equal(caughtUp(100, [100, 120]), true);
  assert.equal(caughtUp(100, [100, 99]), false);
  assert.equal(caughtUp(100, [undefined]), false);
  assert.equal(caughtUp(100, []), false);
});

test('waits that cannot succeed: a second master ends the wait at once where nothing decides it, after the grace where Sentinel or an operator can', () => {
  const split = (o: Observed): Observed => {
    const x = structuredClone(o);
    const r = x.redis.find((n) => n.replication?.role === 'replica');
    if (r) r.replication = { ...r.replication!, role: 'master' };
    return x;
  };
  const withSentinels = split(sentinelObserved({ replicaNodes: ['n2', 'n3'] }));
  const alone = split(sentinelObserved({ replicaNodes: ['n2', 'n3'], sentinels: false }));
  alone.operator = { present: false, running: false };
  const operatorStopped = structuredClone(withSentinels);
  for (const s of operatorStopped.sentinels) s.reachable = false;
  operatorStopped.operator = { present: true, running: false };
  const cases: Array<[string, Observed, number, boolean]> = [
    ['no sentinel, no operator, just seen', alone, 0, true],
    ['sentinels answer, just seen', withSentinels, 0, false],
    ['sentinels answer, seen for the grace', withSentinels, 30_000, true],
    ['sentinels down and the operator stopped, just seen', operatorStopped, 0, true],
  ];
  for (const [name, o, seen, stuck] of cases) {
    const f = diagnose(o);
    assert.ok(f.some((x) => x.kind === 'multiple-masters'), `${name}: the split is there`);
    const got = stuckFindings(o, f, () => seen, 30_000);
    assert.deepEqual(got.map((x) => x.kind), stuck ? ['multiple-masters'] : [], name);
    if (stuck) assert.match(got[0].fix ?? '', /kubectl redis heal /, `${name}: names the heal command`);
  }
  const healthy = sentinelObserved({ replicaNodes: ['n2', 'n3'] });
  assert.deepEqual(stuckFindings(healthy, diagnose(healthy), () => 60_000, 30_000), [], 'nothing stuck when healthy');
});
