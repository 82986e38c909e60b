// The rebalance planner (src/reconcile/rebalance.ts): redis-cli's spread by weight as tables, and properties over
// random clusters: the plan ends within the threshold (up to rounding), never moves a slot twice, moves only slots
// the source owns, never drains the last master, keeps every slot owned once; joins and the memory check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { balancePlan, chunkMoves, joinPlan, memoryCheck, overThreshold, parsePercent, type BalanceMaster } from '../../../src/reconcile/rebalance.js';

const FC_SEED = Number(process.env.FC_SEED ?? '20261203');

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

/** 16384 slots spread over n masters as redis-cli --cluster create does (contiguous, the first ones one more). */
function created(n: number, empty = 0): BalanceMaster[] {
  const out: BalanceMaster[] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    const size = Math.floor(16384 / n) + (i < 16384 % n ? 1 : 0);
    out.push({ pod: `cache-${i}`, id: `id${i}`.padEnd(40, '0'), slots: range(at, at + size - 1) });
    at += size;
  }
  for (let i = 0; i < empty; i++) out.push({ pod: `cache-${n + i}`, id: `new${i}`.padEnd(40, '0'), slots: [] });
  return out;
}

function after(masters: BalanceMaster[], moves: Array<{ slot: number; fromPod: string; toPod: string }>): Map<string, number> {
  const n = new Map(masters.map((m) => [m.pod, m.slots.length]));
  for (const m of moves) {
    n.set(m.fromPod, n.get(m.fromPod)! - 1);
    n.set(m.toPod, n.get(m.toPod)! + 1);
  }
  return n;
}

test('three masters and one joined: each of the four ends with 4096 slots, the new one takes from every other', () => {
  const ms = created(3, 1);
  ms[3].joined = true;
  const r = balancePlan({ masters: ms, threshold: 2 });
  assert.equal(r.outcome, 'moves');
  if (r.outcome !== 'moves') return;
  assert.equal(r.moves.length, 4096);
  assert.ok(r.moves.every((m) => m.toPod === 'cache-3'));
  assert.deepEqual([...after(ms, r.moves).values()], [4096, 4096, 4096, 4096]);
  // the lowest-numbered slots of each source first, as clusterManagerComputeReshardTable takes them
  assert.equal(r.moves.filter((m) => m.fromPod === 'cache-0')[0].slot, 0);
});

test('an empty master that was not joined stays out without --use-empty-masters, as in redis-cli', () => {
  const ms = created(3, 1);
  const r = balancePlan({ masters: ms, threshold: 2 });
  assert.equal(r.outcome, 'moves');
  if (r.outcome === 'moves') {
    assert.equal(r.needed, false);
    assert.equal(r.moves.length, 0);
  }
  const r2 = balancePlan({ masters: ms, threshold: 2, useEmptyMasters: true });
  assert.equal(r2.outcome === 'moves' && r2.moves.length, 4096);
});

const TABLE: Array<{ name: string; masters: BalanceMaster[]; weights?: Record<string, number>; drain?: string[]; threshold: number; moved: number; afterCounts?: number[] }> = [
  { name: 'balanced 3 masters: nothing', masters: created(3), threshold: 2, moved: 0 },
  { name: 'weight 2 on one of 3: it gets half', masters: created(3), weights: { 'cache-0': 2 }, threshold: 2, moved: 2730, afterCounts: [8192, 4096, 4096] },
  { name: 'drain one of 4', masters: created(4), drain: ['cache-3'], threshold: 2, moved: 4096, afterCounts: [5462, 5461, 5461, 0] },
  { name: 'within a 30% threshold: nothing', masters: created(3), weights: { 'cache-0': 1.2 }, threshold: 30, moved: 0 },
  { name: 'threshold 0 turns the check off, as redis-cli', masters: created(3), weights: { 'cache-0': 5 }, threshold: 0, moved: 0 },
];

