// rebalance: grow or shrink a Redis Cluster on the engine. Observe; refuse while heal has work (a slot someone else
// left open, uncovered slots, a node that does not answer); plan (reconcile/rebalance.ts: joins, redis-cli's spread
// by weight, the memory check); then a step table journaled in a ConfigMap as migrate's is: join, replicas, one step
// per chunk of slot moves (a moveSlots action applied through applyPlan, pre- and postconditions re-checked), and
// what becomes of drained masters. Killed half-way, the same command closes the slots its open step left and goes
// on; --abort closes them and stops.
import { randomBytes } from 'node:crypto';
import { RefusedError, RedisError, UsageError, errText } from '../../errors.js';
import { applyPlan, type ApplyEvent } from '../../reconcile/apply.js';
import { clusterPicture, diagnose, memberGroups, toRanges, type Member } from '../../reconcile/diagnose.js';
import { Journal, type JournalDoc } from '../../reconcile/journal.js';
import { ConfigMapJournalBackend } from '../../reconcile/journal-configmap.js';
import { authFailure } from '../../reconcile/observe.js';
import {
  balancePlan, chunkMoves, joinPlan, memoryCheck, type BalanceShare, type JoinStep, type MoveChunk, type SlotMove,
} from '../../reconcile/rebalance.js';
import type { TargetSession } from '../../reconcile/session.js';
import type { Action, Condition, DraftAction, Finding, Observed, PlanRow, Reporter } from '../../reconcile/types.js';
import { localIdentity } from '../../util/identity.js';
import { kubeActions } from '../heal/index.js';
import { OperatorHold } from '../pause/hold.js';

export const OPERATION = 'rebalance';

export interface RebalanceOptions {
  weights: Record<string, number>;
  threshold: number;
  useEmptyMasters: boolean;
  drain: string[];
  afterDrain: 'replica' | 'forget';
  replicasPerMaster?: number;
  pipeline: number;
  maxMemoryPercent: number;
  /** slots per step (one journal record and one postcondition wait each) */
  chunk: number;
  dryRun: boolean;
  resume: boolean;
  abort: boolean;
  stepTimeoutMs: number;
  /** Asked once before the first change; false stops with nothing changed. */
  confirm(question: string, rows: PlanRow[]): Promise<boolean>;
  reporter: Reporter;
  /** slots moved / total, keys moved, an estimate of the time left */
  onMoved?(p: MoveProgress): void;
  /** --no-pause: leave a running operator reconciling while slots move (it may fight the moves). */
  noPause?: boolean;
}

export interface MoveProgress {
  slotsMoved: number;
  slotsTotal: number;
  keysMoved: number;
  /** undefined until a first slot moved */
  msLeft?: number;
}

/** What the plan is, kept in the journal so a re-run finishes the same plan. */
export interface RebalancePlanDoc {
  joins: Array<JoinStep & { id: string; ip: string; port: number; busPort: number; ofId?: string }>;
  chunks: Array<MoveChunk & { keys: number; bytes: number }>;
  /** pods of every master once the joins are done (SETSLOT NODE goes to each) */
  masters: string[];
  /** every pod of the cluster once the joins are done (FORGET goes to each) */
  nodes: string[];
  drained: Array<{ pod: string; id: string; replicas: string[] }>;
  afterDrain: 'replica' | 'forget';
  shares: BalanceShare[];
  slotsTotal: number;
  keysTotal: number;
}

export type RebalanceResult =
  | { kind: 'plan'; target: string; rows: PlanRow[]; plan: RebalancePlanDoc; journal?: string; needed: boolean }
  | { kind: 'nothing'; target: string; shares: BalanceShare[]; threshold: number }
  | { kind: 'cancelled'; target: string }
  | { kind: 'aborted'; target: string; id: string; closed: number[]; slotsMoved: number; slotsTotal: number }
  | { kind: 'done'; target: string; id: string; resumed: boolean; closed: number[]; shares: BalanceShare[]; slotsMoved: number; keysMoved: number; totalMs: number; findings: Finding[] };

/** The journal's ConfigMap for a target: `kubectl-redis-rebalance-sts-cache`. */
export function journalName(ref: string): string {
  return `kubectl-redis-rebalance-${ref.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}`.slice(0, 253);
}

/** Findings heal must fix before slots may move: the layout is not one rebalance can plan on. */
const BLOCKING = ['slots-uncovered', 'slot-multiple-owners', 'node-failed', 'node-unreachable', 'epoch-collision'] as const;

