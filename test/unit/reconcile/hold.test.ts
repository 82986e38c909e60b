import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideHold, holdMarker, parseHoldMarker, type HoldRequest } from '../../../src/reconcile/hold.js';
import { planPause, planResume } from '../../../src/reconcile/pause.js';
import type { AuditKeys, PauseMechanism } from '../../../src/targets/pause.js';

const audit: AuditKeys = { by: 'k/by', at: 'k/at', reason: 'k/reason', until: 'k/until', operatorReplicas: 'k/op' };
const ot: PauseMechanism = { type: 'annotation', key: 'rediscluster.opstreelabs.in/skip-reconcile', value: 'true', presenceOnly: false };
const noKey: PauseMechanism = { type: 'none', why: 'spotahome redis-operator has no pause annotation', fallback: 'scale-operator' };
const chart: PauseMechanism = { type: 'none', why: 'a Helm chart has no operator', fallback: 'nothing-to-pause' };
const marker = holdMarker('restart', 'r-1a2b3c4d');
const base: HoldRequest = { annotations: {}, mechanism: ot, audit, operator: { present: true, running: true }, marker, adopt: (by) => by === marker, noPause: false };
const pausedBy = (by: string) => ({ [ot.type === 'annotation' ? ot.key : '']: 'true', 'k/by': by, 'k/reason': 'theirs' });

test('the marker names the command and the operation, and reads back', () => {
  assert.equal(marker, 'kubectl-redis restart op=r-1a2b3c4d');
  assert.deepEqual(parseHoldMarker(marker), { command: 'restart', opId: 'r-1a2b3c4d' });
  assert.equal(parseHoldMarker('ann@laptop'), undefined);
});

test('decisions: pause a running operator; adopt our own pause; leave anyone else\'s, a stopped operator, a chart, --no-pause', () => {
  const table: Array<[string, Partial<HoldRequest>, string, boolean?]> = [
    ['running, not paused', {}, 'pause'],
    ['our own pause from the interrupted run', { annotations: pausedBy(marker) }, 'adopt'],
    ['someone else paused it', { annotations: pausedBy('ann@laptop') }, 'leave', false],
    ['paused by hand with the key only', { annotations: { [ot.type === 'annotation' ? ot.key : '']: 'true' } }, 'leave', false],
    ['operator not running', { operator: { present: true, running: false } }, 'leave', false],
    ['no operator (chart)', { mechanism: chart, operator: { present: false, running: false } }, 'leave', false],
    ['operator without a per-resource pause', { mechanism: noKey }, 'leave', true],
    ['--no-pause on a running operator', { noPause: true }, 'leave', true],
    ['--no-pause but our pause is there: still resumed', { noPause: true, annotations: pausedBy(marker) }, 'adopt'],
    ['another heal run left its pause (heal has no journal)', { marker: holdMarker('heal', 'b'), adopt: (by) => parseHoldMarker(by)?.command === 'heal', annotations: pausedBy(holdMarker('heal', 'a')) }, 'adopt'],
    ['a restart\'s pause is not a heal\'s to take', { marker: holdMarker('heal', 'b'), adopt: (by) => parseHoldMarker(by)?.command === 'heal', annotations: pausedBy(marker) }, 'leave', false],
  ];
  for (const [name, over, action, warn] of table) {
    const d = decideHold({ ...base, ...over });
    assert.equal(d.action, action, name);
    if (d.action === 'leave' && warn !== undefined) assert.equal(d.warn, warn, name);
  }
});

test('property: a pause the hold makes is one its own release undoes to the annotations it started from', () => {
  fc.assert(fc.property(fc.dictionary(fc.constantFrom('a/x', 'b/y', 'app'), fc.string({ maxLength: 5 })), fc.integer({ min: 1, max: 600 }), (start, minutes) => {
    const d = decideHold({ ...base, annotations: start });
    assert.equal(d.action, 'pause');
    const now = new Date('2026-12-03T14:00:00Z');
    const p = planPause({ object: 'rediscluster/orders', annotations: start, mechanism: ot, audit, user: marker, reason: 'restart', now, forMs: minutes * 60_000, force: false, operatorScaleDown: false });
    const paused: Record<string, string> = { ...start };
    for (const c of p.changes) if (c.new === null) delete paused[c.key]; else paused[c.key] = c.new;
    assert.equal(decideHold({ ...base, annotations: paused }).action, 'adopt');
    const r = planResume({ object: 'rediscluster/orders', annotations: paused, mechanism: ot, audit, user: marker, force: false });
    const after: Record<string, string> = { ...paused };
    for (const c of r?.changes ?? []) if (c.new === null) delete after[c.key]; else after[c.key] = c.new;
    assert.deepEqual(after, { ...start });
  }));
});