for (const c of TABLE) {
  test(`spread: ${c.name}`, () => {
    const r = balancePlan({ masters: c.masters, weights: c.weights, drain: c.drain, threshold: c.threshold });
    assert.equal(r.outcome, 'moves', JSON.stringify(r));
    if (r.outcome !== 'moves') return;
    assert.equal(r.moves.length, c.moved);
    if (c.afterCounts) assert.deepEqual([...after(c.masters, r.moves).values()], c.afterCounts);
  });
}

test('refusals: a weight on a pod that is no master, a negative weight, draining the last master, a drain with a weight', () => {
  const cases: Array<[Parameters<typeof balancePlan>[0], 'usage' | 'refused', RegExp]> = [
    [{ masters: created(3), weights: { 'cache-9': 2 }, threshold: 2 }, 'usage', /--weight names pod "cache-9", which is not a master/],
    [{ masters: created(3), weights: { 'cache-1': -1 }, threshold: 2 }, 'usage', /0 or more/],
    [{ masters: created(1), drain: ['cache-0'], threshold: 2 }, 'refused', /would leave no master/],
    [{ masters: created(2), drain: ['cache-0', 'cache-1'], threshold: 2 }, 'refused', /would leave no master/],
    [{ masters: created(2), drain: ['cache-0'], weights: { 'cache-0': 3 }, threshold: 2 }, 'usage', /contradict/],
    [{ masters: created(2), drain: ['cache-7'], threshold: 2 }, 'usage', /--drain names pod "cache-7"/],
  ];
  for (const [input, reason, re] of cases) {
    const r = balancePlan(input);
    assert.equal(r.outcome, 'refused', JSON.stringify(input.weights ?? input.drain));
    if (r.outcome === 'refused') {
      assert.equal(r.reason, reason);
      assert.match(r.message, re);
    }
  }
});

/** Random clusters: 1..8 masters, slots dealt out at random (some masters empty), random weights, drains, thresholds. */
const clusterArb = fc.record({
  n: fc.integer({ min: 1, max: 8 }),
  seed: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 64, maxLength: 64 }),
  weights: fc.array(fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), { minLength: 8, maxLength: 8 }),
  drain: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  useEmpty: fc.boolean(),
  threshold: fc.constantFrom(0.5, 1, 2, 5, 10),
}).map(({ n, seed, weights, drain, useEmpty, threshold }) => {
  // 64 blocks of 256 slots each go to a master chosen by seed (mod n)
  const masters: BalanceMaster[] = Array.from({ length: n }, (_, i) => ({ pod: `p-${i}`, id: `id${i}`.padEnd(40, '0'), slots: [] }));
  seed.forEach((s, b) => masters[s % n].slots.push(...range(b * 256, b * 256 + 255)));
  const w: Record<string, number> = {};
  weights.slice(0, n).forEach((x, i) => x !== undefined && (w[`p-${i}`] = x));
  const d = masters.filter((_, i) => drain[i] && i % 3 === 0).map((m) => m.pod);
  for (const p of d) delete w[p];
  return { masters, weights: w, drain: d, useEmpty, threshold };
});

