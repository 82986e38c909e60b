import { test } from 'node:test';
import assert from 'node:assert/strict';
import { annotationPatch, planPause, planResume } from '../../../src/reconcile/pause.js';
import { pauseState, type AuditKeys, type PauseMechanism } from '../../../src/targets/pause.js';
import { RefusedError, UsageError } from '../../../src/errors.js';

const audit: AuditKeys = { by: 'k/by', at: 'k/at', reason: 'k/reason', until: 'k/until', operatorReplicas: 'k/op' };
const ot: PauseMechanism = { type: 'annotation', key: 'rediscluster.opstreelabs.in/skip-reconcile', value: 'true', presenceOnly: false };
const otOld: PauseMechanism = { ...ot, presenceOnly: true };
const none: PauseMechanism = { type: 'none', why: 'spotahome redis-operator has no pause annotation', fallback: 'scale-operator' };
const now = new Date('2026-03-01T10:00:00Z');
const base = { object: 'rediscluster/orders', audit, user: 'ann', reason: 'migrating', now, force: false, operatorScaleDown: false };

test('pause sets the operator key and our audit annotations, each as old => new', () => {
  const plan = planPause({ ...base, annotations: {}, mechanism: ot, forMs: 2 * 3600_000 });
  assert.deepEqual(plan.changes, [
    { key: ot.type === 'annotation' ? ot.key : '', old: null, new: 'true' },
    { key: 'k/by', old: null, new: 'ann' },
    { key: 'k/at', old: null, new: '2026-03-01T10:00:00Z' },
    { key: 'k/reason', old: null, new: 'migrating' },
    { key: 'k/until', old: null, new: '2026-03-01T12:00:00Z' },
  ]);
  assert.deepEqual(annotationPatch(plan.changes).metadata.annotations['k/by'], 'ann');
});

test('a "false" left on an old OT operator still pauses it; resume deletes the key', () => {
  const ann = { [otOld.type === 'annotation' ? otOld.key : '']: 'false' };
  assert.equal(pauseState(ann, otOld, audit).paused, true);
  assert.equal(pauseState(ann, ot, audit).paused, false);
  const plan = planResume({ object: 'x', annotations: ann, mechanism: otOld, audit, user: 'ann', force: false });
  assert.deepEqual(plan?.changes, [{ key: 'rediscluster.opstreelabs.in/skip-reconcile', old: 'false', new: null }]);
});

test('pause refuses without a reason, and refuses a pause held by someone else unless forced', () => {
  assert.throws(() => planPause({ ...base, reason: ' ', annotations: {}, mechanism: ot }), UsageError);
  const held = { 'rediscluster.opstreelabs.in/skip-reconcile': 'true', 'k/by': 'bob', 'k/at': '2026-03-01T09:00:00Z', 'k/reason': 'debugging' };
  assert.throws(() => planPause({ ...base, annotations: held, mechanism: ot }), (e: unknown) => e instanceof RefusedError && /already paused by bob 60m ago \(debugging\)/.test(e.message));
  const forced = planPause({ ...base, annotations: held, mechanism: ot, force: true });
  assert.deepEqual(forced.changes.find((c) => c.key === 'k/by'), { key: 'k/by', old: 'bob', new: 'ann' });
});

test('an operator without a pause key: refuse, or scale it down and remember the replica count', () => {
  assert.throws(() => planPause({ ...base, annotations: {}, mechanism: none }), /no pause annotation; re-run with --operator-scale-down/);
  const plan = planPause({ ...base, annotations: {}, mechanism: none, operatorScaleDown: true, operator: { deployment: 'spotahome/redisoperator', replicas: 2, running: true } });
  assert.deepEqual(plan.operatorScale, { deployment: 'spotahome/redisoperator', from: 2, to: 0 });
  assert.deepEqual(plan.changes[0], { key: 'k/op', old: null, new: 'spotahome/redisoperator=2' });
  assert.match(plan.warnings[0], /pauses every resource/);
  const paused = Object.fromEntries(plan.changes.map((c) => [c.key, c.new as string]));
  assert.equal(pauseState(paused, none, audit).paused, true);
  const resume = planResume({ object: 'rf/sessions', annotations: paused, mechanism: none, audit, user: 'ann', force: false, operator: { deployment: 'spotahome/redisoperator', replicas: 0 } });
  assert.deepEqual(resume?.operatorScale, { deployment: 'spotahome/redisoperator', from: 0, to: 2 });
  assert.ok(resume?.changes.every((c) => c.new === null));
});

test('nothing to pause for a chart without an operator', () => {
  assert.throws(() => planPause({ ...base, annotations: {}, mechanism: { type: 'none', why: 'a Bitnami chart has no controller', fallback: 'nothing-to-pause' } }), /nothing to pause/);
});

test('resume of something not paused is undefined; of someone else\'s pause needs --force', () => {
  assert.equal(planResume({ object: 'x', annotations: {}, mechanism: ot, audit, user: 'ann', force: false }), undefined);
  const held = { 'rediscluster.opstreelabs.in/skip-reconcile': 'true', 'k/by': 'bob' };
  assert.throws(() => planResume({ object: 'x', annotations: held, mechanism: ot, audit, user: 'ann', force: false }), /paused by bob .*--force/);
  assert.ok(planResume({ object: 'x', annotations: held, mechanism: ot, audit, user: 'ann', force: true }));
});
