// migrate as a step machine (WORKFLOWS.md, seed 003): move a Redis Cluster's StatefulSets from one Kubernetes cluster
// to another one ordinal at a time, highest first, with .spec.ordinals.start (KEP-3335), so at most one pod of each
// identity ever runs and every acknowledged write survives:
//   preflight -> pause the operator -> copy Secrets/Services/PDBs (and the operator's resource, paused) -> create the
//   destination StatefulSets with 0 replicas -> per ordinal: fail over if master, Retain its PVs, scale the source
//   down, copy PV+PVC, patch the destination's ordinals.start/replicas, wait until it joins with the same node id
//   -> verify from every node -> resume the destination's operator.
// Every step is idempotent and journaled in a ConfigMap on the source cluster: the same command run again resumes at
// the first step not recorded done; --abort walks the ordinals back to the source and deletes what migrate created.
import type { PlanRow, Reporter } from '../../reconcile/types.js';
import { randomBytes } from 'node:crypto';
import { localIdentity } from '../../util/identity.js';
import { KubectlRedisError, KubeError, RedisError, RefusedError, errText } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { deleteObject } from '../../kube/delete.js';
import { patchObject } from '../../kube/patch.js';
import type { KubeObject } from '../../kube/types.js';
import { notYet, waitFor } from '../../kube/wait.js';
import { Journal, type JournalDoc } from '../../reconcile/journal.js';
import { ConfigMapJournalBackend } from '../../reconcile/journal-configmap.js';
import type { RedisNode } from '../../redis/connect.js';
import { resolveTarget, type Target } from '../../targets/index.js';
import { targetContext, type TargetContext } from '../../reconcile/session.js';
import { migrationSupport, type MigrationProfile } from '../../targets/migration.js';
import { applyPause, preparePause, prepareResume } from '../pause/index.js';
import {
  claimNames, ensureCreated, podIp, podRunning, refOf, resourceOf, RES, selects, stsRange, templateLabels, templateReferences, type CreatedRef,
} from './kube.js';
import {
  copyableConfig, copyableOwner, copyablePv, copyablePvc, copyableService, destinationStatefulSet, migrationSteps, ordinalSteps, ownedBy, podName, stepId,
  type MigrationStep, type MovingSet,
} from './objects.js';
import { abortOrder, clusterProblems, describeStep, destinationAfterReturn, mastersOf, placeOf, type ExpectedNode, type Sides } from './plan.js';
import { preflight, type Check } from './preflight.js';
import { TwoSides, type PodAt, type SideName } from './redis.js';
import type { ConnectOverrides } from '../../reconcile/session.js';

export const OPERATION = 'migrate';

export interface MigrateRequest {
  /** As the user typed it: sts/cache, rediscluster/orders. */
  target: string;
  namespace: string;
  toNamespace: string;
  from: KubeClient;
  to: KubeClient;
  dryRun: boolean;
  resume: boolean;
  abort: boolean;
  direct: boolean;
  connect?: ConnectOverrides;
  stepTimeoutMs: number;
}

export interface MigrateDeps {
  reporter: Reporter;
  /** Asked once before anything changes (the checks and the plan were reported); false = stop, nothing changed. */
  confirm(question: string, checks: Check[], plan: PlanRow[]): Promise<boolean>;
  pollMs?: number;
  now?: () => Date;
}

export interface MovedPod {
  pod: string;
  nodeId: string;
  role: string;
  fromIp?: string;
  toIp?: string;
  tookMs?: number;
}

export type MigrateOutcome =
  | { kind: 'plan'; target: string; checks: Check[]; rows: PlanRow[]; journal?: string }
  | { kind: 'cancelled'; checks: Check[]; rows: PlanRow[] }
  | { kind: 'done'; target: string; id: string; resumed: boolean; pods: MovedPod[]; totalMs: number; notes: string[] }
  | { kind: 'aborted'; target: string; id: string; returned: string[]; notes: string[] };

interface MoveTiming {
  startedAt?: string;
  endedAt?: string;
  fromIp?: string;
  toIp?: string;
}

const short = (id: string) => id.slice(0, 8);


/** The journal's ConfigMap name for a target: `kubectl-redis-migrate-sts-cache`. */
export function journalName(target: Pick<Target, 'ref'>): string {
  return `kubectl-redis-migrate-${target.ref.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}`.slice(0, 253);
}

export class Migration {
  private readonly r: Reporter;
  private readonly pollMs: number;
  private readonly now: () => Date;
  private target!: Target;
  private tctx!: TargetContext;
  private profile!: MigrationProfile;
  private sides!: TwoSides;
  private journal?: Journal;
  private sets: MovingSet[] = [];
  private readonly sourceSets = new Map<string, KubeObject>();

  constructor(
    private readonly req: MigrateRequest,
    private readonly deps: MigrateDeps,
  ) {
    this.r = deps.reporter;
    this.pollMs = deps.pollMs ?? 500;
    this.now = deps.now ?? (() => new Date());
  }

  private get from(): KubeClient {
    return this.req.from;
  }
  private get to(): KubeClient {
    return this.req.to;
  }
  private get ns(): string {
    return this.req.namespace;
  }
  private get toNs(): string {
    return this.req.toNamespace;
  }
  private get sidesText(): Sides {
    return { from: this.from.context, to: this.to.context, namespace: this.ns, toNamespace: this.toNs };
  }

  async close(): Promise<void> {
    await this.sides?.close();
  }

  // ---------------------------------------------------------------- entry