/** One row of the step table: its actions, or (built on the observation right before it runs) a function of it. */
interface Step {
  id: string;
  title: string;
  actions: Action[];
  build?: (o: Observed) => Action[];
}

const stepName = (i: number) => `move-${String(i + 1).padStart(3, '0')}`;

function rangesOf(slots: number[]): Array<[number, number]> {
  return toRanges(slots);
}

function rangeText(slots: number[]): string {
  const r = rangesOf(slots);
  const parts = r.slice(0, 3).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
  return r.length > 3 ? `${parts.join(',')},…` : parts.join(',');
}

/** Slots open (migrating or importing) on any node, with who holds them open. */
function openSlots(o: Observed): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const r of o.redis) {
    const me = r.clusterNodes?.find((e) => e.myself);
    for (const m of me?.migrating ?? []) out.set(m.slot, [...(out.get(m.slot) ?? []), `migrating on ${r.pod}`]);
    for (const i of me?.importing ?? []) out.set(i.slot, [...(out.get(i.slot) ?? []), `importing on ${r.pod}`]);
  }
  return out;
}

export class Rebalance {
  private readonly backend: ConfigMapJournalBackend;
  private readonly name: string;
  private journal?: Journal;
  private hold?: OperatorHold;
  private renewedAt = Date.now();

  constructor(
    private readonly session: TargetSession,
    private readonly opts: RebalanceOptions,
  ) {
    this.backend = new ConfigMapJournalBackend(session.kube, session.target.namespace);
    this.name = journalName(session.target.ref);
  }

  private get ref(): string {
    return this.session.target.ref;
  }

  private journalArgs(): Record<string, unknown> {
    const o = this.opts;
    return { weights: o.weights, threshold: o.threshold, useEmptyMasters: o.useEmptyMasters, drain: [...o.drain].sort(), afterDrain: o.afterDrain, replicasPerMaster: o.replicasPerMaster };
  }

  async execute(): Promise<RebalanceResult> {
    if (this.session.target.topology !== 'cluster') throw new UsageError(`${this.ref} is not a Redis Cluster; rebalance moves Redis Cluster slots`);
    const observed = await this.session.observe();
    const auth = authFailure(observed);
    if (auth) throw new RedisError(auth);
    this.learn(observed);
    const found = await this.backend.load(this.name);
    const live = found && ['running', 'aborting', 'failed'].includes(found.doc.state) ? found.doc : undefined;
    if (live && live.operation !== OPERATION) throw new RefusedError(`${this.ref} is in the middle of ${live.operation} ${live.id}; finish or abort it first`);
    if (this.opts.abort) return this.abort(observed, live);
    if (this.opts.resume && !live) throw new RefusedError(`there is no rebalance of ${this.ref} in progress to resume; run it without --resume to start one`);
    const plan = live ? (live.facts.plan as RebalancePlanDoc) : undefined;
    this.refuseWhileHealNeeded(observed, live);
    if (!plan) this.refuseWhereOperatorUndoes(observed);
    const doc = plan ?? (await this.makePlan(observed));
    if ('kind' in doc) return doc;
    const rows = this.rows(doc, live);
    if (this.opts.dryRun) return { kind: 'plan', target: this.ref, rows, plan: doc, journal: live ? `${live.id} (${live.state}, started by ${live.holder})` : undefined, needed: true };
    const left = rows.filter((r) => r.state !== 'done').length;
    const question = live
      ? `Resume rebalance ${live.id} of ${this.ref} (${left} of ${rows.length} steps left)?`
      : `Rebalance ${this.ref}: ${doc.joins.length > 0 ? `join ${doc.joins.length} pod${doc.joins.length === 1 ? '' : 's'}, ` : ''}move ${doc.slotsTotal} slots (${doc.keysTotal} keys)${doc.drained.length > 0 ? `, drain ${doc.drained.map((d) => d.pod).join(', ')}` : ''}?`;
    if (!(await this.opts.confirm(question, rows))) return { kind: 'cancelled', target: this.ref };
    this.journal = await Journal.open(this.backend, this.name, {
      operation: OPERATION, target: this.ref, holder: localIdentity(), args: this.journalArgs(),
      newId: () => `reb-${randomBytes(4).toString('hex')}`, now: () => new Date(),
    });
    if (!this.journal.resumed) await this.journal.setFact('plan', doc);
    else this.opts.reporter.info(`resuming rebalance ${this.journal.id}: ${rows.filter((r) => r.state === 'done').length} of ${rows.length} steps were done`);
    // the operator kept out of the way while slots move (a pause with its own key, resumed at the end); journaled,
    // so the re-run of an interrupted rebalance adopts its pause and resumes it when it ends
    const hold = await OperatorHold.take(this.session.kube, this.session.ctx, { command: OPERATION, opId: this.journal.id, journal: this.journal, noPause: this.opts.noPause === true });
    if (hold.warn) this.opts.reporter.warn(hold.note);
    else this.opts.reporter.info(hold.note);
    this.hold = hold;
    try {
      return await this.run(doc, rows, observed);
    } finally {
      await hold.release().catch((e: unknown) => this.opts.reporter.warn(`could not resume the operator of ${this.ref}: ${errText(e)}; run kubectl redis resume ${this.ref} -n ${this.session.target.namespace}`));
    }
  }

