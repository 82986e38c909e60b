// failover: a planned switchover of one master to one of its replicas, as one action of the engine
// (reconcile/failover.ts) applied with applyPlan, under the operator hold and a journal (so a second maintenance
// operation on the target refuses, and a crashed run's pause is resumed by the re-run).
import { randomBytes } from 'node:crypto';
import { RedisError } from '../../errors.js';
import { applyPlan, type ApplyEvent, type ApplyReport } from '../../reconcile/apply.js';
import { planFailover, type FailoverPlan, type FailoverRequest } from '../../reconcile/failover.js';
import { Journal } from '../../reconcile/journal.js';
import { ConfigMapJournalBackend } from '../../reconcile/journal-configmap.js';
import { authFailure } from '../../reconcile/observe.js';
import type { TargetSession } from '../../reconcile/session.js';
import type { Observed } from '../../reconcile/types.js';
import { localIdentity } from '../../util/identity.js';
import { kubeActions } from '../heal/index.js';
import { OperatorHold } from '../pause/hold.js';

export interface FailoverOptions extends FailoverRequest {
  dryRun: boolean;
  noPause: boolean;
  timeoutMs: number;
  confirm(plan: FailoverPlan): Promise<boolean>;
  progress(e: ApplyEvent): void;
  onHold?(note: string, warn: boolean): void;
}

export interface FailoverResult {
  outcome: 'done' | 'dry-run' | 'declined' | 'failed';
  /** absent when this run only finished one that died after its switch */
  plan?: FailoverPlan;
  from: string;
  to: string;
  resumed?: boolean;
  report?: ApplyReport;
  failure?: string;
  opId?: string;
}

/** The journal's ConfigMap of a maintenance command on a target: `kubectl-redis-restart-rediscluster-orders`. */
export function maintenanceJournalName(command: string, ref: string): string {
  return `kubectl-redis-${command}-${ref.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}`.slice(0, 253);
}

/** Observe, refusing at once when the password is wrong (every later step would fail the same way). */
export async function observeTarget(session: TargetSession): Promise<Observed> {
  const o = await session.observe();
  const auth = authFailure(o);
  if (auth) throw new RedisError(auth, { hint: `the password comes from ${session.ctx.observeInput.spec.secretHint ?? 'the Secret the operator was given'}` });
  return o;
}

/** Apply one planned failover (restart uses it for each master). */
export async function applyFailover(session: TargetSession, plan: FailoverPlan, observed: Observed, timeoutMs: number, progress: (e: ApplyEvent) => void): Promise<ApplyReport> {
  const spec = session.ctx.observeInput.spec;
  const report = await applyPlan([plan.action], observed, {
    observe: () => session.observe(),
    connect: (pod, component) => session.connect(pod, component ?? 'redis'),
    drop: (pod) => session.drop(pod),
    kube: kubeActions(session.kube, spec.namespace),
    redisAuth: spec.auth?.password !== undefined ? { username: spec.auth.username, password: spec.auth.password } : undefined,
    progress,
    postconditionTimeoutMs: timeoutMs,
  });
  // Sentinel and REPLICAOF close the clients of the nodes they reconfigure: later steps connect afresh
  const a = plan.action;
  for (const pod of new Set([a.pod, a.fromPod, ...(a.steer ?? []).map((s) => s.pod), ...(a.repoint ?? [])])) await session.drop(pod);
  return report;
}

export async function failover(session: TargetSession, opts: FailoverOptions): Promise<FailoverResult> {
  const observed = await observeTarget(session);
  const target = session.target;
  const backend = new ConfigMapJournalBackend(session.kube, target.namespace);
  const name = maintenanceJournalName('failover', target.ref);
  const open = (args: Record<string, unknown>) => Journal.open(backend, name, {
    operation: 'failover', target: target.ref, holder: localIdentity(), args, newId: () => `fo-${randomBytes(4).toString('hex')}`, now: () => new Date(),
  });
  const args = { to: opts.to ?? null, shard: opts.shard ?? null };
  // A run that died after the switch: the replica it promoted is master now; finish it (resume the operator).
  const live = opts.dryRun ? undefined : await backend.load(name);
  const prev = live?.doc.facts.plan as { from: string; to: string } | undefined;
  if (live && (live.doc.state === 'running' || live.doc.state === 'failed') && prev && observed.redis.find((r) => r.pod === prev.to)?.replication?.role === 'master') {
    const journal = await open(live.doc.args);
    const hold = await OperatorHold.take(session.kube, session.ctx, { command: 'failover', opId: journal.id, journal, noPause: opts.noPause });
    await hold.release();
    await journal.finish('done');
    return { outcome: 'done', from: prev.from, to: prev.to, opId: journal.id, resumed: true };
  }
  const plan = planFailover(observed, opts);
  if (opts.dryRun) return { outcome: 'dry-run', plan, from: plan.from, to: plan.to };
  if (!(await opts.confirm(plan))) return { outcome: 'declined', plan, from: plan.from, to: plan.to };
  const journal = await open(args);
  await journal.setFact('plan', { from: plan.from, to: plan.to });
  const hold = await OperatorHold.take(session.kube, session.ctx, { command: 'failover', opId: journal.id, journal, noPause: opts.noPause });
  opts.onHold?.(hold.note, hold.warn);
  let result: FailoverResult;
  try {
    await journal.started('failover', `${plan.from} -> ${plan.to}`);
    const report = await applyFailover(session, plan, observed, opts.timeoutMs, opts.progress);
    result = report.failed
      ? { outcome: 'failed', plan, from: plan.from, to: plan.to, report, failure: `${report.failed.action.description}: ${report.failed.reason}`, opId: journal.id }
      : { outcome: 'done', plan, from: plan.from, to: plan.to, report, opId: journal.id };
    if (!report.failed) await journal.done('failover', `${plan.from} -> ${plan.to}`);
  } finally {
    await hold.release();
  }
  // nothing is left half-done to resume (the operator is resumed, the action re-plans from what is there): a
  // failed failover ends its journal, so the next one (with other arguments) is not refused
  if (result.outcome === 'failed') await journal.setFact('error', result.failure);
  await journal.finish(result.outcome === 'failed' ? 'aborted' : 'done');
  return result;
}