  async execute(): Promise<MigrateOutcome> {
    if (this.from.server === this.to.server) {
      throw new RefusedError(`--to-context ${this.to.context} is the same cluster as the source (${this.from.context}, ${this.from.server}): migrate moves a StatefulSet between two clusters`, {
        hint: 'name the destination cluster\'s context with --to-context (kubectl config get-contexts lists them)',
      });
    }
    this.target = await resolveTarget(this.from, this.req.target, this.ns);
    const support = migrationSupport(this.target);
    if (!support.supported) throw new RefusedError(support.why);
    this.profile = support.profile;
    this.tctx = await targetContext(this.from, this.target, this.req.connect);
    const spec = this.tctx.observeInput.spec;
    const podNames = new RegExp(`^(${this.profile.statefulSets.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})-\\d+$`);
    this.sides = new TwoSides(
      { name: 'source', kube: this.from, namespace: this.ns },
      { name: 'destination', kube: this.to, namespace: this.toNs },
      { auth: spec.auth, tls: spec.tls, podDomains: spec.podDomains, secretHint: spec.secretHint, port: spec.redisPort, timeoutMs: 5000, direct: this.req.direct },
      (name) => podNames.test(name),
    );
    for (const name of this.profile.statefulSets) {
      const sts = await this.from.get(RES.statefulsets, this.ns, name);
      if (!sts) throw new RefusedError(`StatefulSet ${this.ns}/${name} of ${this.target.ref} does not exist in ${this.from.context}; the operator has not created it yet`);
      this.sourceSets.set(name, sts);
    }

    const backend = new ConfigMapJournalBackend(this.from, this.ns);
    const name = journalName(this.target);
    const found = await backend.load(name);
    const live = found && ['running', 'aborting', 'failed'].includes(found.doc.state) ? found.doc : undefined;
    if (live && live.operation !== OPERATION) throw new RefusedError(`${this.target.ref} is in the middle of ${live.operation} ${live.id}; finish or abort it first`);
    if (this.req.resume && !live) throw new RefusedError(`there is no migrate of ${this.target.ref} in progress in ${this.from.context} to resume`);
    if (this.req.abort) return this.abort(backend, name, live);
    if (live?.state === 'aborting') throw new RefusedError(`migrate ${live.id} of ${this.target.ref} is being aborted; finish the abort first (re-run with --abort)`);

    this.sets = live
      ? ((live.facts.sets as MovingSet[] | undefined) ?? [])
      : this.profile.statefulSets.map((n) => ({ name: n, ...(stsRange(this.sourceSets.get(n)) ?? { start: 0, replicas: 0 }) }));
    if (live) this.checkSameDestination(live);
    const steps = migrationSteps(this.sets);
    const rows = this.planRows(steps, live);

    const fresh = !live;
    let nodeIds: Record<string, string> = {};
    let masters = 0;
    const checks = await preflight({
      from: this.from, to: this.to, namespace: this.ns, toNamespace: this.toNs,
      statefulSets: [...this.sourceSets.values()],
      destinationSets: this.sets.map((s) => this.destinationSet(s, undefined)),
      ...this.references(),
      ownerResource: this.profile.owner ? this.target.resource : undefined,
      pauseProblem: this.pauseProblem(),
      resuming: !fresh,
      redis: fresh
        ? async () => {
          const pods = (await this.sides.runningPods()).filter((p) => p.side === 'source');
          const want = this.sets.flatMap((s) => Array.from({ length: s.replicas }, (_, i) => podName(s.name, s.start + i)));
          const missing = want.filter((w) => !pods.some((p) => p.name === w));
          const { views, unreachable } = await this.sides.views(pods);
          nodeIds = Object.fromEntries(views.map((v) => [v.pod, v.entries.find((e) => e.myself)?.id ?? '']));
          masters = mastersOf(views).size;
          const expected: ExpectedNode[] = views.map((v) => ({ pod: v.pod, id: nodeIds[v.pod], ip: pods.find((p) => p.name === v.pod)?.ip }));
          return { views, unreachable, expected, missing };
        }
        : undefined,
    });
    const failed = checks.filter((c) => c.result === 'fail');
    if (this.req.dryRun) return { kind: 'plan', target: this.target.ref, checks, rows, journal: live ? `${live.id} (${live.state}, started by ${live.holder})` : undefined };
    if (failed.length > 0) {
      throw new RefusedError(`preflight of migrate ${this.target.ref} to ${this.to.context} failed: ${failed[0].detail}${failed.length > 1 ? ` (and ${failed.length - 1} more check${failed.length > 2 ? 's' : ''})` : ''}`);
    }
    const pods = this.sets.reduce((n, s) => n + s.replicas, 0);
    const question = live
      ? `Resume migrate ${live.id} of ${this.target.ref} from ${this.from.context} to ${this.to.context} (${rows.filter((r) => r.state !== 'done').length} steps left)?`
      : `Migrate ${this.target.ref} (${pods} pods) from ${this.from.context}/${this.ns} to ${this.to.context}/${this.toNs}, one pod at a time?`;
    if (!(await this.deps.confirm(question, checks, rows))) return { kind: 'cancelled', checks, rows };

    this.journal = await Journal.open(backend, name, {
      operation: OPERATION, target: this.target.ref, holder: localIdentity(), args: this.journalArgs(),
      newId: () => `mig-${randomBytes(4).toString('hex')}`, now: this.now,
    });
    if (!this.journal.resumed) {
      await this.journal.setFact('sets', this.sets);
      await this.journal.setFact('nodeIds', nodeIds);
      await this.journal.setFact('masters', masters);
    } else {
      this.r.info(`resuming migrate ${this.journal.id}: ${rows.filter((r) => r.state === 'done').length} of ${rows.length} steps were done`);
    }
    const started = Date.now();
    try {
      const notes: string[] = [];
      for (const [i, step] of steps.entries()) {
        const id = stepId(step);
        if (this.journal.isDone(id)) {
          // done by a run that was killed before it could say so: the note still belongs in this run's result
          if (step.kind === 'resume') notes.push(...this.resumeNotes());
          continue;
        }
        this.r.step(i + 1, steps.length, describeStep(step, this.sidesText, this.target.ref));
        await this.journal.started(id);
        const detail = await this.runStep(step, notes);
        if (detail) this.r.info(detail);
        await this.journal.done(id, detail);
      }
      await this.journal.finish('done');
      return { kind: 'done', target: this.target.ref, id: this.journal.id, resumed: this.journal.resumed, pods: await this.summary(), totalMs: this.totalMs(started), notes };
    } catch (e) {
      await this.journal.fail(errText(e)).catch(() => undefined);
      // a step's own hint already says what to do next; an API failure's hint (check the cluster is up) does not
      // say the migration is half done and resumable, so it is kept and the re-run is named after it
      if (e instanceof KubectlRedisError && e.hint && !(e instanceof KubeError)) throw e;
      const first = e instanceof KubeError && e.hint ? `${e.hint}, then ` : '';
      throw new KubectlRedisError(`migrate ${this.journal.id} of ${this.target.ref} stopped: ${errText(e)}`, {
        cause: e, exitCode: e instanceof KubectlRedisError ? e.exitCode : undefined,
        hint: `${first}re-run the same command to resume where it stopped, or add --abort to move every pod back to ${this.from.context}`,
      });
    }
  }