  private async run(doc: RebalancePlanDoc, rows: PlanRow[], first: Observed): Promise<RebalanceResult> {
    if (!this.journal) throw new Error('rebalance: no journal open');
    let observed = first;
    const started = Date.now();
    const closed = this.journal.resumed ? this.ourOpenSlots(observed, this.journal.snapshot) : [];
    if (closed.length > 0) this.opts.reporter.info(`slot${closed.length === 1 ? '' : 's'} ${rangeText(closed)} left open by the interrupted run: closing ${closed.length === 1 ? 'it' : 'them'} first`);
    let moved = 0;
    let keys = 0;
    const done = doc.chunks.filter((_, i) => this.journal!.isDone(stepName(i))).reduce((n, c) => n + c.slots.length, 0);
    moved = done;
    try {
      const steps = this.steps(doc);
      for (const [i, step] of steps.entries()) {
        if (this.journal.isDone(step.id)) continue;
        this.opts.reporter.step(i + 1, steps.length, step.title);
        await this.journal.started(step.id);
        const moveStart = Date.now();
        if (step.build) observed = await this.session.observe();
        const report = await applyPlan(step.build ? step.build(observed) : step.actions, observed, {
          observe: () => this.session.observe(),
          connect: (pod, component) => this.session.connect(pod, component ?? 'redis'),
          kube: kubeActions(this.session.kube, this.session.target.namespace),
          redisAuth: this.redisAuth(),
          postconditionTimeoutMs: this.opts.stepTimeoutMs,
          progress: (e: ApplyEvent) => {
            if (e.type === 'moved') {
              moved += e.slots;
              keys += e.keys;
              const rate = (moved - done) / Math.max(1, Date.now() - started);
              this.opts.onMoved?.({ slotsMoved: moved, slotsTotal: doc.slotsTotal, keysMoved: keys, msLeft: rate > 0 ? (doc.slotsTotal - moved) / rate : undefined });
            } else if (e.type === 'waiting') this.opts.reporter.info(e.state);
            else if (e.type === 'skip' && step.id.startsWith('move-')) moved += (e.action as Extract<Action, { kind: 'moveSlots' }>).slots?.length ?? 0;
          },
        });
        observed = report.observed;
        if (report.failed) throw new RefusedError(`step ${step.id} (${report.failed.action.description}) failed: ${report.failed.reason}; re-run the same command to close its open slots and go on, or --abort`);
        await this.journal.done(step.id, `${Math.round((Date.now() - moveStart) / 100) / 10} s`);
        // a long rebalance keeps its hold's `until` ahead, so a crashed run's pause still visibly expires
        if (this.hold && Date.now() - this.renewedAt > 60_000) {
          this.renewedAt = Date.now();
          await this.hold.renew();
        }
      }
      await this.journal.finish('done');
    } catch (e) {
      await this.journal.fail(errText(e)).catch(() => undefined);
      throw e;
    }
    const after = await this.session.observe();
    return {
      kind: 'done', target: this.ref, id: this.journal.id, resumed: this.journal.resumed, closed, shares: this.shares(after, doc),
      slotsMoved: doc.slotsTotal, keysMoved: keys, totalMs: Date.now() - started, findings: diagnose(after),
    };
  }

  private redisAuth(): { username?: string; password: string } | undefined {
    const auth = this.session.ctx.observeInput.spec.auth;
    return auth?.password !== undefined ? { username: auth.username, password: auth.password } : undefined;
  }

