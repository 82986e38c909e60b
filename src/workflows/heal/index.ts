// heal: the reconcile loop with intent "healthy". Observe, diagnose, plan, (ask once), apply step by step with
// pre- and postconditions, observe again, and repeat for a bounded number of rounds until the plan is empty.
// A refusal (two diverged masters, no --prefer) stops before anything changes.
import type { KubeClient } from '../../kube/client.js';
import { deleteObject } from '../../kube/delete.js';
import { patchObject } from '../../kube/patch.js';
import { applyPlan, type ApplyEvent, type ApplyReport, type KubeActions } from '../../reconcile/apply.js';
import { diagnose } from '../../reconcile/diagnose.js';
import { accessFailure } from '../../reconcile/observe.js';
import { plan } from '../../reconcile/plan.js';
import type { TargetSession } from '../../reconcile/session.js';
import { NON_TOPOLOGY_KINDS, type Action, type Finding, type FindingKind, type Intent, type Observed, type PlanResult, type Unfixed } from '../../reconcile/types.js';
import { RES } from '../../kube/resources.js';
import { randomBytes } from 'node:crypto';
import { OperatorHold } from '../pause/hold.js';

const { pods: PODS, deployments: DEPLOYMENTS } = RES;

export interface HealOptions {
  only?: FindingKind[];
  prefer?: string;
  maxRounds: number;
  dryRun: boolean;
  postconditionTimeoutMs: number;
  /** Asked once, with the first plan; false stops before any change. */
  confirm(first: Action[], observed: Observed, findings: Finding[]): Promise<boolean>;
  progress(e: ApplyEvent, round: number): void;
  /** Told when a new round starts (round 2 and later). */
  onRound?(round: number, actions: Action[]): void;
  /** --no-pause: leave a running operator reconciling while heal works (it may fight the fix). */
  noPause?: boolean;
  /** Told what the operator hold did, before the first change (warn: the operator may fight the fix). */
  onHold?(note: string, warn: boolean): void;
}

export interface HealRound {
  actions: Action[];
  report?: ApplyReport;
}

export interface HealResult {
  before: Finding[];
  after: Finding[];
  firstPlan: PlanResult;
  rounds: HealRound[];
  unfixed: Unfixed[];
  outcome: 'healthy' | 'nothing-to-do' | 'dry-run' | 'declined' | 'refused' | 'failed' | 'rounds-exhausted' | 'unsettled';
  failure?: string;
  /** How long heal watched, before planning, findings Redis was mending by itself (see `mending`). */
  waitedMs?: number;
}

/**
 * The phase of an action: membership (MEET/FORGET), then slots, then replication, then Kubernetes labels. One
 * round applies one phase and observes again, because a membership change sets off gossip, failovers and epoch
 * bumps that make the rest of a plan made before it stale (seen when every pod of a cluster restarts at once).
 */
export function phaseOf(a: Action): number {
  switch (a.kind) {
    case 'clusterMeet':
    case 'clusterForget':
      return 0;
    case 'setSlotStable':
    case 'setSlotNode':
    case 'setSlotMigrating':
    case 'setSlotImporting':
    case 'delSlots':
    case 'addSlots':
    case 'migrateKeys':
    case 'moveSlots':
    case 'bumpEpoch':
      return 1;
    case 'patchPodLabel':
    case 'patchAnnotation':
      return 3;
    default:
      return 2;
  }
}

/** The plan's first run of actions of one phase, in plan order (the plan's own order is kept: a takeover it puts
 * before a FORGET runs first). */
export function firstPhase(actions: Action[]): Action[] {
  if (actions.length === 0) return actions;
  const p = phaseOf(actions[0]);
  const end = actions.findIndex((a) => phaseOf(a) !== p);
  return end < 0 ? actions : actions.slice(0, end);
}

/** Findings heal works on: Redis topology, within --only. */
export function healable(findings: Finding[], only?: FindingKind[]): Finding[] {
  return findings.filter((f) => !NON_TOPOLOGY_KINDS.includes(f.kind) && f.kind !== 'pod-not-ready' && (!only || only.includes(f.kind)));
}