  private journalArgs(): Record<string, unknown> {
    return { toContext: this.to.context, toServer: this.to.server, toNamespace: this.toNs };
  }

  private checkSameDestination(doc: JournalDoc): void {
    const a = doc.args;
    if (a.toServer !== this.to.server || a.toNamespace !== this.toNs) {
      throw new RefusedError(`migrate ${doc.id} of ${doc.target} is moving it to ${String(a.toContext)} namespace ${String(a.toNamespace)}; re-run with --to-context ${String(a.toContext)} --to-namespace ${String(a.toNamespace)} to resume, or --abort it`);
    }
  }

  private planRows(steps: MigrationStep[], live: JournalDoc | undefined): PlanRow[] {
    return steps.map((s, i) => {
      const rec = live?.steps[stepId(s)];
      return { n: i + 1, step: stepId(s), state: rec?.status === 'done' ? 'done' : rec?.status === 'started' ? 'in progress' : 'to do', action: describeStep(s, this.sidesText, this.target.ref) };
    });
  }

  private references(): { secrets: string[]; configMaps: string[] } {
    const secrets = new Set<string>();
    const configMaps = new Set<string>();
    if (this.target.passwordSecret) secrets.add(this.target.passwordSecret.name);
    if (this.target.tlsSecret) secrets.add(this.target.tlsSecret.name);
    for (const sts of this.sourceSets.values()) {
      const r = templateReferences(sts);
      r.secrets.forEach((s) => secrets.add(s));
      r.configMaps.forEach((c) => configMaps.add(c));
    }
    return { secrets: [...secrets].sort(), configMaps: [...configMaps].sort() };
  }

  private pauseProblem(): string | undefined {
    const m = this.tctx.mechanism;
    if (!this.profile.owner) return undefined;
    if (m.type === 'none') return `${this.target.ref}'s operator cannot be paused (${m.why}); migrate needs it paused on both sides`;
    return undefined;
  }

  /** The destination StatefulSet as migrate creates it: no replicas, ordinals past the end, the target's template. */
  private destinationSet(set: MovingSet, owner: KubeObject | undefined): KubeObject {
    const src = this.sourceSets.get(set.name);
    if (!src) throw new Error(`no source StatefulSet ${set.name}`);
    let d = destinationStatefulSet(src, this.toNs);
    d.spec = { ...(d.spec ?? {}), replicas: 0, ordinals: { start: set.start + set.replicas } };
    d = this.profile.destinationTemplate(d, this.toNs);
    return ownedBy(d, owner);
  }

  // ---------------------------------------------------------------- steps

  private async runStep(step: MigrationStep, notes: string[]): Promise<string | undefined> {
    switch (step.kind) {
      case 'pause':
        return this.pause();
      case 'copy-config':
        return this.copyConfig();
      case 'create-destination':
        return this.createDestination();
      case 'failover':
        await this.markStart(podName(step.sts, step.ordinal));
        return this.failover('source', podName(step.sts, step.ordinal));
      case 'retain-pv':
        return this.retainPv(step.sts, step.ordinal);
      case 'scale-source':
        return this.scaleSource(step.sts, step.ordinal, step.replicas);
      case 'copy-volumes':
        return this.copyVolumes(step.sts, step.ordinal);
      case 'scale-destination':
        await patchObject(this.to, RES.statefulsets, this.toNs, step.sts, { spec: { ordinals: { start: step.start }, replicas: step.replicas } });
        return `${step.sts} in ${this.to.context} owns ordinals ${step.start}..${step.start + step.replicas - 1}`;
      case 'wait-joined':
        return this.waitJoined('destination', podName(step.sts, step.ordinal));
      case 'verify':
        return this.verify('destination');
      case 'resume':
        return this.resume(notes);
    }
  }

  private fact<T>(key: string): T | undefined {
    return this.journal?.fact<T>(key);
  }

  private async markStart(pod: string): Promise<void> {
    const moves = this.fact<Record<string, MoveTiming>>('moves') ?? {};
    if (moves[pod]?.startedAt) return;
    const p = await this.from.get(RES.pods, this.ns, pod);
    moves[pod] = { startedAt: this.now().toISOString(), fromIp: podIp(p) };
    await this.journal?.setFact('moves', moves);
  }

