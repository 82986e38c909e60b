// restart: every pod of a target (or the named ones), one at a time: sentinels and replicas first, then each master
// after a coordinated failover to an in-sync replica (the engine's failover action, reconcile/failover.ts); each pod
// is deleted and waited for (re-created and Ready, the same cluster node id, its link up and in sync, no node or
// sentinel disagreeing) before the next. Journaled per pod (resume continues at the first pod not done; --abort
// ends it between pods and resumes the operator), under the operator hold (workflows/pause/hold.ts).
import { randomBytes } from 'node:crypto';
import { RefusedError, UsageError, errText } from '../../errors.js';
import { deleteObject } from '../../kube/delete.js';
import { RES } from '../../kube/resources.js';
import { notYet, waitFor } from '../../kube/wait.js';
import type { ApplyEvent } from '../../reconcile/apply.js';
import { describeCondition, holds } from '../../reconcile/conditions.js';
import { diagnose, podForHost } from '../../reconcile/diagnose.js';
import { IN_SYNC_BYTES, planFailover } from '../../reconcile/failover.js';
import { Journal, type StepRecord } from '../../reconcile/journal.js';
import { ConfigMapJournalBackend } from '../../reconcile/journal-configmap.js';
import type { TargetSession } from '../../reconcile/session.js';
import type { Condition, FindingKind, Observed, PlanRow, Reporter } from '../../reconcile/types.js';
import { localIdentity } from '../../util/identity.js';
import { applyFailover, maintenanceJournalName, observeTarget } from '../failover/index.js';
import { OperatorHold } from '../pause/hold.js';

/**
 * Findings that say Redis has not settled after a pod came back (or is not healthy enough to start): a restart goes
 * on only without them. Left out: placement and PDB warnings, labels the paused operator fixes once resumed,
 * stale sentinel entries (an old IP sentinels remember until SENTINEL RESET; heal resets them), pause facts.
 */
export const UNSETTLED: readonly FindingKind[] = [
  'node-unreachable', 'node-failed', 'stale-ip', 'unknown-node', 'pod-not-in-cluster', 'node-forgotten', 'slots-uncovered', 'open-slot',
  'slot-multiple-owners', 'views-disagree', 'orphan-replica', 'no-master', 'multiple-masters', 'sentinels-disagree', 'sentinel-unknown-master',
  'sentinel-quorum-unreachable', 'replica-link-down', 'replica-wrong-master', 'pod-not-ready',
];

export interface RestartOptions {
  pods: string[];
  dryRun: boolean;
  resume: boolean;
  abort: boolean;
  noPause: boolean;
  timeoutMs: number;
  confirm(rows: PlanRow[]): Promise<boolean>;
  reporter: Reporter;
  progress(e: ApplyEvent): void;
}

export interface RestartResult {
  outcome: 'done' | 'dry-run' | 'declined' | 'aborted' | 'failed';
  rows: PlanRow[];
  restarted: string[];
  opId?: string;
  failure?: string;
  resumed?: boolean;
}

const PODS = RES.pods;

function unsettled(o: Observed): string[] {
  return diagnose(o).filter((f) => UNSETTLED.includes(f.kind)).map((f) => f.message);
}

function roleOf(o: Observed, pod: string): 'master' | 'replica' | 'sentinel' | undefined {
  if (o.pods.find((p) => p.name === pod)?.component === 'sentinel') return 'sentinel';
  return o.redis.find((r) => r.pod === pod)?.replication?.role;
}

/** The order: sentinel pods, then replicas, then masters (each after its failover), by name within each. */
export function restartOrder(o: Observed, pods: string[]): Array<{ pod: string; role: 'master' | 'replica' | 'sentinel' }> {
  const rank = { sentinel: 0, replica: 1, master: 2 } as const;
  return pods.map((pod) => ({ pod, role: roleOf(o, pod) ?? 'replica' })).sort((a, b) => rank[a.role] - rank[b.role] || a.pod.localeCompare(b.pod));
}

const stepOf = (pod: string) => `pod/${pod}`;

function rowsOf(order: Array<{ pod: string; role: string }>, steps?: Record<string, StepRecord>): PlanRow[] {
  return order.map((x, i) => ({
    n: i + 1, pod: x.pod, step: x.role === 'master' ? 'failover+restart' : 'restart',
    state: steps?.[stepOf(x.pod)]?.status === 'done' ? 'done' : steps?.[stepOf(x.pod)]?.status === 'started' ? 'in progress' : 'to do',
    action: x.role === 'master' ? `fail ${x.pod} over to an in-sync replica, then delete it and wait until it is back in sync` : `delete ${x.pod} and wait until it is back${x.role === 'sentinel' ? ' and every sentinel agrees' : ' in sync'}`,
  }));
}