export function kubeActions(kube: KubeClient, namespace: string): KubeActions {
  return {
    async patchPodLabel(pod, key, value) {
      await patchObject(kube, PODS, namespace, pod, { metadata: { labels: { [key]: value } } }, { idempotent: true });
    },
    async deletePod(pod) {
      await deleteObject(kube, PODS, namespace, pod);
    },
    async patchAnnotation(object, key, value) {
      const [kind, name] = object.split('/');
      if (kind !== 'pod') throw new Error(`heal cannot annotate ${object}`);
      await patchObject(kube, PODS, namespace, name, { metadata: { annotations: { [key]: value } } }, { idempotent: true });
    },
    async scaleDeployment(name, replicas) {
      const [ns, n] = name.includes('/') ? name.split('/') : [namespace, name];
      await patchObject(kube, DEPLOYMENTS, ns, n, { spec: { replicas } }, { subresource: 'scale', idempotent: true });
    },
  };
}

/**
 * Findings Redis is mending by itself that heal has no action for yet: a replica whose replication link is down
 * while it reconnects or syncs, typically to a master that just came back on a new IP (Redis re-points the replica
 * when that master's first PING reaches it, then needs a second or more to reconnect and sync). A cluster with one
 * is not healthy yet, and what it needs may change within seconds (a replica left on the old IP gets an action).
 */
export function mending(observed: Observed, findings: Finding[], only?: FindingKind[]): Finding[] {
  // a finding's pods are sorted: the replica is the one that reports a link
  return healable(findings, only).filter((f) => f.kind === 'replica-link-down'
    && observed.redis.some((r) => f.pods.includes(r.pod) && r.replication?.role === 'replica' && r.replication.masterLinkStatus === 'down'));
}

/**
 * Observe until `done` holds, an action appears, or the step timeout passes: Redis settles on its own, and heal
 * should neither call a settling cluster broken nor call it healthy. After a round `done` is "no healable finding
 * left" (a replica still syncing after REPLICATE, gossip still spreading a MEET); before the first plan it is
 * "nothing being mended" (a replica reconnecting to its restarted master).
 */