  private async pause(): Promise<string> {
    const m = this.tctx.mechanism;
    if (m.type === 'none' && m.fallback === 'nothing-to-pause') return `${this.target.ref} has no operator (${m.why}): nothing to pause`;
    const state = this.tctx.observeInput.pause;
    if (state.paused && this.fact<boolean>('pausedSource') === undefined) {
      await this.journal?.setFact('pausedSource', false);
      return `already paused by ${state.by ?? 'someone'}: it stays paused afterwards`;
    }
    const c = await preparePause(this.from, this.target.ref, this.ns, { reason: `kubectl redis migrate ${this.journal?.id} to ${this.to.context}`, force: false, operatorScaleDown: false });
    await this.journal?.setFact('pausedSource', true);
    if (c.plan && (c.plan.changes.length > 0 || c.plan.operatorScale)) await applyPause(this.from, c, 'pause', `migrating to ${this.to.context}`);
    return `paused ${this.target.ref} in ${this.from.context} (${c.mechanismText})`;
  }

  private async remember(ref: CreatedRef): Promise<void> {
    const created = this.fact<CreatedRef[]>('created') ?? [];
    if (created.some((c) => c.plural === ref.plural && c.group === ref.group && c.namespace === ref.namespace && c.name === ref.name)) return;
    created.push(ref);
    await this.journal?.setFact('created', created);
  }

  private async destinationOwner(): Promise<KubeObject | undefined> {
    if (!this.profile.owner) return undefined;
    return this.to.get(this.target.resource, this.toNs, this.target.name);
  }

  private ownedBySource(o: KubeObject): boolean {
    const uid = this.target.object.metadata.uid;
    return Boolean(this.profile.owner && uid && (o.metadata.ownerReferences ?? []).some((r) => r.uid === uid));
  }

  private async copyConfig(): Promise<string> {
    const copied: string[] = [];
    const present: string[] = [];
    const ensure = async (res: typeof RES.secrets, namespace: string | undefined, body: KubeObject, label: string) => {
      const r = await ensureCreated(this.to, res, namespace, body);
      if (r.created) {
        await this.remember(refOf(res, namespace, body.metadata.name));
        copied.push(label);
      } else present.push(label);
      return r.object;
    };
    await ensure(RES.namespaces, undefined, { metadata: { name: this.toNs } }, `Namespace ${this.toNs}`);
    let owner: KubeObject | undefined;
    if (this.profile.owner) {
      const src = await this.from.get(this.target.resource, this.ns, this.target.name);
      if (!src) throw new RefusedError(`${this.target.ref} disappeared from ${this.from.context} during the migration`);
      const body = copyableOwner(src, this.toNs);
      const m = this.tctx.mechanism;
      // the destination's operator must not act before every pod is there: its copy is born paused
      if (m.type === 'annotation') body.metadata.annotations = { ...(body.metadata.annotations ?? {}), [m.key]: m.value };
      owner = await ensure(this.target.resource, this.toNs, body, `${this.target.kind} ${this.target.name} (paused)`);
    }
    const copy = async (res: typeof RES.secrets, kind: string, names: string[], strip: (o: KubeObject) => KubeObject) => {
      for (const n of names) {
        const src = await this.from.get(res, this.ns, n);
        if (!src) continue;
        await ensure(res, this.toNs, ownedBy(strip(src), this.ownedBySource(src) ? owner : undefined), `${kind} ${n}`);
      }
    };
    const refs = this.references();
    await copy(RES.secrets, 'Secret', refs.secrets, (o) => copyableConfig(o, this.toNs));
    await copy(RES.configmaps, 'ConfigMap', refs.configMaps, (o) => copyableConfig(o, this.toNs));
    const labels = [...this.sourceSets.values()].map(templateLabels);
    const services = (await this.from.list(RES.services, this.ns)).filter((s) => labels.some((l) => selects(s, l))).map((s) => s.metadata.name);
    await copy(RES.services, 'Service', services, (o) => copyableService(o, this.toNs));
    await copy(RES.pdbs, 'PodDisruptionBudget', this.target.pdbNames, (o) => copyableConfig(o, this.toNs));
    return `${copied.length > 0 ? `copied ${copied.join(', ')}` : 'nothing to copy'}${present.length > 0 ? `; already in ${this.to.context}: ${present.join(', ')}` : ''}`;
  }

  private async createDestination(): Promise<string> {
    const owner = await this.destinationOwner();
    const out: string[] = [];
    for (const set of this.sets) {
      const r = await ensureCreated(this.to, RES.statefulsets, this.toNs, this.destinationSet(set, owner));
      if (r.created) await this.remember(refOf(RES.statefulsets, this.toNs, set.name));
      out.push(`${set.name}${r.created ? '' : ' (already there)'}: replicas 0, ordinals from ${set.start + set.replicas}`);
    }
    return out.join('; ');
  }

  private set(name: string): MovingSet {
    const s = this.sets.find((x) => x.name === name);
    if (!s) throw new Error(`no moving StatefulSet ${name}`);
    return s;
  }

  private nodeIds(): Record<string, string> {
    return this.fact<Record<string, string>>('nodeIds') ?? {};
  }

  private expected(pods: PodAt[]): ExpectedNode[] {
    return Object.entries(this.nodeIds()).map(([pod, id]) => ({ pod, id, ip: pods.find((p) => p.name === pod)?.ip }));
  }

  /** Views of every running pod agree (with the recorded node ids at their current addresses); else what is wrong. */
  private async agreement(): Promise<string | undefined> {
    const pods = await this.sides.runningPods();
    const { views, unreachable } = await this.sides.views(pods);
    if (unreachable.length > 0) return `no answer from ${unreachable[0]}`;
    const missing = Object.keys(this.nodeIds()).filter((p) => !pods.some((x) => x.name === p));
    if (missing.length > 0) return `${missing.join(', ')} not running`;
    return clusterProblems(views, this.expected(pods))[0];
  }

  private async role(side: SideName, pod: string): Promise<string | undefined> {
    try {
      return (await (await this.sides.connect(side, pod)).role()).role;
    } catch {
      await this.sides.drop(pod);
      return undefined;
    }
  }