test('property: a plan moves every slot at most once, only from its owner, keeps all 16384 owned, and ends within the threshold up to rounding', () => {
  let planned = 0;
  fc.assert(fc.property(clusterArb, (c) => {
    const r = balancePlan({ masters: c.masters, weights: c.weights, drain: c.drain, useEmptyMasters: c.useEmpty, threshold: c.threshold });
    if (r.outcome === 'refused') {
      // only when nothing may hold the slots
      const involved = c.masters.filter((m) => m.slots.length > 0 || c.useEmpty);
      const tw = involved.reduce((n, m) => n + (c.drain.includes(m.pod) ? 0 : c.weights[m.pod] ?? 1), 0);
      assert.equal(tw, 0, r.message);
      return;
    }
    planned++;
    const owner = new Map<number, string>();
    for (const m of c.masters) for (const s of m.slots) owner.set(s, m.pod);
    const seen = new Set<number>();
    for (const mv of r.moves) {
      assert.ok(!seen.has(mv.slot), `slot ${mv.slot} moved twice`);
      seen.add(mv.slot);
      assert.equal(owner.get(mv.slot), mv.fromPod, `slot ${mv.slot} moved from ${mv.fromPod}, which does not own it`);
      assert.notEqual(mv.fromPod, mv.toPod);
      owner.set(mv.slot, mv.toPod);
    }
    assert.equal(owner.size, 16384);
    const counts = after(c.masters, r.moves);
    // drained masters end empty; the last master is never drained (some master with weight > 0 holds slots)
    for (const p of c.drain) if (r.shares.some((s) => s.pod === p)) assert.equal(counts.get(p), 0, `${p} drained`);
    assert.ok([...counts.entries()].some(([p, n]) => n > 0 && !c.drain.includes(p)));
    if (r.needed) {
      for (const s of r.shares) {
        const n = counts.get(s.pod)!;
        // rounding leaves at most one slot per master beyond the expected share (the sum of the truncations)
        assert.ok(Math.abs(n - s.expected) <= r.shares.length, `${s.pod}: ${n} slots, expected ${s.expected}`);
        if (s.expected >= (100 * r.shares.length) / c.threshold + r.shares.length) assert.ok(!overThreshold(n, s.expected, c.threshold), `${s.pod} still over ${c.threshold}%: ${n} vs ${s.expected}`);
      }
    }
  }), { seed: FC_SEED, numRuns: 300 });
  assert.ok(planned > 200, `only ${planned} of 300 random clusters were planned`);
});

test('property: re-planning the result of a plan moves nothing (the plan is a fixed point)', () => {
  fc.assert(fc.property(clusterArb, (c) => {
    const r = balancePlan({ masters: c.masters, weights: c.weights, drain: c.drain, useEmptyMasters: c.useEmpty, threshold: c.threshold });
    if (r.outcome !== 'moves' || !r.needed) return;
    const owned = new Map(c.masters.map((m) => [m.pod, new Set(m.slots)]));
    for (const mv of r.moves) {
      owned.get(mv.fromPod)!.delete(mv.slot);
      owned.get(mv.toPod)!.add(mv.slot);
    }
    const next = c.masters.map((m) => ({ ...m, slots: [...owned.get(m.pod)!].sort((a, b) => a - b), joined: true }));
    const again = balancePlan({ masters: next.filter((m) => r.shares.some((s) => s.pod === m.pod)), weights: c.weights, drain: c.drain, useEmptyMasters: true, threshold: Math.max(c.threshold, 2) });
    if (again.outcome === 'moves' && r.shares.every((s) => s.expected > 200)) assert.equal(again.moves.length, 0, `moved ${again.moves.length} again`);
  }), { seed: FC_SEED, numRuns: 200 });
});

test('joins: after scaling 6 -> 8 with one replica per master the first new pod is a master, the second its replica', () => {
  const masters = [0, 1, 2].map((i) => ({ pod: `cache-${i}`, id: `id${i}`, node: `n${i + 1}`, replicaNodes: [`n${((i + 1) % 3) + 1}`] }));
  assert.deepEqual(joinPlan([{ pod: 'cache-7', node: 'n2' }, { pod: 'cache-6', node: 'n1' }], masters, 1), [{ pod: 'cache-6', as: 'master' }, { pod: 'cache-7', as: 'replica', of: 'cache-6' }]);
  // a master short of replicas gets the new pod first, one on another node preferred
  const short = [{ pod: 'a', id: 'a', node: 'n1', replicaNodes: [] }, { pod: 'b', id: 'b', node: 'n2', replicaNodes: [] }];
  assert.deepEqual(joinPlan([{ pod: 'c', node: 'n1' }], short, 1), [{ pod: 'c', as: 'replica', of: 'b' }]);
  assert.deepEqual(joinPlan([{ pod: 'c', node: 'n1' }, { pod: 'd', node: 'n1' }], short, 0), [{ pod: 'c', as: 'master' }, { pod: 'd', as: 'master' }]);
});