export async function restart(session: TargetSession, opts: RestartOptions): Promise<RestartResult> {
  const target = session.target;
  const ns = target.namespace;
  const backend = new ConfigMapJournalBackend(session.kube, ns);
  const name = maintenanceJournalName('restart', target.ref);
  const open = (args: Record<string, unknown>, abort: boolean) => Journal.open(backend, name, {
    operation: 'restart', target: target.ref, holder: localIdentity(), args, newId: () => `rs-${randomBytes(4).toString('hex')}`, now: () => new Date(), abort,
  });
  if (opts.abort) {
    if (opts.dryRun) return { outcome: 'dry-run', rows: [], restarted: [] };
    const journal = await open({}, true);
    const hold = await OperatorHold.take(session.kube, session.ctx, { command: 'restart', opId: journal.id, journal, noPause: false });
    await hold.release();
    await journal.finish('aborted');
    const done = Object.entries(journal.snapshot.steps).filter(([, s]) => s.status === 'done').map(([k]) => k.slice(4));
    return { outcome: 'aborted', rows: [], restarted: done, opId: journal.id };
  }
  const observed = await observeTarget(session);
  const live = await backend.load(name);
  const resuming = live && (live.doc.state === 'running' || live.doc.state === 'failed') && live.doc.operation === 'restart';
  if (opts.resume && !resuming) throw new RefusedError(`there is no restart of ${target.ref} in progress to resume`);
  let order: Array<{ pod: string; role: 'master' | 'replica' | 'sentinel' }>;
  let args: Record<string, unknown>;
  if (resuming && (opts.resume || opts.pods.length === 0)) {
    order = live.doc.facts.order as typeof order;
    args = live.doc.args;
  } else {
    const all = observed.pods.map((p) => p.name);
    const bad = opts.pods.filter((p) => !all.includes(p));
    if (bad.length > 0) throw new UsageError(`${bad.map((p) => `"${p}"`).join(', ')} ${bad.length === 1 ? 'is not a pod' : 'are not pods'} of ${target.ref}; its pods are ${all.join(', ')}`);
    order = restartOrder(observed, opts.pods.length > 0 ? [...new Set(opts.pods)] : all);
    args = { pods: opts.pods.length > 0 ? [...new Set(opts.pods)].sort() : null };
  }
  // a dry run during an interrupted restart shows where it stands
  if (opts.dryRun) return { outcome: 'dry-run', rows: rowsOf(order, resuming ? live.doc.steps : undefined), restarted: [] };
  if (!resuming) {
    const problems = unsettled(observed);
    if (problems.length > 0) throw new RefusedError(`${target.ref} is not healthy, and restarting its pods would make it worse: ${problems.join('; ')}; run kubectl redis heal ${target.ref} -n ${ns} first`);
  }
  if (!(await opts.confirm(rowsOf(order, undefined)))) return { outcome: 'declined', rows: rowsOf(order, undefined), restarted: [] };
  const journal = await open(args, false);
  if (!journal.resumed) await journal.setFact('order', order);
  const hold = await OperatorHold.take(session.kube, session.ctx, { command: 'restart', opId: journal.id, journal, noPause: opts.noPause });
  if (hold.warn) opts.reporter.warn(hold.note);
  else opts.reporter.info(hold.note);
  const restarted: string[] = [];
  let failure: string | undefined;
  try {
    for (const [i, x] of order.entries()) {
      if (journal.isDone(stepOf(x.pod))) {
        opts.reporter.step(i + 1, order.length, `${x.pod}: already restarted by this operation`);
        continue;
      }
      opts.reporter.step(i + 1, order.length, `restart ${x.pod}`);
      await hold.renew();
      await restartOne(session, journal, x.pod, x.role, opts);
      await journal.done(stepOf(x.pod));
      restarted.push(x.pod);
    }
  } catch (e) {
    failure = errText(e);
  } finally {
    await hold.release().catch((e: unknown) => opts.reporter.warn(`could not resume the operator: ${errText(e)}; run kubectl redis resume ${target.ref} -n ${ns}`));
  }
  if (failure) {
    await journal.fail(failure).catch(() => undefined);
    return { outcome: 'failed', rows: rowsOf(order, journal.snapshot.steps), restarted, opId: journal.id, failure, resumed: journal.resumed };
  }
  await journal.finish('done');
  return { outcome: 'done', rows: rowsOf(order, journal.snapshot.steps), restarted, opId: journal.id, resumed: journal.resumed };
}

async function podUid(session: TargetSession, pod: string): Promise<string | undefined> {
  const p = await session.kube.get(PODS, session.target.namespace, pod);
  return p?.metadata.uid;
}

/** The master a replica pod follows, as a pod name. */
function masterPodOf(o: Observed, pod: string): string | undefined {
  const r = o.redis.find((x) => x.pod === pod);
  const me = r?.clusterNodes?.find((e) => e.myself);
  if (me?.masterId) {
    return o.redis.find((x) => x.clusterNodes?.find((e) => e.myself)?.id === me.masterId)?.pod;
  }
  return r?.replication?.role === 'replica' ? podForHost(o, r.replication.masterHost)?.name : undefined;
}