  /** If `pod` is a master, CLUSTER FAILOVER on its best replica, then wait until every node agrees on the new roles. */
  private async failover(side: SideName, pod: string): Promise<string> {
    const pods = await this.sides.runningPods();
    if (!pods.some((p) => p.name === pod && p.side === side)) return `${pod} is not running in ${this.sides.side(side).kube.context}: nothing to fail over`;
    const node = await this.sides.connect(side, pod);
    if ((await node.role()).role !== 'master') return `${pod} is a replica: no failover needed`;
    const myId = this.nodeIds()[pod] ?? (await node.clusterMyId());
    const entries = (await node.clusterNodes()).entries;
    const replicas = entries.filter((e) => e.role === 'replica' && e.masterId === myId && !e.failed && !e.pfail);
    let chosen: { pod: PodAt; node: RedisNode } | undefined;
    for (const e of replicas) {
      const p = pods.find((x) => x.ip === e.ip);
      if (!p) continue;
      try {
        const n = await this.sides.connect(p.side, p.name);
        const repl = await n.infoReplication();
        if (repl.role === 'replica' && repl.masterLinkStatus === 'up' && !repl.masterSyncInProgress) {
          chosen = { pod: p, node: n };
          break;
        }
      } catch {
        await this.sides.drop(p.name);
      }
    }
    if (!chosen) {
      throw new RefusedError(`${pod} is a master and none of its replicas is in sync to take over: moving it would take its slots down`, { hint: `run kubectl redis status ${this.target.ref} to see its replicas; kubectl redis heal can fix a replica link` });
    }
    const heir = chosen;
    this.r.info(`${pod} is a master: CLUSTER FAILOVER on ${heir.pod.name} (${heir.pod.side === 'source' ? this.from.context : this.to.context})`);
    await heir.node.clusterFailover();
    let lastAsk = Date.now();
    await waitFor(`${heir.pod.name} to take over from ${pod} and every node to agree`, async () => {
      const heirRole = await this.role(heir.pod.side, heir.pod.name);
      if (heirRole !== 'master') {
        // a failover the master did not answer in time is simply asked for again
        if (Date.now() - lastAsk > 10_000) {
          lastAsk = Date.now();
          await (await this.sides.connect(heir.pod.side, heir.pod.name)).clusterFailover().catch(() => undefined);
        }
        return notYet(`${heir.pod.name} is ${heirRole ?? 'not answering'}`);
      }
      if ((await this.role(side, pod)) !== 'replica') return notYet(`${pod} is not a replica yet`);
      const problem = await this.agreement();
      return problem ? notYet(problem) : true;
    }, { timeoutMs: this.req.stepTimeoutMs, intervalMs: Math.min(this.pollMs, 200), onState: (s) => this.r.info(`${pod}: ${s}`) });
    return `${pod} is a replica now; ${heir.pod.name} took over as master`;
  }

  private async sourceClaims(sts: string, k: number): Promise<string[]> {
    const src = this.sourceSets.get(sts);
    return src ? claimNames(src, k) : [];
  }

  private async retainPv(sts: string, k: number): Promise<string> {
    const out: string[] = [];
    for (const claim of await this.sourceClaims(sts, k)) {
      const pvc = await this.from.get(RES.pvcs, this.ns, claim);
      if (!pvc) {
        if (await this.to.get(RES.pvcs, this.toNs, claim)) continue;
        throw new RefusedError(`claim ${this.ns}/${claim} of ${podName(sts, k)} does not exist in ${this.from.context}: there is no data to move`);
      }
      const pvName = (pvc.spec as { volumeName?: string } | undefined)?.volumeName;
      if (!pvName) throw new RefusedError(`claim ${this.ns}/${claim} is not bound to a volume in ${this.from.context}`);
      const pv = await this.from.get(RES.pvs, undefined, pvName);
      const policy = String((pv?.spec as { persistentVolumeReclaimPolicy?: string } | undefined)?.persistentVolumeReclaimPolicy ?? 'Retain');
      const policies = this.fact<Record<string, string>>('pvPolicies') ?? {};
      if (policies[pvName] === undefined) {
        policies[pvName] = policy;
        await this.journal?.setFact('pvPolicies', policies);
      }
      if (policy !== 'Retain') await patchObject(this.from, RES.pvs, undefined, pvName, { spec: { persistentVolumeReclaimPolicy: 'Retain' } });
      out.push(`${pvName} (${claim}): ${policy === 'Retain' ? 'Retain already' : `${policy} => Retain`}`);
    }
    return out.join('; ');
  }

  private async waitPodGone(kube: KubeClient, namespace: string, pod: string): Promise<void> {
    await waitFor(`pod ${namespace}/${pod} in ${kube.context} to be gone`, async () => {
      const p = await kube.get(RES.pods, namespace, pod);
      return p ? notYet(p.metadata.deletionTimestamp ? 'terminating' : 'still there') : true;
    }, { timeoutMs: this.req.stepTimeoutMs, intervalMs: Math.min(this.pollMs, 250) });
    await this.sides.drop(pod);
  }

  private async scaleSource(sts: string, k: number, replicas: number): Promise<string> {
    const cur = stsRange(await this.from.get(RES.statefulsets, this.ns, sts));
    if (!cur) throw new RefusedError(`StatefulSet ${this.ns}/${sts} disappeared from ${this.from.context}`);
    if (cur.replicas < replicas) throw new RefusedError(`StatefulSet ${this.ns}/${sts} in ${this.from.context} has ${cur.replicas} replicas, fewer than the ${replicas} expected: someone scaled it during the migration`);
    if (cur.replicas > replicas) await patchObject(this.from, RES.statefulsets, this.ns, sts, { spec: { replicas } });
    await this.waitPodGone(this.from, this.ns, podName(sts, k));
    return `${podName(sts, k)} stopped in ${this.from.context}`;
  }