  /** Slots of this run's started-but-not-done move steps that a node holds open. */
  private ourOpenSlots(o: Observed, doc: JournalDoc): number[] {
    const plan = doc.facts.plan as RebalancePlanDoc | undefined;
    if (!plan) return [];
    const open = openSlots(o);
    return plan.chunks.flatMap((c, i) => (doc.steps[stepName(i)]?.status === 'started' ? c.slots.filter((s) => open.has(s)) : []));
  }

  /** Heal's findings come first: a slot open that is not this run's, or a layout slots cannot move in. */
  private refuseWhileHealNeeded(o: Observed, live: JournalDoc | undefined): void {
    const ours = new Set(live ? this.ourOpenSlots(o, live) : []);
    const foreign = [...openSlots(o)].filter(([s]) => !ours.has(s));
    if (foreign.length > 0) {
      const [s, where] = foreign[0];
      throw new RefusedError(
        `slot ${s} is open (${where.join(', ')})${foreign.length > 1 ? ` and ${foreign.length - 1} more` : ''}, and not by a rebalance of this target: that is heal's finding; run kubectl redis heal ${this.ref} -n ${this.session.target.namespace} --only open-slot first, then rebalance`,
      );
    }
    const blocking = diagnose(o).filter((f) => (BLOCKING as readonly string[]).includes(f.kind));
    if (blocking.length > 0) {
      throw new RefusedError(`${blocking[0].message}; slots cannot move safely until that is fixed: run kubectl redis heal ${this.ref} -n ${this.session.target.namespace} first, then rebalance`);
    }
  }

  /**
   * An OT RedisCluster's operator (OT-CONTAINER-KIT/redis-operator controllers/rediscluster_controller.go, v0.15 to
   * v0.21) moves slots itself in three cases, and would undo a layout that makes one of them true once it reconciles
   * again: a leader with no slots (CheckIfEmptyMasters -> RebalanceRedisClusterEmptyMasters, `redis-cli --cluster
   * rebalance --cluster-use-empty-masters`, which spreads every slot evenly again), fewer leaders in the cluster than
   * spec.clusterSize (AddRedisNodeToCluster adds the missing ones back, then the same rebalance), and more masters
   * than spec.clusterSize (the downscale branch reshards the last leader's slots to leader-0). It adds new leaders
   * and followers itself when spec.clusterSize grows. So on an OT RedisCluster rebalance refuses to drain (or weigh
   * 0) a master and to join pods itself; weights above 0 among its leaders it keeps.
   */
  private refuseWhereOperatorUndoes(o: Observed): void {
    const t = this.session.target;
    if (t.system !== 'ot' || t.kind !== 'RedisCluster') return;
    const zero = [...this.opts.drain, ...Object.entries(this.opts.weights).filter(([, w]) => w === 0).map(([p]) => p)];
    if (zero.length > 0) {
      throw new RefusedError(
        `the OT operator would undo draining ${zero[0]}: a leader left without slots gets them back (CheckIfEmptyMasters, then redis-cli --cluster rebalance --cluster-use-empty-masters) and a forgotten one is added back (AddRedisNodeToCluster); to shrink ${this.ref} lower spec.clusterSize and the operator moves the removed leaders' slots itself`,
      );
    }
    const [, ...outside] = memberGroups(clusterPicture(o));
    if (outside.flat().length > 0) {
      throw new RefusedError(`pods ${outside.flat().map((m) => m.pod).join(', ')} of ${this.ref} are not in the cluster yet; the OT operator joins new leaders and followers itself (AddRedisNodeToCluster, add-node --cluster-slave): wait until kubectl redis status ${this.ref} shows them joined, then rebalance`);
    }
  }