async function settle(session: TargetSession, intent: Intent, opts: HealOptions, done: (o: Observed, f: Finding[]) => boolean): Promise<{ observed: Observed; next: PlanResult }> {
  const deadline = Date.now() + opts.postconditionTimeoutMs;
  for (;;) {
    const observed = await session.observe();
    const findings = diagnose(observed);
    const next = plan(observed, findings, intent);
    const settled = next.outcome === 'refused' || next.actions.length > 0 || done(observed, findings);
    if (settled || Date.now() > deadline) return { observed, next };
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Why heal stopped with findings left and no action for them, as the rest of one sentence. A Redis that does not
 * answer (frozen, hung node, partition) is named first: nothing can be done to it until it answers or is gone.
 */
export function remainingFailure(left: Finding[]): string {
  const silent = [...new Set(left.filter((f) => f.kind === 'node-unreachable').flatMap((f) => f.pods))].sort();
  if (silent.length > 0) {
    const which = silent.length === 1 ? `pod "${silent[0]}" does` : `pods ${silent.map((p) => `"${p}"`).join(', ')} do`;
    return `the Redis in ${which} not answer (a frozen process, a hung node or a partition), so heal cannot act on it; find out why (kubectl describe pod ${silent[0]}), then re-run heal once it answers or is restarted`;
  }
  const kinds = [...new Set(left.map((f) => f.kind))].join(', ');
  return `findings remain that heal has no action for${kinds ? ` (${kinds})` : ''}`;
}

export async function heal(session: TargetSession, opts: HealOptions): Promise<HealResult> {
  let observed = await session.observe();
  const denied = accessFailure(observed, () => session.ctx.observeInput.spec.secretHint);
  if (denied) throw denied;
  const before = diagnose(observed);
  const intent = { kind: 'heal' as const, only: opts.only, prefer: opts.prefer };
  let firstPlan = plan(observed, before, intent);
  let after = before;
  let waitedMs: number | undefined;
  if (firstPlan.outcome === 'actions' && firstPlan.actions.length === 0 && !opts.dryRun && mending(observed, before, opts.only).length > 0) {
    // nothing to do yet, but not healthy either: watch (bounded) until Redis has mended it or an action appears
    const t0 = Date.now();
    ({ observed, next: firstPlan } = await settle(session, intent, opts, (o, f) => mending(o, f, opts.only).length === 0));
    waitedMs = Date.now() - t0;
    after = diagnose(observed);
  }
  const result: HealResult = { before, after, firstPlan, rounds: [], unfixed: firstPlan.outcome === 'actions' ? (firstPlan.unfixed ?? []) : [], outcome: 'nothing-to-do', waitedMs };
  if (firstPlan.outcome === 'refused') {
    result.outcome = 'refused';
    result.failure = firstPlan.message;
    return result;
  }
  if (firstPlan.actions.length === 0) {
    // a Redis that does not answer is not "nothing to heal": say which one, and exit non-zero
    const silent = healable(after, opts.only).filter((f) => f.kind === 'node-unreachable');
    // a dry run does not watch: it says what heal would do now, which is nothing
    const left = waitedMs === undefined ? [] : mending(observed, after, opts.only);
    if (silent.length > 0 && !opts.dryRun) {
      result.outcome = 'failed';
      result.failure = remainingFailure(silent);
    } else if (left.length > 0) {
      result.outcome = 'unsettled';
      result.failure = `${left.map((f) => f.message).join('; ')} after watching ${Math.round((waitedMs ?? 0) / 1000)} s, and heal has no action for it`;
    }
    return result;
  }
  if (opts.dryRun) {
    result.outcome = 'dry-run';
    return result;
  }
  if (!(await opts.confirm(firstPlan.actions, observed, after))) {
    result.outcome = 'declined';
    return result;
  }
  // The operator kept out of the way while heal changes Redis (a pause with its own key, resumed at the end).
  const hold = await OperatorHold.take(session.kube, session.ctx, { command: 'heal', opId: randomBytes(4).toString('hex'), noPause: opts.noPause === true, adoptAnyOfCommand: true });
  opts.onHold?.(hold.note, hold.warn);
  const held = hold.holding;
  try {
    return await rounds(session, opts, intent, firstPlan.actions, observed, result);
  } finally {
    await hold.release();
    // the pause that diagnose saw was this run's own, and it is gone now
    if (held) result.after = result.after.filter((f) => f.kind !== 'reconcile-paused');
  }
}

async function rounds(session: TargetSession, opts: HealOptions, intent: Intent, first: Action[], firstObserved: Observed, result: HealResult): Promise<HealResult> {
  const spec = session.ctx.observeInput.spec;
  let observed = firstObserved;
  let actions = first;
  let nextPlan: PlanResult;
  for (let round = 1; round <= opts.maxRounds; round++) {
    if (round > 1) opts.onRound?.(round, actions);
    const report = await applyPlan(firstPhase(actions), observed, {
      observe: () => session.observe(),
      connect: (pod, component) => session.connect(pod, component ?? 'redis'),
      kube: kubeActions(session.kube, spec.namespace),
      redisAuth: spec.auth?.password !== undefined ? { username: spec.auth.username, password: spec.auth.password } : undefined,
      progress: (e) => opts.progress(e, round),
      postconditionTimeoutMs: opts.postconditionTimeoutMs,
    });
    result.rounds.push({ actions: firstPhase(actions), report });
    if (report.failed) {
      result.outcome = 'failed';
      result.failure = `step "${report.failed.action.description}" on ${report.failed.action.pod} failed: ${report.failed.reason}`;
      result.after = diagnose(await session.observe());
      return result;
    }
    ({ observed, next: nextPlan } = await settle(session, intent, opts, (_o, f) => healable(f, opts.only).length === 0));
    const findings = diagnose(observed);
    result.after = findings;
    const next = nextPlan;
    if (next.outcome === 'refused') {
      result.outcome = 'refused';
      result.failure = next.message;
      return result;
    }
    result.unfixed = next.unfixed ?? [];
    if (next.actions.length === 0) {
      result.outcome = healable(findings, opts.only).length === 0 ? 'healthy' : 'rounds-exhausted';
      if (result.outcome === 'rounds-exhausted') result.failure = remainingFailure(healable(findings, opts.only));
      return result;
    }
    actions = next.actions;
  }
  result.outcome = 'rounds-exhausted';
  result.failure = `still planning actions after ${opts.maxRounds} rounds`;
  return result;
}