  private async copyVolumes(sts: string, k: number): Promise<string> {
    const out: string[] = [];
    for (const claim of await this.sourceClaims(sts, k)) {
      const pvc = await this.from.get(RES.pvcs, this.ns, claim);
      if (!pvc) throw new RefusedError(`claim ${this.ns}/${claim} is gone from ${this.from.context}: nothing to copy`);
      const pvName = String((pvc.spec as { volumeName?: string } | undefined)?.volumeName ?? '');
      const pv = await this.from.get(RES.pvs, undefined, pvName);
      if (!pv) throw new RefusedError(`volume ${pvName} of claim ${this.ns}/${claim} is gone from ${this.from.context}`);
      const want = copyablePv(pv);
      want.spec = { ...(want.spec ?? {}), persistentVolumeReclaimPolicy: 'Retain' };
      const existing = await this.to.get(RES.pvs, undefined, pvName);
      if (existing) {
        const storage = (o: KubeObject) => {
          const { claimRef: _c, persistentVolumeReclaimPolicy: _p, ...rest } = (o.spec ?? {}) as Record<string, unknown>;
          return JSON.stringify(rest, Object.keys(rest).sort());
        };
        if (storage(existing) !== storage(want)) throw new RefusedError(`a different PersistentVolume named ${pvName} already exists in ${this.to.context}: it is not the copy of ${this.from.context}'s`);
      } else await ensureCreated(this.to, RES.pvs, undefined, want);
      const dpvc = await this.to.get(RES.pvcs, this.toNs, claim);
      if (dpvc && (dpvc.spec as { volumeName?: string } | undefined)?.volumeName !== pvName) {
        throw new RefusedError(`claim ${this.toNs}/${claim} already exists in ${this.to.context} bound to another volume: delete it, then re-run`);
      }
      if (!dpvc) await ensureCreated(this.to, RES.pvcs, this.toNs, copyablePvc(pvc, this.toNs));
      await waitFor(`claim ${this.toNs}/${claim} in ${this.to.context} to bind to ${pvName}`, async () => {
        const c = await this.to.get(RES.pvcs, this.toNs, claim);
        const phase = (c?.status as { phase?: string } | undefined)?.phase;
        return phase === 'Bound' ? true : notYet(phase ?? 'not there');
      }, { timeoutMs: this.req.stepTimeoutMs, intervalMs: Math.min(this.pollMs, 250) });
      out.push(`${claim} -> ${pvName}`);
    }
    return out.length > 0 ? `bound in ${this.to.context}: ${out.join(', ')}` : 'no volumes';
  }

  /** The pod runs on `side` with its recorded node id, replicates in sync, and every node knows its new address. */
  private async waitJoined(side: SideName, pod: string): Promise<string> {
    const kube = this.sides.side(side).kube;
    const namespace = this.sides.side(side).namespace;
    const id = this.nodeIds()[pod];
    let ip = '';
    let role = '';
    let lastMeet = 0;
    await waitFor(`${pod} to join from ${kube.context} with node id ${id ? short(id) : '?'}`, async () => {
      const p = await kube.get(RES.pods, namespace, pod);
      if (!podRunning(p)) return notYet(`pod ${pod} is ${String((p?.status as { phase?: string } | undefined)?.phase ?? 'not created yet')}`);
      ip = podIp(p) ?? '';
      let node: RedisNode;
      try {
        node = await this.sides.connect(side, pod);
        const myId = await node.clusterMyId();
        if (id && myId !== id) {
          throw new KubectlRedisError(`${pod} came up in ${kube.context} as a new Redis node ${short(myId)} instead of ${short(id)}: its data did not follow (check that the copied volume is the same storage)`, {
            hint: `nothing else was moved; run with --abort to bring ${pod} back to ${this.from.context}`,
          });
        }
        const repl = await node.infoReplication();
        role = repl.role;
        if (repl.role === 'replica' && (repl.masterLinkStatus !== 'up' || repl.masterSyncInProgress)) {
          return notYet(`${pod} is replicating from ${repl.masterHost ?? 'its master'}: link ${repl.masterLinkStatus ?? 'down'}${repl.masterSyncInProgress ? ', sync in progress' : ''}`);
        }
        // Redis learns its own new address only from a MEET (a restarted node keeps the old one in its myself line
        // and would hand it to clients in CLUSTER SLOTS): a peer meets it at its new address, as heal does.
        const self = (await node.clusterNodes()).entries.find((e) => e.myself);
        if (self && self.ip !== ip && Date.now() - lastMeet > 3000) {
          lastMeet = Date.now();
          const peer = (await this.sides.runningPods()).find((p) => p.name !== pod);
          if (peer) await (await this.sides.connect(peer.side, peer.name)).clusterMeet(ip, self.port, self.busPort).catch(() => undefined);
          return notYet(`${pod} still knows itself at ${self.ip}: ${peer?.name ?? 'a peer'} meets it at ${ip}`);
        }
      } catch (e) {
        if (e instanceof KubectlRedisError && !(e instanceof RedisError)) throw e;
        await this.sides.drop(pod);
        return notYet(errText(e));
      }
      const problem = await this.agreement();
      return problem ? notYet(problem) : true;
    }, { timeoutMs: this.req.stepTimeoutMs, intervalMs: this.pollMs, onState: (s) => this.r.info(s.startsWith(pod) ? s : `${pod}: ${s}`) }).catch((e: unknown) => {
      if (e instanceof KubectlRedisError && !e.hint) {
        throw new KubectlRedisError(errText(e), { hint: `a pod in ${this.to.context} must reach its master's pod in ${this.from.context} (a flat network); re-run to keep waiting, or --abort` });
      }
      throw e;
    });
    const moves = this.fact<Record<string, MoveTiming>>('moves') ?? {};
    if (side === 'destination') {
      moves[pod] = { ...(moves[pod] ?? {}), endedAt: this.now().toISOString(), toIp: ip };
      await this.journal?.setFact('moves', moves);
    }
    return `${pod} runs in ${kube.context} at ${ip} as ${role} with node id ${id ? short(id) : '?'}; every node agrees`;
  }