  /** The first plan: who joins as what, which slots go where, whether the receivers have the memory. */
  private async makePlan(o: Observed): Promise<RebalancePlanDoc | RebalanceResult> {
    const pic = clusterPicture(o);
    const [main = [], ...rest] = memberGroups(pic);
    if (main.length === 0) throw new RefusedError(`no Redis of ${this.ref} answers as a cluster member; run kubectl redis status ${this.ref} to see why`);
    const outsiders = rest.flat();
    const notFresh = outsiders.filter((m) => m.view.length > 1 || m.self.slots.length > 0 || (m.fact.dbsize ?? 0) > 0);
    if (notFresh.length > 0) {
      throw new RefusedError(`pod ${notFresh[0].pod} is not in the cluster but is not a fresh node either (it knows other nodes, owns slots or holds keys); run kubectl redis heal ${this.ref} first`);
    }
    const masters = main.filter((m) => m.self.role === 'master');
    const replicasOf = (id: string) => main.filter((r) => r.self.role === 'replica' && r.self.masterId === id);
    const rpm = this.opts.replicasPerMaster ?? this.session.target.expected?.replicasPerMaster ?? Math.round((main.length - masters.length) / Math.max(1, masters.length));
    const joinSteps = joinPlan(
      outsiders.map((m) => ({ pod: m.pod, node: m.nodeName })),
      masters.map((m) => ({ pod: m.pod, id: m.id, node: m.nodeName, replicaNodes: replicasOf(m.id).map((r) => r.nodeName) })),
      rpm,
    );
    const byPod = new Map<string, Member>(pic.members.map((m) => [m.pod, m]));
    const joins = joinSteps.map((j) => {
      const m = byPod.get(j.pod)!;
      return { ...j, id: m.id, ip: m.ip, port: m.port, busPort: m.busPort, ...(j.as === 'replica' ? { ofId: byPod.get(j.of)!.id } : {}) };
    });
    const joinedMasters = joins.filter((j) => j.as === 'master').map((j) => byPod.get(j.pod)!);
    const allMasters = [...masters, ...joinedMasters];
    for (const p of this.opts.drain) {
      if (!byPod.has(p)) throw new UsageError(`--drain names pod "${p}", which is not a pod of ${this.ref}`);
    }
    const balance = balancePlan({
      masters: allMasters.map((m) => ({ pod: m.pod, id: m.id, slots: slotList(m), joined: joinedMasters.includes(m) })),
      weights: this.opts.weights, drain: this.opts.drain, useEmptyMasters: this.opts.useEmptyMasters, threshold: this.opts.threshold,
    });
    if (balance.outcome === 'refused') {
      if (balance.reason === 'usage') throw new UsageError(balance.message.replace('which is not a master of the target', `which is not a master of ${this.ref}`));
      throw new RefusedError(balance.message);
    }
    if (balance.moves.length === 0 && joins.length === 0) return { kind: 'nothing', target: this.ref, shares: balance.shares, threshold: this.opts.threshold };
    // keys per slot to move (asked of each source at once) and each source's bytes per key, for the memory check
    const keysBySlot = await this.countKeys(balance.moves);
    // bytes per key from what the keys take (used_memory_dataset), not used_memory: an almost empty master's ~2 MB of
    // server overhead spread over its few keys would make every slot look huge and refuse for nothing
    const bytesPerKey = new Map(allMasters.map((m) => [m.pod, m.fact.dbsize ? (m.fact.datasetMemory ?? m.fact.usedMemory ?? 0) / m.fact.dbsize : 0]));
    const slotBytes = (mv: SlotMove) => Math.ceil((keysBySlot.get(mv.slot) ?? 0) * (bytesPerKey.get(mv.fromPod) ?? 0));
    const facts = allMasters.map((m) => ({ pod: m.pod, usedMemory: m.fact.usedMemory, maxMemory: m.fact.maxMemory }));
    const refusal = memoryCheck(balance.moves, facts, slotBytes, this.opts.maxMemoryPercent);
    if (refusal) throw new RefusedError(`${refusal.message}; nothing was moved`);
    const chunks = chunkMoves(balance.moves, this.opts.chunk).map((c) => {
      const mv = (s: number): SlotMove => ({ slot: s, fromPod: c.fromPod, fromId: c.fromId, toPod: c.toPod, toId: c.toId });
      return { ...c, keys: c.slots.reduce((n, s) => n + (keysBySlot.get(s) ?? 0), 0), bytes: c.slots.reduce((n, s) => n + slotBytes(mv(s)), 0) };
    });
    const drained = this.opts.drain.map((p) => ({ pod: p, id: byPod.get(p)!.id, replicas: replicasOf(byPod.get(p)!.id).map((r) => r.pod) }));
    return {
      joins, chunks, masters: allMasters.map((m) => m.pod).sort(), nodes: [...main.map((m) => m.pod), ...joins.map((j) => j.pod)].sort(), drained, afterDrain: this.opts.afterDrain, shares: balance.shares,
      slotsTotal: balance.moves.length, keysTotal: chunks.reduce((n, c) => n + c.keys, 0),
    };
  }

