// status reports from observations: counts, slots, lag, health and the rendered views, from the same model
// builders the diagnose/plan tests use (pure: no cluster).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { diagnose } from '../../../src/reconcile/diagnose.js';
import { authFailure } from '../../../src/reconcile/observe.js';
import { stripColor, palette } from '../../../src/render/color.js';
import { buildReport, hasProblems } from '../../../src/workflows/status/report.js';
import { bytes, findingsText, overviewSpec, pauseText, targetHeader, topologyText } from '../../../src/render/status.js';
import { renderOutput } from '../../../src/render/output.js';
import { clusterModel, groupModel, observeCluster, observeGroup, uncover } from '../reconcile/builders.js';

const plain = palette({ isTTY: false });

test('a healthy cluster of any size reports its masters, replicas, full slot coverage and health ok', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 2 }), (m, r) => {
      const o = observeCluster(clusterModel(m, r));
      const report = buildReport(o, diagnose(o));
      assert.equal(report.masters, m);
      assert.equal(report.replicas, m * r);
      assert.equal(report.slotsCovered, 16384);
      assert.equal(report.pods, m * (r + 1));
      const topo = report.findings.filter((f) => !['pdb-missing', 'master-replica-same-node', 'masters-same-node', 'master-without-replica'].includes(f.kind));
      assert.deepEqual(topo.map((f) => f.kind), []);
    }),
    { numRuns: 30 },
  );
});

test('uncovered slots lower the coverage and make the target critical', () => {
  const model = clusterModel(3, 1);
  uncover(model, 100, 199);
  const o = observeCluster(model);
  const report = buildReport(o, diagnose(o));
  assert.equal(report.slotsCovered, 16384 - 100);
  assert.equal(report.health, 'critical');
  assert.ok(hasProblems([report]));
  assert.ok(report.findings.some((f) => f.kind === 'slots-uncovered'));
  assert.equal(report.findings[0].severity, 'critical', 'critical findings first');
});

test('a sentinel group reports one master, its replicas and sentinels, and each replica names its master', () => {
  const o = observeGroup(groupModel(2, 3));
  const report = buildReport(o, diagnose(o));
  assert.equal(report.masters, 1);
  assert.equal(report.replicas, 2);
  assert.equal(report.sentinels, 3);
  assert.equal(topologyText(report), `${o.target.topology} 1m/2r/3s`);
  const master = report.podReports.find((p) => p.role === 'master');
  for (const p of report.podReports.filter((x) => x.role === 'replica')) assert.equal(p.masterOf, master?.pod);
});

test('a replica naming its master by DNS name (Bitnami --slaveof <pod>.<svc>...) gets the same master and lag as by IP', () => {
  const o = observeGroup(groupModel(2, 3));
  const byIp = buildReport(o, diagnose(o));
  const masterPod = o.pods.find((p) => p.ip === o.redis.find((r) => r.replication?.role === 'replica')?.replication?.masterHost);
  assert.ok(masterPod);
  const named = structuredClone(o);
  for (const r of named.redis) if (r.replication?.role === 'replica') r.replication.masterHost = `${masterPod.name}.headless.redis.svc.cluster.local`;
  const byName = buildReport(named, diagnose(named));
  const view = (rep: typeof byIp) => rep.podReports.filter((p) => p.role === 'replica').map((p) => [p.pod, p.masterOf, p.lagBytes]);
  assert.deepEqual(view(byName), view(byIp));
  assert.ok(view(byIp).every(([, m, lag]) => m === masterPod.name && typeof lag === 'number'));
  assert.deepEqual(byName.findings.map((f) => f.kind), byIp.findings.map((f) => f.kind));
});

test('the overview table and the single-target header show what a user needs', async () => {
  const o = observeCluster(clusterModel(3, 1));
  const report = buildReport(o, diagnose(o));
  const text = await renderOutput('table', [report], overviewSpec(false, Date.parse(o.observedAt)));
  assert.match(text, /^TARGET\s+OPERATOR\s+TOPOLOGY\s+READY\s+SLOTS\s+LAG\s+PAUSED\s+HEALTH\s+FINDINGS$/m);
  assert.doesNotMatch(text, /NAMESPACE/);
  const wide = await renderOutput('wide', [report], overviewSpec(true, Date.parse(o.observedAt)));
  assert.match(wide, /^NAMESPACE\s+TARGET.*NODES\s+PAUSE-REASON$/m);
  const header = stripColor(targetHeader(report, Date.parse(o.observedAt), plain));
  assert.match(header, /^Target:\s+\S+ \(/m);
  assert.match(header, /^Slots:\s+16384\/16384 covered$/m);
  assert.match(header, /^Paused:\s+no$/m);
});

test('a pause shows its age and author, and EXPIRED once past --for', () => {
  const o = observeCluster(clusterModel(1, 1));
  const now = Date.parse('2026-11-25T12:00:00Z');
  const paused = { ...o, pause: { paused: true, strategy: 'annotation' as const, key: 'k', by: 'alice', at: '2026-11-25T11:00:00Z', reason: 'move', until: '2026-11-25T11:30:00Z' } };
  const r = buildReport(paused, diagnose({ ...paused, observedAt: new Date(now).toISOString() }));
  assert.equal(r.pause.expired, true);
  assert.equal(pauseText(r, now), 'EXPIRED 60m by alice');
  assert.match(findingsText([r], plain, true), /reconcile-paused: .*expired/);
});

test('bytes reads like kubectl quantities', () => {
  assert.deepEqual([bytes(undefined), bytes(0), bytes(1023), bytes(1536), bytes(5 * 1024 * 1024), bytes(300 * 1024 ** 3)], ['-', '0B', '1023B', '1.5KiB', '5.0MiB', '300GiB']);
});

test('authFailure: every node refusing the password is one sentence; one reachable node is not', () => {
  const o = observeCluster(clusterModel(2, 0));
  const refused = { ...o, redis: o.redis.map((r) => ({ ...r, reachable: false, error: 'wrong password for Redis in pod x: check the Secret s key k' })) };
  assert.match(authFailure(refused) ?? '', /wrong password/);
  assert.equal(authFailure({ ...refused, redis: [{ ...refused.redis[0], reachable: true, error: undefined }, refused.redis[1]] }), undefined);
  assert.equal(authFailure({ ...o, redis: o.redis.map((r) => ({ ...r, reachable: false, error: 'connect ECONNREFUSED' })) }), undefined);
});
