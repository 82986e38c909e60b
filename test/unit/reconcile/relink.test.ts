// A replica left replicating its master's old address (the master restarted on a new IP; the replica's cluster
// view already has the new one, its replication link does not) gets CLUSTER REPLICATE of the same master.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnose } from '../../../src/reconcile/diagnose.js';
import { plan } from '../../../src/reconcile/plan.js';
import type { Observed } from '../../../src/reconcile/types.js';
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