  private async countKeys(moves: SlotMove[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    const bySource = new Map<string, number[]>();
    for (const m of moves) bySource.set(m.fromPod, [...(bySource.get(m.fromPod) ?? []), m.slot]);
    await Promise.all([...bySource].map(async ([pod, slots]) => {
      const n = await this.session.connect(pod);
      const counts = await n.batch(() => Promise.all(slots.map((s) => n.countKeysInSlot(s))));
      slots.forEach((s, i) => out.set(s, Number(counts[i])));
    }));
    return out;
  }

  /** The step table: join, replicas, one step per chunk of moves, then what becomes of drained masters. */
  private steps(doc: RebalancePlanDoc): Step[] {
    const out: Step[] = [];
    const o = { seq: 0 };
    const act = (a: DraftAction): Action => ({ ...a, id: `${++o.seq}-${a.kind}` }) as Action;
    const anchor = doc.masters.find((p) => !doc.joins.some((j) => j.pod === p)) ?? doc.masters[0];
    if (doc.joins.length > 0) {
      out.push({
        id: 'join', title: `CLUSTER MEET ${doc.joins.map((j) => j.pod).join(', ')}`,
        actions: doc.joins.map((j) => act({
          kind: 'clusterMeet', pod: anchor, ip: j.ip, port: j.port, busPort: j.busPort, why: 'pod-not-in-cluster', risk: 'safe',
          description: `CLUSTER MEET ${j.ip}:${j.port} on ${anchor} (${j.pod} joins)`,
          precondition: [{ type: 'reachable', pod: anchor }, { type: 'reachable', pod: j.pod }],
          // every master must know it before a slot can be given to it (SETSLOT NODE names it on each)
          postcondition: [
            ...doc.masters.filter((p) => p !== j.pod).map((p): Condition => ({ type: 'nodeKnown', observerPod: p, nodeId: j.id, address: `${j.ip}:${j.port}` })),
            // and it has learnt every slot's owner: until then it answers CLUSTERDOWN, to MIGRATE's RESTORE too
            { type: 'clusterOk', pod: j.pod },
          ],
        })),
      });
    }
    const replicas = doc.joins.filter((j) => j.as === 'replica');
    if (replicas.length > 0) {
      out.push({
        id: 'replicas', title: `CLUSTER REPLICATE ${replicas.map((j) => `${j.pod} -> ${j.as === 'replica' ? j.of : ''}`).join(', ')}`,
        actions: replicas.map((j) => act({
          kind: 'clusterReplicate', pod: j.pod, masterId: j.ofId!, why: 'pod-not-in-cluster', risk: 'safe',
          description: `CLUSTER REPLICATE ${j.ofId!.slice(0, 8)} on ${j.pod} (replica of ${j.as === 'replica' ? j.of : ''})`,
          precondition: [{ type: 'reachable', pod: j.pod }],
          postcondition: [{ type: 'replicaOf', pod: j.pod, masterId: j.ofId! }],
        })),
      });
    }
    doc.chunks.forEach((c, i) => {
      const ranges = rangesOf(c.slots);
      const to = doc.joins.find((j) => j.pod === c.toPod);
      out.push({
        id: stepName(i), title: `move ${c.slots.length} slot${c.slots.length === 1 ? '' : 's'} (${rangeText(c.slots)}, ${c.keys} keys) from ${c.fromPod} to ${c.toPod}`,
        actions: [act({
          kind: 'moveSlots', pod: c.fromPod, slots: c.slots, fromNodeId: c.fromId, toPod: c.toPod, toNodeId: c.toId,
          toAddress: this.addressOf(c.toPod, to), masters: doc.masters, pipeline: this.opts.pipeline, why: 'open-slot', risk: 'safe',
          description: `move slots ${rangeText(c.slots)} from ${c.fromPod} to ${c.toPod}`,
          precondition: [
            { type: 'role', pod: c.fromPod, equals: 'master' }, { type: 'role', pod: c.toPod, equals: 'master' }, { type: 'clusterOk', pod: c.toPod },
            { type: 'slotsOwnedBy', observerPod: c.fromPod, ranges, nodeIds: [c.fromId, c.toId] },
            { type: 'memoryRoom', pod: c.toPod, bytes: c.bytes, percent: this.opts.maxMemoryPercent },
          ],
          postcondition: [
            { type: 'slotsOwned', pod: c.toPod, ranges }, { type: 'slotsOwnedBy', observerPod: c.fromPod, ranges, nodeIds: [c.toId] },
            { type: 'slotsStable', pod: c.toPod, ranges }, { type: 'slotsStable', pod: c.fromPod, ranges },
          ],
        })],
      });
    });
    for (const d of doc.drained) {
      if (doc.afterDrain === 'forget') {
        out.push({
          id: `forget-${d.pod}`, title: `CLUSTER FORGET ${d.pod}${d.replicas.length > 0 ? ` and its replica${d.replicas.length === 1 ? '' : 's'} ${d.replicas.join(', ')}` : ''} on every other node`,
          actions: [],
          // Built on the observation right before the step: by then Redis may have made the emptied master a replica
          // of the node that took its last slot, and its replicas followed (cluster-allow-replica-migration). Every
          // node that still knows it must forget it, inside FORGET's 60 s ban, or gossip from one that did not
          // brings it back (seen: a replica left out re-introduced it to all six after the ban).
          build: (o: Observed) => {
            const pic = clusterPicture(o);
            const followers = pic.members.filter((m) => m.self.role === 'replica' && m.self.masterId === d.id).map((m) => m.pod);
            const gone = [...new Set([d.pod, ...d.replicas, ...followers])];
            const observers = pic.members.filter((m) => !gone.includes(m.pod)).map((m) => m.pod);
            const ids = gone.map((p) => (p === d.pod ? d.id : pic.members.find((m) => m.pod === p)?.id)).filter((x): x is string => !!x);
            const keep = pic.members.filter((m) => !gone.includes(m.pod) && m.self.role === 'master' && m.self.slots.length > 0).map((m) => m.id);
            return ids.map((id) => act({
              kind: 'clusterForget', pod: observers[0], pods: observers, nodeId: id, why: 'node-forgotten', risk: 'safe',
              description: `CLUSTER FORGET ${id.slice(0, 8)} on ${observers.length} nodes`,
              precondition: [{ type: 'slotsOwnedBy', observerPod: observers[0], ranges: [[0, 16383]], nodeIds: keep }],
              postcondition: observers.map((p): Condition => ({ type: 'nodeNotKnown', observerPod: p, nodeId: id })),
            }));
          },
        });
      } else {
        const stay = doc.shares.filter((s) => s.pod !== d.pod && s.weight > 0).sort((a, b) => a.pod.localeCompare(b.pod))[0];
        if (!stay) continue;
        out.push({
          id: `replica-${d.pod}`, title: `make ${d.pod} a replica of ${stay.pod}`,
          actions: [act({
            kind: 'clusterReplicate', pod: d.pod, masterId: stay.id, why: 'master-without-replica', risk: 'safe',
            description: `CLUSTER REPLICATE ${stay.id.slice(0, 8)} on ${d.pod} (drained)`,
            precondition: [{ type: 'reachable', pod: d.pod }],
            // Redis 7 may have made it a replica of the master that took its last slot already (cluster-allow-replica-migration)
            postcondition: [{ type: 'role', pod: d.pod, equals: 'replica' }],
          })],
        });
      }
    }
    return out;
  }

  private ids = new Map<string, string>();

  private idOfPod(pod: string): string | undefined {
    return this.ids.get(pod);
  }

  private addressOf(pod: string, joined?: { ip: string; port: number }): string {
    if (joined) return `${joined.ip}:${joined.port}`;
    return this.addresses.get(pod) ?? '';
  }

  private addresses = new Map<string, string>();

  /** Remember every member's node id and address from an observation (steps are built from the plan and these). */
  private learn(o: Observed): void {
    for (const m of clusterPicture(o).members) {
      this.ids.set(m.pod, m.id);
      this.addresses.set(m.pod, `${m.ip}:${m.port}`);
    }
  }

  private rows(doc: RebalancePlanDoc, live: JournalDoc | undefined): PlanRow[] {
    return this.steps(doc).map((s, i) => ({
      n: i + 1, step: s.id, action: s.title,
      state: live?.steps[s.id]?.status === 'done' ? 'done' : live?.steps[s.id]?.status === 'started' ? 'in progress' : 'to do',
    }));
  }

  private shares(o: Observed, doc: RebalancePlanDoc): BalanceShare[] {
    const pic = clusterPicture(o);
    return doc.shares.map((s) => {
      const m = pic.members.find((x) => x.pod === s.pod);
      return { ...s, after: m ? slotList(m).length : s.after };
    });
  }

  /** --abort: close the slots the interrupted step left open (finishing their move: no key is stranded) and stop. */
  private async abort(observed: Observed, live: JournalDoc | undefined): Promise<RebalanceResult> {
    if (!live || live.operation !== OPERATION) throw new RefusedError(`there is no rebalance of ${this.ref} in progress to abort`);
    const doc = live.facts.plan as RebalancePlanDoc;
    this.learn(observed);
    const open = this.ourOpenSlots(observed, live);
    const moved = doc.chunks.filter((_, i) => live.steps[stepName(i)]?.status === 'done').reduce((n, c) => n + c.slots.length, 0);
    if (this.opts.dryRun) {
      return { kind: 'plan', target: this.ref, rows: open.length > 0 ? [{ n: 1, step: 'close', action: `close slots ${rangeText(open)} (finish their move)`, state: 'to do' }] : [], plan: doc, journal: `${live.id} (${live.state})`, needed: open.length > 0 };
    }
    if (!(await this.opts.confirm(`Abort rebalance ${live.id} of ${this.ref}${open.length > 0 ? `, closing ${open.length} open slot${open.length === 1 ? '' : 's'}` : ''}?`, []))) return { kind: 'cancelled', target: this.ref };
    this.journal = await Journal.open(this.backend, this.name, {
      operation: OPERATION, target: this.ref, holder: localIdentity(), args: this.journalArgs(), abort: true,
      newId: () => live.id, now: () => new Date(),
    });
    // the interrupted run's pause (journaled) is adopted and resumed at the end, as a completed run would
    const hold = await OperatorHold.take(this.session.kube, this.session.ctx, { command: OPERATION, opId: live.id, journal: this.journal, noPause: this.opts.noPause === true });
    try {
      return await this.closeAndStop(observed, live, doc, open, moved);
    } finally {
      await hold.release().catch((e: unknown) => this.opts.reporter.warn(`could not resume the operator of ${this.ref}: ${errText(e)}; run kubectl redis resume ${this.ref} -n ${this.session.target.namespace}`));
    }
  }

  private async closeAndStop(observed: Observed, live: JournalDoc, doc: RebalancePlanDoc, open: number[], moved: number): Promise<RebalanceResult> {
    if (!this.journal) throw new Error('rebalance: no journal open');
    const actions = doc.chunks.flatMap((c, i) => {
      if (live.steps[stepName(i)]?.status !== 'started') return [];
      const slots = c.slots.filter((s) => open.includes(s));
      if (slots.length === 0) return [];
      const ranges = rangesOf(slots);
      return [{
        id: `${i + 1}-moveSlots`, kind: 'moveSlots', pod: c.fromPod, slots, fromNodeId: c.fromId, toPod: c.toPod, toNodeId: c.toId,
        toAddress: this.addressOf(c.toPod), masters: doc.masters, pipeline: this.opts.pipeline, why: 'open-slot', risk: 'safe',
        description: `close slots ${rangeText(slots)} (finish their move from ${c.fromPod} to ${c.toPod})`,
        precondition: [{ type: 'reachable', pod: c.fromPod }, { type: 'reachable', pod: c.toPod }],
        postcondition: [{ type: 'slotsStable', pod: c.toPod, ranges }, { type: 'slotsStable', pod: c.fromPod, ranges }, { type: 'slotsOwned', pod: c.toPod, ranges }],
      } satisfies Action];
    });
    if (actions.length > 0) {
      this.opts.reporter.step(1, 1, `close slot${open.length === 1 ? '' : 's'} ${rangeText(open)}`);
      const report = await applyPlan(actions, observed, {
        observe: () => this.session.observe(), connect: (pod, component) => this.session.connect(pod, component ?? 'redis'),
        kube: kubeActions(this.session.kube, this.session.target.namespace), redisAuth: this.redisAuth(),
        postconditionTimeoutMs: this.opts.stepTimeoutMs, progress: (e) => e.type === 'waiting' && this.opts.reporter.info(e.state),
      });
      if (report.failed) throw new RefusedError(`closing slots ${rangeText(open)} failed: ${report.failed.reason}; run kubectl redis heal ${this.ref} --only open-slot`);
    }
    await this.journal.finish('aborted');
    return { kind: 'aborted', target: this.ref, id: live.id, closed: open, slotsMoved: moved + open.length, slotsTotal: doc.slotsTotal };
  }

}

function slotList(m: Member): number[] {
  const out: number[] = [];
  for (const [a, b] of m.self.slots) for (let s = a; s <= b; s++) out.push(s);
  return out;
}
