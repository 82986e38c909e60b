// A replica left replicating its master's old address (the master restarted on a new IP; the replica's cluster
// view already has the new one, its replication link does not) gets CLUSTER REPLICATE of the same master.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnose } from '../../../src/reconcile/diagnose.js';
import { plan } from '../../../src/reconcile/plan.js';
import type { FindingKind, Observed } from '../../../src/reconcile/types.js';
import { heal, mending } from '../../../src/workflows/heal/index.js';
import type { TargetSession } from '../../../src/reconcile/session.js';
import { clusterModel, observeCluster } from './builders.js';

function staleLink(o: Observed): { observed: Observed; replica: string; masterId: string } {
  const r = o.redis.find((x) => x.replication?.role === 'replica');
  assert.ok(r?.replication && r.clusterNodes);
  const mine = r.clusterNodes.find((e) => e.myself);
  assert.ok(mine?.masterId);
  r.replication = { ...r.replication, masterHost: '10.99.99.99', masterLinkStatus: 'down', masterSyncInProgress: false, masterLinkDownSinceSeconds: 40 };
  return { observed: o, replica: r.pod, masterId: mine.masterId };
}

test('a replica following its master at an old address is re-pointed with CLUSTER REPLICATE of the same master', () => {
  const { observed, replica, masterId } = staleLink(observeCluster(clusterModel(3, 1)));
  const findings = diagnose(observed);
  assert.ok(findings.some((f) => f.kind === 'replica-link-down' && f.pods.includes(replica)));
  const p = plan(observed, findings, { kind: 'heal' });
  assert.equal(p.outcome, 'actions');
  const a = p.outcome === 'actions' ? p.actions.find((x) => x.pod === replica) : undefined;
  assert.equal(a?.kind, 'clusterReplicate');
  assert.equal(a?.kind === 'clusterReplicate' ? a.masterId : undefined, masterId);
  assert.equal(a?.why, 'replica-link-down');
});

test('a link down while the replica follows the right address is left to settle (no action)', () => {
  const o = observeCluster(clusterModel(3, 1));
  const r = o.redis.find((x) => x.replication?.role === 'replica');
  assert.ok(r?.replication);
  r.replication = { ...r.replication, masterLinkStatus: 'down', masterSyncInProgress: true };
  const p = plan(o, diagnose(o), { kind: 'heal' });
  assert.ok(p.outcome === 'actions' && !p.actions.some((a) => a.pod === r.pod && a.kind === 'clusterReplicate'));
});

// heal's first look after a master came back on a new IP: Redis has often re-pointed the replica already (the
// master's first PING did it) but the link is still down while it reconnects and syncs. The plan has nothing to do;
// heal must not call that healthy (it once said "nothing to heal" with the link down): `mending` is what it watches,
// bounded, before it answers. A healthy cluster, a stalled-but-up link and a kind outside --only are not watched.
interface Case {
  name: string;
  /** change the first replica's INFO replication */
  link?: Partial<NonNullable<Observed['redis'][number]['replication']>>;
  only?: FindingKind[];
  mending: number;
  relink: boolean;
}

const CASES: Case[] = [
  { name: 'healthy cluster', mending: 0, relink: false },
  { name: 'link down, replica already on its master\'s current address (reconnecting)', link: { masterLinkStatus: 'down', masterSyncInProgress: false, masterLinkDownSinceSeconds: 1 }, mending: 1, relink: false },
  { name: 'link down while the full sync runs', link: { masterLinkStatus: 'down', masterSyncInProgress: true }, mending: 1, relink: false },
  { name: 'link down, replica still on the master\'s old address (its view has the new one)', link: { masterHost: '10.99.99.99', masterLinkStatus: 'down', masterSyncInProgress: false, masterLinkDownSinceSeconds: 40 }, mending: 1, relink: true },
  { name: 'link up but silent for 90 s (stalled: waiting will not help)', link: { masterLastIoSecondsAgo: 90 }, mending: 0, relink: false },
  { name: 'link down, but --only leaves replica links out', link: { masterLinkStatus: 'down', masterSyncInProgress: false }, only: ['open-slot'], mending: 0, relink: false },
];