async function restartOne(session: TargetSession, journal: Journal, pod: string, role: 'master' | 'replica' | 'sentinel', opts: RestartOptions): Promise<void> {
  const ns = session.target.namespace;
  const step = stepOf(pod);
  let o = await observeTarget(session);
  const recordedUid = journal.fact<string>(`uid/${pod}`);
  const isSentinelPod = role === 'sentinel';
  // a run that died after deleting the pod: do not delete its successor, only wait for it
  const deletedAlready = journal.wasStarted(step) && recordedUid !== undefined && (await podUid(session, pod)) !== recordedUid;
  const sentinelCount = journal.fact<number>(`sentinels/${pod}`) ?? o.pods.filter((p) => p.component === 'sentinel').length;
  let nodeId = journal.fact<string>(`nodeId/${pod}`);
  if (!deletedAlready) {
    if (roleOf(o, pod) === 'master') {
      const plan = planFailover(o, o.target.topology === 'cluster' ? { shard: pod } : {});
      opts.reporter.info(`${pod} is a master: ${plan.action.description}`);
      const report = await applyFailover(session, plan, o, opts.timeoutMs, opts.progress);
      if (report.failed) throw new Error(`failover of ${pod} before its restart: ${report.failed.reason}`);
      o = await observeTarget(session);
      if (roleOf(o, pod) === 'master') throw new RefusedError(`${pod} is still a master after its failover; not restarting it`);
    }
    nodeId = o.redis.find((r) => r.pod === pod)?.clusterNodes?.find((e) => e.myself)?.id;
    const uid = await podUid(session, pod);
    if (nodeId) await journal.setFact(`nodeId/${pod}`, nodeId);
    await journal.setFact(`sentinels/${pod}`, sentinelCount);
    await journal.setFact(`uid/${pod}`, uid);
    await journal.started(step, `deleting ${pod}`);
    await deleteObject(session.kube, PODS, ns, pod);
  }
  await session.drop(pod);
  const t0 = Date.now();
  const uid = journal.fact<string>(`uid/${pod}`);
  // back: re-created (a new uid under the same name; a Deployment's sentinel comes back under a new name) and Ready
  await waitFor(`${pod} to be re-created and Ready`, async () => {
    if (isSentinelPod) {
      const now = await session.observe();
      const ready = now.pods.filter((p) => p.component === 'sentinel' && p.ready && !p.deleting);
      return !now.pods.some((p) => p.name === pod) && ready.length >= sentinelCount ? true : notYet(`${ready.length}/${sentinelCount} sentinel pods Ready`);
    }
    const p = await session.kube.get(PODS, ns, pod);
    const ready = ((p?.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    return p && p.metadata.uid !== uid && ready && !p.metadata.deletionTimestamp ? true : notYet(`${pod} not re-created and Ready yet`);
  }, { timeoutMs: opts.timeoutMs, intervalMs: 250, onState: (s) => opts.reporter.info(s) });
  opts.reporter.info(`${pod} is Ready again after ${((Date.now() - t0) / 1000).toFixed(1)} s; waiting until Redis has settled`);
  // settled: the same node id, its link up and in sync, every node and sentinel agreeing, nothing unsettled
  await waitFor(`Redis to settle after ${pod} came back`, async () => {
    const now = await session.observe();
    const conds: Condition[] = [];
    if (isSentinelPod) {
      const master = now.redis.filter((r) => r.reachable && r.replication?.role === 'master');
      if (master.length !== 1) return notYet(`${master.length} masters answer`);
      for (const s of now.sentinels) conds.push({ type: 'sentinelMasterPod', pod: s.pod, masterPod: master[0].pod });
    } else {
      if (nodeId) conds.push({ type: 'nodeId', pod, id: nodeId });
      const master = masterPodOf(now, pod);
      if (!master) return notYet(`${pod} does not replicate a master yet`);
      conds.push({ type: 'inSync', pod, masterPod: master, maxLagBytes: IN_SYNC_BYTES });
      if (nodeId) {
        const masterId = now.redis.find((r) => r.pod === master)?.clusterNodes?.find((e) => e.myself)?.id;
        if (masterId) conds.push({ type: 'clusterRoleAgreed', nodeId, role: 'replica', masterId });
      }
      for (const s of now.sentinels) conds.push({ type: 'sentinelMasterPod', pod: s.pod, masterPod: master });
    }
    const failing = conds.find((c) => !holds(now, c));
    if (failing) return notYet(`not yet: ${describeCondition(failing)}`);
    const left = unsettled(now);
    return left.length === 0 ? true : notYet(`not yet: ${left[0]}`);
  }, { timeoutMs: opts.timeoutMs, intervalMs: 300, onState: (s) => opts.reporter.info(s) });
  opts.reporter.info(`${pod} restarted and in sync (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