  private async verify(side: SideName): Promise<string> {
    for (const set of this.sets) {
      const src = stsRange(await this.from.get(RES.statefulsets, this.ns, set.name));
      const dst = stsRange(await this.to.get(RES.statefulsets, this.toNs, set.name));
      const all = Array.from({ length: set.replicas }, (_, i) => set.start + i);
      const wrong = all.filter((k) => placeOf(k, src ?? { start: 0, replicas: 0 }, dst) !== side);
      if (wrong.length > 0) throw new KubectlRedisError(`ordinals ${wrong.join(', ')} of ${set.name} are not in ${this.sides.side(side).kube.context} as expected`);
    }
    await waitFor(`every node of ${this.target.ref} to agree`, async () => {
      const problem = await this.agreement();
      return problem ? notYet(problem) : true;
    }, { timeoutMs: this.req.stepTimeoutMs, intervalMs: this.pollMs, onState: (s) => this.r.info(s) });
    const { views } = await this.sides.views();
    const masters = mastersOf(views).size;
    const before = this.fact<number>('masters');
    if (before !== undefined && masters !== before) throw new KubectlRedisError(`${this.target.ref} has ${masters} masters after the move, ${before} before`);
    return `${views.length} nodes in ${this.sides.side(side).kube.context}, ${masters} masters, every slot covered, every node agrees`;
  }

  private async resume(notes: string[]): Promise<string> {
    const m = this.tctx.mechanism;
    if (!this.profile.owner || m.type !== 'annotation') return 'no operator: nothing to resume';
    const c = await prepareResume(this.to, this.target.ref, this.toNs, true);
    if (c.plan && (c.plan.changes.length > 0 || c.plan.operatorScale)) await applyPause(this.to, c, 'resume', undefined);
    notes.push(...this.resumeNotes());
    return `resumed ${this.target.ref} in ${this.to.context}: its operator reconciles it from now on`;
  }

  /** What the user must know once the destination's operator is resumed: the source's copy stays paused. */
  private resumeNotes(): string[] {
    if (!this.profile.owner || this.tctx.mechanism.type !== 'annotation') return [];
    return [`${this.target.ref} in ${this.from.context} stays paused with 0 pods: resuming it would start a second copy of every pod. Delete it once you are satisfied (kubectl --context ${this.from.context} -n ${this.ns} delete ${this.target.ref}); the data stays on the volumes, which keep reclaim policy Retain.`];
  }

  private totalMs(fallbackStart: number): number {
    const moves = Object.values(this.fact<Record<string, MoveTiming>>('moves') ?? {});
    const starts = moves.map((m) => (m.startedAt ? Date.parse(m.startedAt) : NaN)).filter(Number.isFinite);
    const begun = this.journal?.snapshot.startedAt ? Date.parse(this.journal.snapshot.startedAt) : fallbackStart;
    return Date.now() - Math.min(begun, ...starts);
  }

  private async summary(): Promise<MovedPod[]> {
    const moves = this.fact<Record<string, MoveTiming>>('moves') ?? {};
    const pods = await this.sides.runningPods();
    const out: MovedPod[] = [];
    for (const [pod, id] of Object.entries(this.nodeIds())) {
      const m = moves[pod] ?? {};
      out.push({
        pod, nodeId: id, role: (await this.role('destination', pod)) ?? '?', fromIp: m.fromIp, toIp: pods.find((p) => p.name === pod)?.ip ?? m.toIp,
        tookMs: m.startedAt && m.endedAt ? Date.parse(m.endedAt) - Date.parse(m.startedAt) : undefined,
      });
    }
    return out.sort((a, b) => a.pod.localeCompare(b.pod, undefined, { numeric: true }));
  }

  // ---------------------------------------------------------------- abort

  private async abort(backend: ConfigMapJournalBackend, name: string, live: JournalDoc | undefined): Promise<MigrateOutcome> {
    if (!live) throw new RefusedError(`there is no migrate of ${this.target.ref} in progress in ${this.from.context} to abort`);
    this.checkSameDestination(live);
    this.sets = (live.facts.sets as MovingSet[] | undefined) ?? [];
    const rows: PlanRow[] = [];
    for (const set of [...this.sets].reverse()) {
      const src = stsRange(await this.from.get(RES.statefulsets, this.ns, set.name));
      for (const k of abortOrder(set, src?.replicas ?? set.replicas)) rows.push({ n: rows.length + 1, step: `return/${podName(set.name, k)}`, state: 'to do', action: `bring ${podName(set.name, k)} back to ${this.from.context} with its volumes and node id` });
    }
    rows.push({ n: rows.length + 1, step: 'clean-up', state: 'to do', action: `delete what migrate created in ${this.to.context}, restore the volumes' reclaim policies, resume ${this.target.ref} in ${this.from.context}` });
    if (this.req.dryRun) return { kind: 'plan', target: this.target.ref, checks: [], rows, journal: `${live.id} (${live.state}, started by ${live.holder})` };
    if (!(await this.deps.confirm(`Abort migrate ${live.id} and move ${this.target.ref} back to ${this.from.context}?`, [], rows))) return { kind: 'cancelled', checks: [], rows };
    this.journal = await Journal.open(backend, name, {
      operation: OPERATION, target: this.target.ref, holder: localIdentity(), args: this.journalArgs(), abort: true,
      newId: () => `mig-${randomBytes(4).toString('hex')}`, now: this.now,
    });
    const returned: string[] = [];
    try {
      let i = 0;
      for (const set of [...this.sets].reverse()) {
        const src = stsRange(await this.from.get(RES.statefulsets, this.ns, set.name));
        for (const k of abortOrder(set, src?.replicas ?? set.replicas)) {
          const pod = podName(set.name, k);
          this.r.step(++i, rows.length, rows[i - 1]?.action ?? `bring ${pod} back`);
          await this.returnOrdinal(set, k);
          for (const s of ordinalSteps(set, k)) await this.journal.undone(stepId(s));
          returned.push(pod);
        }
      }
      this.r.step(rows.length, rows.length, rows[rows.length - 1].action);
      const notes = await this.cleanUp();
      await this.journal.finish('aborted');
      return { kind: 'aborted', target: this.target.ref, id: this.journal.id, returned, notes };
    } catch (e) {
      await this.journal.fail(`abort: ${errText(e)}`).catch(() => undefined);
      throw new KubectlRedisError(`abort of migrate ${this.journal.id} of ${this.target.ref} stopped: ${errText(e)}`, { cause: e, hint: 're-run the same command with --abort to continue moving back' });
    }
  }

