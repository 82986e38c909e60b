import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPlan, batchAt, type ApplyDeps, type KubeActions } from '../../../src/reconcile/apply.js';
import { diagnose } from '../../../src/reconcile/diagnose.js';
import { plan } from '../../../src/reconcile/plan.js';
import type { RedisNode } from '../../../src/redis/connect.js';
import type { Action, Observed } from '../../../src/reconcile/types.js';
import { applyToCluster, byPod, clusterModel, forgetNode, moveToK8sNode, observeCluster, settle, type ClusterModel } from './builders.js';

const noKube: KubeActions = {
  patchPodLabel: async () => undefined,
  deletePod: async () => undefined,
  patchAnnotation: async () => undefined,
  scaleDeployment: async () => undefined,
};

/**
 * apply's deps over the cluster model. A replica told to follow another master shows its link down until
 * `syncObservations` more observations have passed (Redis waits repl-diskless-sync-delay before a full sync).
 */
function modelDeps(m: ClusterModel, events: string[], syncObservations: number): ApplyDeps {
  const syncing = new Map<string, number>();
  const observe = async (): Promise<Observed> => {
    events.push('observe');
    const o = observeCluster(m);
    for (const [pod, left] of syncing) {
      const r = o.redis.find((x) => x.pod === pod);
      if (r?.replication) r.replication.masterLinkStatus = 'down';
      if (left <= 1) syncing.delete(pod);
      else syncing.set(pod, left - 1);
    }
    return o;
  };
  const connect = async (pod: string): Promise<RedisNode> => {
    const node = {
      async clusterReplicate(masterId: string) {
        events.push(`replicate ${pod}`);
        applyToCluster(m, { kind: 'clusterReplicate', masterId, pod } as Action);
        syncing.set(pod, syncObservations);
      },
      async clusterMeet(ip: string, port: number) {
        events.push(`meet ${pod}`);
        applyToCluster(m, { kind: 'clusterMeet', pod, ip, port, busPort: port + 10000 } as Action);
      },
    };
    // only the one method these plans call: the model is no Redis client
    return node as unknown as RedisNode;
  };
  return { observe, connect, kube: noKube, progress: () => undefined, postconditionTimeoutMs: 5000, intervalMs: 1 };
}

/** 3 masters x 2 replicas, every replica beside its master: the plan moves several replicas at once. */
function crowded(): ClusterModel {
  const m = clusterModel(3, 2);
  for (const n of m.nodes) if (n.master) moveToK8sNode(m, n.pod, byPod(m, m.nodes.find((x) => x.id === n.master)!.pod).k8sNode);
  settle(m);
  return m;
}

test('independent CLUSTER REPLICATE steps are sent back to back and their resyncs awaited together', async () => {
  const m = crowded();
  const o = observeCluster(m);
  const r = plan(o, diagnose(o), { kind: 'heal' });
  assert.equal(r.outcome, 'actions');
  if (r.outcome !== 'actions') return;
  const moves = r.actions.filter((a) => a.kind === 'clusterReplicate');
  assert.ok(moves.length >= 2, `several moves: ${moves.map((a) => a.description).join('; ')}`);
  const batch = batchAt(moves, 0, o);
  assert.ok(batch >= 2, `batched ${batch}`);
  const events: string[] = [];
  const report = await applyPlan(moves.slice(0, batch), o, modelDeps(m, events, 3));
  assert.equal(report.failed, undefined, report.failed?.reason);
  assert.equal(report.done.length, batch);
  // every REPLICATE goes out before the first observation that waits for a resync
  const firstObserve = events.indexOf('observe');
  assert.equal(events.slice(0, firstObserve).filter((e) => e.startsWith('replicate')).length, batch, events.join(', '));
  // and the batch waits until every one of them is linked: the three observations of one shared sync delay, not one
  // delay per replica
  assert.equal(events.filter((e) => e === 'observe').length, 4, events.join(', '));
  const after = observeCluster(m);
  for (const a of report.done) assert.ok(a.postcondition.every((c) => c.type !== 'replicaOfAddress' || after.redis.find((x) => x.pod === c.pod)?.replication?.masterHost === c.host));
});

test('a REPLICATE of a node another step of the run is told to follow is not batched with it', () => {
  const m = clusterModel(3, 1);
  const o = observeCluster(m);
  const id = (pod: string) => byPod(m, pod).id;
  const step = (pod: string, masterPod: string, n: number): Action => ({
    id: `${n}-clusterReplicate`, kind: 'clusterReplicate', pod, masterId: id(masterPod), why: 'orphan-replica', description: `REPLICATE ${pod} ${masterPod}`,
    precondition: [], postcondition: [{ type: 'replicaOf', pod, masterId: id(masterPod) }], risk: 'safe',
  });
  // redis-3 moves to redis-1, then redis-1 is told to follow redis-2: redis-3 would follow a node that is leaving
  assert.equal(batchAt([step('redis-3', 'redis-1', 1), step('redis-1', 'redis-2', 2)], 0, o), 1);
  // the same pod twice: one at a time
  assert.equal(batchAt([step('redis-3', 'redis-1', 1), step('redis-3', 'redis-2', 2)], 0, o), 1);
  // two replicas to two masters: together
  assert.equal(batchAt([step('redis-3', 'redis-1', 1), step('redis-4', 'redis-2', 2)], 0, o), 2);
  // MEETs: together, up to the first other step
  const meet = (pod: string, n: number): Action => ({ ...step(pod, 'redis-1', n), kind: 'clusterMeet', ip: '10.0.0.1', port: 6379, busPort: 16379 } as Action);
  assert.equal(batchAt([meet('redis-2', 1), meet('redis-3', 2), meet('redis-4', 3), step('redis-5', 'redis-1', 4)], 0, o), 3);
  // anything else runs alone
  assert.equal(batchAt([{ ...step('redis-3', 'redis-1', 1), kind: 'bumpEpoch' } as Action, step('redis-4', 'redis-2', 2)], 0, o), 1);
});

test('the MEETs that re-introduce a forgotten master all go out before heal waits for gossip', async () => {
  const m = clusterModel(3, 1);
  forgetNode(m, 'redis-1');
  settle(m);
  const o = observeCluster(m);
  const r = plan(o, diagnose(o), { kind: 'heal' });
  assert.equal(r.outcome, 'actions');
  if (r.outcome !== 'actions') return;
  assert.deepEqual([...new Set(r.actions.map((a) => a.kind))], ['clusterMeet']);
  const events: string[] = [];
  const report = await applyPlan(r.actions, o, modelDeps(m, events, 0));
  assert.equal(report.failed, undefined, report.failed?.reason);
  assert.deepEqual(events, [...r.actions.map((a) => `meet ${a.pod}`), 'observe']);
  assert.deepEqual(diagnose(observeCluster(m)), []);
});
