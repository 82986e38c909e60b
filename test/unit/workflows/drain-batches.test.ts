// --max-unavailable auto (src/workflows/drain-reboot/batches.ts): a table of topologies and fast-check properties:
// every node in exactly one batch, no batch of two or more nodes takes more of a group than it allows, no groups ->
// one batch, and a lone node over its group's limit is warned about.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { autoBatches, brokenGroup, type DisruptionGroup } from '../../../src/workflows/drain-reboot/batches.js';

const shard = (what: string, ...placement: string[]): DisruptionGroup => ({ what, maxDown: 1, members: placement.map((node, i) => ({ pod: `${what}-${i}`, node })) });

test('two clusters of three shards over six nodes: shards never lose two copies, fewer batches than nodes', () => {
  const nodes = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
  const groups = [
    shard('a0', 'n1', 'n2'), shard('a1', 'n3', 'n4'), shard('a2', 'n5', 'n6'),
    shard('b0', 'n2', 'n3'), shard('b1', 'n4', 'n5'), shard('b2', 'n6', 'n1'),
    { what: 'sentinels', maxDown: 1, members: [{ pod: 's0', node: 'n1' }, { pod: 's1', node: 'n3' }, { pod: 's2', node: 'n5' }] },
  ];
  const plan = autoBatches(nodes, groups);
  assert.deepEqual(plan.batches.flat().sort(), nodes);
  for (const b of plan.batches) assert.equal(brokenGroup(new Set(b), groups), undefined, b.join(','));
  assert.ok(plan.batches.length < nodes.length, JSON.stringify(plan.batches));
  assert.ok(plan.reasons.some((r) => /would have 2 down/.test(r)), plan.reasons.join('\n'));
  assert.deepEqual(plan.warnings, []);
});

test('no constraints: one batch; a node holding two copies of a shard is warned about, batched only with nodes holding none', () => {
  assert.deepEqual(autoBatches(['a', 'b', 'c'], []).batches, [['a', 'b', 'c']]);
  const plan = autoBatches(['a', 'b', 'c'], [shard('s', 'a', 'a', 'b'), shard('t', 'b', 'c')]);
  assert.deepEqual(plan.batches, [['a', 'c'], ['b']]);
  assert.match(plan.warnings.join('\n'), /^a alone holds 2 of s \(1 may be down\)/);
});

const arb = fc
  .record({ nodeCount: fc.integer({ min: 1, max: 8 }), groups: fc.array(fc.record({ placement: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 5 }), maxDown: fc.integer({ min: 0, max: 2 }) }), { maxLength: 8 }) })
  .map(({ nodeCount, groups }) => {
    const nodes = Array.from({ length: nodeCount }, (_, i) => `n${i}`);
    return { nodes, groups: groups.map((g, gi): DisruptionGroup => ({ what: `g${gi}`, maxDown: g.maxDown, members: g.placement.map((p, i) => ({ pod: `g${gi}-${i}`, node: nodes[p % nodeCount] })) })) };
  });

test('property: a partition of the nodes whose multi-node batches break no group', () => {
  fc.assert(
    fc.property(arb, ({ nodes, groups }) => {
      const { batches } = autoBatches(nodes, groups);
      assert.deepEqual(batches.flat().sort(), [...nodes].sort());
      for (const b of batches) if (b.length > 1) assert.equal(brokenGroup(new Set(b), groups), undefined);
    }),
  );
});

test('property: maximal: no node of a later batch could have joined an earlier one', () => {
  fc.assert(
    fc.property(arb, ({ nodes, groups }) => {
      const { batches } = autoBatches(nodes, groups);
      // first fit in its own order: each node could not join any batch before its own (as it was when it came)
      const all = batches.map((b) => new Set(b));
      for (const [i, b] of all.entries()) for (const n of b) for (let j = 0; j < i; j++) assert.notEqual(brokenGroup(new Set([...all[j], n]), groups), undefined, `${n} fits batch ${j + 1}`);
    }),
  );
});