test('memory: a receiver whose used memory plus the slots it takes passes maxmemory x percent is refused, naming it and the numbers', () => {
  const moves = range(0, 99).map((slot) => ({ slot, fromPod: 'cache-0', fromId: 'a', toPod: 'cache-6', toId: 'b' }));
  const facts = [{ pod: 'cache-6', usedMemory: 2 * 1048576, maxMemory: 4 * 1048576 }];
  const r = memoryCheck(moves, facts, () => 20_000, 90);
  assert.ok(r);
  assert.equal(r.pod, 'cache-6');
  assert.equal(r.incoming, 2_000_000);
  assert.match(r.message, /master cache-6 would hold 3\.9 MiB .*2\.0 MiB used now \+ 1\.9 MiB of slots.*over 90% of its maxmemory 4\.0 MiB/);
  assert.equal(memoryCheck(moves, facts, () => 10_000, 90), undefined);
  // no maxmemory: nothing to check against
  assert.equal(memoryCheck(moves, [{ pod: 'cache-6', usedMemory: 1e9, maxMemory: 0 }], () => 1e9, 90), undefined);
});

test('chunks: consecutive moves between the same two masters, at most size slots each', () => {
  const moves = [
    ...range(0, 4).map((slot) => ({ slot, fromPod: 'a', fromId: 'A', toPod: 'c', toId: 'C' })),
    ...range(10, 11).map((slot) => ({ slot, fromPod: 'b', fromId: 'B', toPod: 'c', toId: 'C' })),
  ];
  assert.deepEqual(chunkMoves(moves, 2).map((c) => `${c.fromPod}>${c.toPod}:${c.slots.join(',')}`), ['a>c:0,1', 'a>c:2,3', 'a>c:4', 'b>c:10,11']);
});

test('percentages: "2%", "2", "0.5%" parse; "two", "-1%", "150%" do not', () => {
  assert.deepEqual(['2%', '2', '0.5%', ' 10 % '].map(parsePercent), [2, 2, 0.5, 10]);
  assert.deepEqual(['two', '-1%', '150%', '', '2%%'].map(parsePercent), [undefined, undefined, undefined, undefined, undefined]);
});

test("the move's conditions: slotsOwnedBy, slotsStable, memoryRoom, clusterOk on a modelled cluster", async () => {
  const { holds, describeCondition } = await import('../../../src/reconcile/conditions.js');
  const { clusterModel, nodeId, observeCluster, openSlot } = await import('./builders.js');
  const m = clusterModel(3, 1);
  openSlot(m, 100, 'both', [3, 1]);
  const o = observeCluster(m);
  const [a, b] = [nodeId(1), nodeId(2)];
  const table: Array<[Parameters<typeof holds>[1], boolean]> = [
    [{ type: 'slotsOwnedBy', observerPod: 'redis-1', ranges: [[0, 5460]], nodeIds: [a] }, true],
    [{ type: 'slotsOwnedBy', observerPod: 'redis-1', ranges: [[0, 5461]], nodeIds: [a] }, false],
    [{ type: 'slotsOwnedBy', observerPod: 'redis-1', ranges: [[5000, 6000]], nodeIds: [a, b] }, true],
    [{ type: 'slotsStable', pod: 'redis-0', ranges: [[90, 110]] }, false],
    [{ type: 'slotsStable', pod: 'redis-1', ranges: [[90, 110]] }, false],
    [{ type: 'slotsStable', pod: 'redis-0', ranges: [[0, 99], [101, 200]] }, true],
    [{ type: 'clusterOk', pod: 'redis-2' }, true],
    [{ type: 'memoryRoom', pod: 'redis-1', bytes: 1e12, percent: 90 }, true], // no maxmemory: nothing to check against
  ];
  for (const [c, want] of table) assert.equal(holds(o, c), want, describeCondition(c));
  const tight = structuredClone(o);
  const r1 = tight.redis.find((r) => r.pod === 'redis-1')!;
  Object.assign(r1, { usedMemory: 800, maxMemory: 1000 });
  assert.equal(holds(tight, { type: 'memoryRoom', pod: 'redis-1', bytes: 100, percent: 90 }), true);
  assert.equal(holds(tight, { type: 'memoryRoom', pod: 'redis-1', bytes: 101, percent: 90 }), false);
  r1.clusterInfo = { ...r1.clusterInfo!, state: 'fail' };
  assert.equal(holds(tight, { type: 'clusterOk', pod: 'redis-1' }), false);
});