  /** Ordinal k leaves the destination (after a failover if it is a master) and starts again in the source. */
  private async returnOrdinal(set: MovingSet, k: number): Promise<void> {
    const pod = podName(set.name, k);
    const src = stsRange(await this.from.get(RES.statefulsets, this.ns, set.name)) ?? { start: set.start, replicas: 0 };
    const dst = stsRange(await this.to.get(RES.statefulsets, this.toNs, set.name));
    if (placeOf(k, src, dst) === 'destination') {
      if (dst?.start !== k) throw new RefusedError(`StatefulSet ${this.toNs}/${set.name} in ${this.to.context} starts at ordinal ${dst?.start}, not ${k}: it was changed by hand`);
      const pods = await this.sides.runningPods();
      if (pods.some((p) => p.name === pod && p.side === 'destination')) this.r.info(await this.failover('destination', pod));
      const next = destinationAfterReturn(set, k);
      await patchObject(this.to, RES.statefulsets, this.toNs, set.name, { spec: { ordinals: { start: next.start }, replicas: next.replicas } });
    }
    await this.waitPodGone(this.to, this.toNs, pod);
    for (const claim of await this.sourceClaims(set.name, k)) {
      const dpvc = await this.to.get(RES.pvcs, this.toNs, claim);
      const pvName = (dpvc?.spec as { volumeName?: string } | undefined)?.volumeName;
      if (pvName) {
        const dpv = await this.to.get(RES.pvs, undefined, pvName);
        if (dpv && (dpv.spec as { persistentVolumeReclaimPolicy?: string } | undefined)?.persistentVolumeReclaimPolicy !== 'Retain') {
          await patchObject(this.to, RES.pvs, undefined, pvName, { spec: { persistentVolumeReclaimPolicy: 'Retain' } });
        }
      }
      if (dpvc) {
        await deleteObject(this.to, RES.pvcs, this.toNs, claim);
        await waitFor(`claim ${this.toNs}/${claim} in ${this.to.context} to be deleted`, async () => ((await this.to.get(RES.pvcs, this.toNs, claim)) ? notYet('still there') : true), { timeoutMs: this.req.stepTimeoutMs, intervalMs: 250 });
      }
      // only our copy: a volume of the same name in the source is the original (deleting a Retain PV keeps its data)
      if (pvName && (await this.from.get(RES.pvs, undefined, pvName))) await deleteObject(this.to, RES.pvs, undefined, pvName);
    }
    const want = k - set.start + 1;
    if (src.replicas < want) await patchObject(this.from, RES.statefulsets, this.ns, set.name, { spec: { replicas: want } });
    this.r.info(await this.waitJoined('source', pod));
  }

  private async cleanUp(): Promise<string[]> {
    const notes: string[] = [];
    await waitFor(`every node of ${this.target.ref} to agree`, async () => {
      const problem = await this.agreement();
      return problem ? notYet(problem) : true;
    }, { timeoutMs: this.req.stepTimeoutMs, intervalMs: this.pollMs, onState: (s) => this.r.info(s) });
    const created = this.fact<CreatedRef[]>('created') ?? [];
    for (const set of this.sets) {
      await deleteObject(this.to, RES.statefulsets, this.toNs, set.name);
    }
    for (const c of [...created].reverse()) {
      if (c.plural === 'namespaces') continue;
      await deleteObject(this.to, resourceOf(c), c.namespace, c.name);
    }
    const nsCreated = created.find((c) => c.plural === 'namespaces');
    if (nsCreated) {
      const leftover = [...(await this.to.list(RES.pods, this.toNs)), ...(await this.to.list(RES.pvcs, this.toNs)), ...(await this.to.list(RES.statefulsets, this.toNs))];
      if (leftover.length === 0) await deleteObject(this.to, RES.namespaces, undefined, nsCreated.name);
      else notes.push(`namespace ${this.toNs} in ${this.to.context} was created by migrate but now holds other objects; it was left`);
    }
    for (const [pv, policy] of Object.entries(this.fact<Record<string, string>>('pvPolicies') ?? {})) {
      const cur = await this.from.get(RES.pvs, undefined, pv);
      if (cur && (cur.spec as { persistentVolumeReclaimPolicy?: string } | undefined)?.persistentVolumeReclaimPolicy !== policy) {
        await patchObject(this.from, RES.pvs, undefined, pv, { spec: { persistentVolumeReclaimPolicy: policy } });
      }
    }
    if (this.fact<boolean>('pausedSource')) {
      const c = await prepareResume(this.from, this.target.ref, this.ns, false);
      if (c.plan && (c.plan.changes.length > 0 || c.plan.operatorScale)) await applyPause(this.from, c, 'resume', undefined);
      notes.push(`${this.target.ref} in ${this.from.context} resumed`);
    }
    return notes;
  }
}