for (const c of CASES) {
  test(`mending and relink: ${c.name}`, () => {
    const o = observeCluster(clusterModel(3, 1));
    const r = o.redis.find((x) => x.replication?.role === 'replica');
    assert.ok(r?.replication);
    if (c.link) r.replication = { ...r.replication, ...c.link };
    const findings = diagnose(o);
    assert.equal(mending(o, findings, c.only).length, c.mending);
    const p = plan(o, findings, { kind: 'heal', only: c.only });
    assert.equal(p.outcome, 'actions');
    const actions = p.outcome === 'actions' ? p.actions : [];
    assert.equal(actions.some((a) => a.kind === 'clusterReplicate' && a.pod === r.pod && a.why === 'replica-link-down'), c.relink);
    // nothing else: a replica reconnecting by itself, and a healthy cluster, get no action at all
    if (!c.relink) assert.deepEqual(actions, []);
  });
}

/** A session that answers observe() with the given observations in turn (the last one again once they run out). */
function scripted(seq: Observed[]): TargetSession {
  let i = 0;
  // heal only calls observe() on a cluster that needs no step; the rest of a session is not needed here
  return { observe: async () => seq[Math.min(i++, seq.length - 1)] } as unknown as TargetSession;
}

function linkDown(): Observed {
  const o = observeCluster(clusterModel(3, 1));
  const r = o.redis.find((x) => x.replication?.role === 'replica');
  assert.ok(r?.replication);
  r.replication = { ...r.replication, masterLinkStatus: 'down', masterSyncInProgress: false, masterLinkDownSinceSeconds: 1 };
  return o;
}

const HEAL_CASES: Array<{ name: string; seq: () => Observed[]; timeoutMs: number; outcome: string; observes: number; watched: boolean }> = [
  { name: 'a healthy cluster: one look, no wait', seq: () => [observeCluster(clusterModel(3, 1))], timeoutMs: 60_000, outcome: 'nothing-to-do', observes: 1, watched: false },
  { name: 'a replica reconnecting: watched until its link is up', seq: () => [linkDown(), linkDown(), observeCluster(clusterModel(3, 1))], timeoutMs: 60_000, outcome: 'nothing-to-do', observes: 3, watched: true },
  { name: 'a link that stays down: not called healthy once the watch times out', seq: () => [linkDown()], timeoutMs: 0, outcome: 'unsettled', observes: 2, watched: true },
];

for (const c of HEAL_CASES) {
  test(`heal with nothing to plan: ${c.name}`, async () => {
    const seq = c.seq();
    let observes = 0;
    const s = scripted(seq);
    const observe = s.observe.bind(s);
    s.observe = () => {
      observes++;
      return observe();
    };
    const r = await heal(s, {
      maxRounds: 3, dryRun: false, postconditionTimeoutMs: c.timeoutMs,
      confirm: async () => assert.fail('no step to confirm'), progress: () => undefined,
    });
    assert.equal(r.outcome, c.outcome);
    assert.equal(observes, c.observes);
    assert.equal(r.waitedMs !== undefined, c.watched);
    assert.equal(r.rounds.length, 0);
  });
}

test('heal --dry-run with a replica reconnecting: no wait, nothing planned, not a failure', async () => {
  let observes = 0;
  const o = linkDown();
  const s = { observe: async () => (observes++, o) } as unknown as TargetSession; // only observe() is used
  const r = await heal(s, { maxRounds: 3, dryRun: true, postconditionTimeoutMs: 60_000, confirm: async () => assert.fail('no step'), progress: () => undefined });
  assert.equal(r.outcome, 'nothing-to-do');
  assert.equal(observes, 1);
  assert.equal(r.waitedMs, undefined);
});
