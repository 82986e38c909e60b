// drain-reboot as a step machine (WORKFLOWS.md): per node, under a Lease so two runs never reboot at once and with a
// journal on the cluster so the same command resumes after an interruption:
//   precheck -> cordon (+ our mark) -> move masters off -> evict -> delay -> re-check it is still ours -> reboot
//   -> new boot ID + Ready -> uncordon -> Redis healthy again -> next node.
// The seed-004 (Kured) rule: if the node was uncordoned during the delay, it is NOT rebooted; we stop and say why.
import type { PlanRow, Reporter } from '../../reconcile/types.js';
import { randomBytes } from 'node:crypto';
import { KubectlRedisError, RefusedError, TimeoutError, errText } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { recordEvent } from '../../kube/events.js';
import { decideLease, LeaseLock, leaseExpired, localHolderInfo, pidAlive, readHolderInfo, type LeaseSpec } from '../../kube/lease.js';
import { Journal } from '../../reconcile/journal.js';
import { ConfigMapJournalBackend } from '../../reconcile/journal-configmap.js';
import { discoverAll, type Target } from '../../targets/index.js';
import { formatDuration } from '../../util/duration.js';
import { localIdentity } from '../../util/identity.js';
import { describeDrainErrors } from './filters.js';
import { bootId, DrainHelper, drainFailed, isCordoned } from './helper.js';
import { DEFAULT_REBOOT_IMAGE, readNodeMark, type NodeMark } from './node.js';
import { batches, describeMove, healthProblems, masterMoves, NODE_STEPS, resolveNodes, stepKey, stepTitle, whyNodeNotStartable, type NodeStep, type RebootMethod, type StepOptions } from './plan.js';
import { RedisGuard } from './redis.js';
import { describeGates, Gates, hasGates, type GateOptions } from './gates.js';
import { nextOpening } from './window.js';
import { autoBatches, disruptionGroups, type AutoBatches } from './batches.js';
import { lastRebootPatch, postNotification, type NotifyEvent } from './notify.js';
import { patchObject } from '../../kube/patch.js';
import { NODES } from './helper.js';
import { diagnose } from '../../reconcile/diagnose.js';
import type { ConnectOverrides } from '../../reconcile/session.js';

export const OPERATION = 'drain-reboot';
/** Where the Lease, the journal and the reboot pods live: one place every run sees, whatever its -n. */
export const SYSTEM_NAMESPACE = 'kube-system';
export const LEASE_NAME = 'kubectl-redis-drain-reboot';
export const JOURNAL_NAME = 'kubectl-redis-drain-reboot';

export interface DrainRebootRequest {
  nodes: string[];
  selector?: string;
  /** nodes at once, or 'auto': the largest sets the topology allows (batches.ts) */
  maxUnavailable: number | 'auto';
  rebootMethod: RebootMethod;
  rebootCommand?: string;
  rebootImage?: string;
  /** where the reboot pod runs (default kube-system) */
  rebootNamespace?: string;
  delayMs: number;
  timeoutMs: number;
  gracePeriodSeconds?: number;
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  /** kubectl drain's --force, --pod-selector, --skip-wait-for-delete-timeout, --disable-eviction */
  force?: boolean;
  podSelector?: string;
  skipWaitForDeleteTimeoutSeconds?: number;
  disableEviction?: boolean;
  /** --no-reboot: move masters, drain, and leave the node cordoned; --uncordon: give it back at the end */
  noReboot?: boolean;
  uncordon?: boolean;
  /** Kured's gates (gates.ts); undefined = none */
  gates?: GateOptions;
  /** how often a closed gate is evaluated again (Kured's --period) */
  gateIntervalMs?: number;
  /** Kured's --pre-reboot-node-labels (before cordoning) / --post-reboot-node-labels (after uncordoning) */
  preRebootLabels?: Record<string, string>;
  postRebootLabels?: Record<string, string>;
  /** a webhook receiving a JSON message per node step: start, rebooted, done, stopped */
  notifyUrl?: string;
  dryRun: boolean;
  resume: boolean;
  abort: boolean;
  /** Redis connections by pod IP instead of port-forward */
  direct: boolean;
  connect?: ConnectOverrides;
  /** where to look for Redis targets; undefined = every namespace */
  namespace: string | undefined;
}

export interface NodeResult {
  node: string;
  result: 'rebooted' | 'drained' | 'not-needed' | 'not-rebooted' | 'failed' | 'aborted' | 'interrupted';
  bootIdBefore?: string;
  bootIdAfter?: string;
  mastersMoved: string[];
  podsEvicted: number;
  durationMs: number;
  message?: string;
}

export interface WorkflowDeps {
  kube: KubeClient;
  reporter: Reporter;
  /** Asked once before anything changes; false = stop, nothing changed. */
  confirm(question: string): Promise<boolean>;
  signal: AbortSignal;
  /** Aborts the run (the lease was lost). */
  abort(reason: string): void;
  evictRetryMs?: number;
  pollMs?: number;
  now?: () => Date;
}

export type Outcome =
  | { kind: 'plan'; rows: PlanRow[] }
  | { kind: 'run'; results: NodeResult[]; operationId: string; error?: KubectlRedisError }
  | { kind: 'cancelled' };

const NO_GATES: GateOptions = { blockingPodSelectors: [], windowAction: 'wait', onlyNeeded: false, rebootSentinel: '/var/run/reboot-required', namespace: SYSTEM_NAMESPACE };

const newOperationId = () => `dr-${randomBytes(4).toString('hex')}`;

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    if (signal.aborted) return reject(new TimeoutError('interrupted'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolvePromise();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new TimeoutError('interrupted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

interface TargetRef {
  namespace: string;
  ref: string;
}

/** The journal with its writes in one queue: the nodes of a batch record their steps concurrently. */
class SerialJournal {
  private queue: Promise<unknown> = Promise.resolve();
  constructor(readonly inner: Journal) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  get resumed(): boolean {
    return this.inner.resumed;
  }
  isDone(step: string): boolean {
    return this.inner.isDone(step);
  }
  wasStarted(step: string): boolean {
    return this.inner.wasStarted(step);
  }
  fact<T>(key: string): T | undefined {
    return this.inner.fact<T>(key);
  }
  setFact(key: string, value: unknown): Promise<void> {
    return this.serial(() => this.inner.setFact(key, value));
  }
  started(step: string, detail?: string): Promise<void> {
    return this.serial(() => this.inner.started(step, detail));
  }
  done(step: string, detail?: string): Promise<void> {
    return this.serial(() => this.inner.done(step, detail));
  }
  undone(step: string): Promise<void> {
    return this.serial(() => this.inner.undone(step));
  }
  fail(error: string): Promise<void> {
    return this.serial(() => this.inner.fail(error));
  }
  finish(state: 'done' | 'aborted'): Promise<void> {
    return this.serial(() => this.inner.finish(state));
  }
}

/** One node's run: what it reports, and its place in the progress numbering. */
interface NodeRun {
  node: string;
  /** the nodes worked on together (--max-unavailable) */
  batch: string[];
  base: number;
  total: number;
  started: number;
  result: NodeResult;
}

export class DrainReboot {
  private readonly helper: DrainHelper;
  private readonly guard: RedisGuard;
  private readonly gates: Gates;
  private readonly now: () => Date;
  private readonly holder = localIdentity();
  private journal?: SerialJournal;
  private operationId = '';

  constructor(
    private readonly req: DrainRebootRequest,
    private readonly deps: WorkflowDeps,
  ) {
    const r = deps.reporter;
    this.now = deps.now ?? (() => new Date());
    this.helper = new DrainHelper(deps.kube, {
      ignoreDaemonSets: req.ignoreDaemonSets, deleteEmptyDirData: req.deleteEmptyDirData, gracePeriodSeconds: req.gracePeriodSeconds,
      force: req.force, podSelector: req.podSelector, skipWaitForDeleteTimeoutSeconds: req.skipWaitForDeleteTimeoutSeconds, disableEviction: req.disableEviction,
      timeoutMs: req.timeoutMs, evictRetryMs: deps.evictRetryMs, pollMs: deps.pollMs, signal: deps.signal, log: (m) => r.info(m),
    });
    this.gates = new Gates(deps.kube, req.gates ?? NO_GATES, deps.signal);
    this.guard = new RedisGuard(deps.kube, { direct: req.direct, connect: req.connect, namespace: req.namespace, pollMs: deps.pollMs, signal: deps.signal, log: (m) => r.info(m), warn: (m) => r.warn(m) });
  }

  private get kube(): KubeClient {
    return this.deps.kube;
  }

  private get stepOpts(): StepOptions {
    const g = this.gates.opts;
    return { ...this.req, gates: hasGates(g) ? describeGates(g) : undefined, onlyNeededSentinel: !g.onlyNeeded ? undefined : g.rebootSentinelCommand !== undefined ? `--reboot-sentinel-command exits 0` : g.rebootSentinel };
  }

  /** The batches: groups of --max-unavailable, or with 'auto' the ones the topology allows (and why). */
  private async nodeBatches(nodes: string[]): Promise<AutoBatches> {
    if (this.req.maxUnavailable !== 'auto') return { batches: batches(nodes, this.req.maxUnavailable), reasons: [], warnings: [] };
    const all = await this.guard.observeAll();
    return autoBatches(nodes, all.flatMap((t) => disruptionGroups(t.observed)));
  }

  /** The batches of a run, one after another; with 'auto' planned again from a fresh observation before each. */
  private async *batchesOf(nodes: string[]): AsyncGenerator<string[]> {
    if (this.req.maxUnavailable !== 'auto') {
      yield* batches(nodes, this.req.maxUnavailable);
      return;
    }
    const r = this.deps.reporter;
    const left = [...nodes];
    for (let n = 1; left.length > 0; n++) {
      const planned = await this.nodeBatches(left);
      const batch = planned.batches[0];
      r.info(`--max-unavailable auto: batch ${n}: ${batch.join(', ')} (${left.length} node${left.length === 1 ? '' : 's'} left, planned as ${planned.batches.map((b) => `[${b.join(', ')}]`).join(' ')})`);
      for (const why of planned.reasons) if (batch.includes(why.split(':')[0]) || planned.batches[1]?.includes(why.split(':')[0])) r.info(`  ${why}`);
      for (const w of planned.warnings) if (batch.some((b) => w.startsWith(`${b} `))) r.warn(w);
      for (const x of batch) left.splice(left.indexOf(x), 1);
      yield batch;
    }
  }

  private get atATime(): string {
    return this.req.maxUnavailable === 'auto' ? 'in batches the topology allows' : `${this.req.maxUnavailable} at a time`;
  }

  /** --notify-url: one JSON message; a failure is a warning, never a reason to stop. */
  private async notify(event: NotifyEvent, node: string, extra: { result?: string; message?: string; bootIdBefore?: string; bootIdAfter?: string } = {}): Promise<void> {
    if (!this.req.notifyUrl) return;
    const err = await postNotification(this.req.notifyUrl, { event, node, operationId: this.operationId, time: this.now().toISOString(), ...extra });
    if (err) this.deps.reporter.warn(err);
  }

  private async labelNode(node: string, labels: Record<string, string> | undefined): Promise<void> {
    if (!labels || Object.keys(labels).length === 0) return;
    await patchObject(this.kube, NODES, undefined, node, { metadata: { labels } }, { kind: 'merge', idempotent: true });
    this.deps.reporter.info(`${node}: labelled ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }

  /**
   * Waits until every gate is open (the 'gates' and 'recheck-gates' steps). Outside the window with --window-action
   * stop, or still blocked (by anything but the window) after --timeout: RefusedError, to be resumed later.
   */
  private async passGates(node: string): Promise<void> {
    const r = this.deps.reporter;
    const g = this.gates.opts;
    if (!hasGates(g)) return;
    const deadline = Date.now() + this.req.timeoutMs;
    let last = '';
    for (;;) {
      this.check();
      const nowMs = this.now().getTime();
      const st = await this.gates.evaluate(nowMs);
      if (st.closed.length === 0) return;
      const why = st.closed.join('; ');
      if (st.outsideWindow && g.windowAction === 'stop') {
        throw new RefusedError(`${node}: ${why}, so drain-reboot stops here (--window-action stop)`, { hint: 'run the same command again inside the window: it resumes where it stopped' });
      }
      if (!st.onlyWindow && Date.now() >= deadline) {
        throw new RefusedError(`${node} was held for ${formatDuration(this.req.timeoutMs)} by closed gates: ${why}`, { hint: 'a gate that cannot be evaluated is closed; run the same command again when the gates are open: it resumes where it stopped' });
      }
      if (why !== last) {
        const opens = st.outsideWindow && g.window ? nextOpening(g.window, nowMs) : undefined;
        r.info(`${node}: waiting: ${why}${opens !== undefined && opens !== nowMs ? ` (it opens at ${new Date(opens).toISOString()})` : ''}`);
        last = why;
      }
      await abortableSleep(this.req.gateIntervalMs ?? 30_000, this.deps.signal);
    }
  }

  private async resolve(): Promise<string[]> {
    const all = await this.helper.listNodes();
    const { nodes, error } = resolveNodes(all, this.req.nodes, this.req.selector);
    if (error) throw new RefusedError(error, { hint: 'kubectl get nodes lists them' });
    return nodes;
  }

  // ---------------------------------------------------------------- dry run

  private get rebootNamespace(): string {
    return this.req.rebootNamespace ?? SYSTEM_NAMESPACE;
  }

  async plan(): Promise<PlanRow[]> {
    const rows: PlanRow[] = [];
    const backend = new ConfigMapJournalBackend(this.kube, SYSTEM_NAMESPACE);
    const live = await backend.load(JOURNAL_NAME);
    if (live && ['running', 'aborting', 'failed'].includes(live.doc.state)) {
      rows.push({ node: '-', step: 'journal', action: `${live.doc.operation} ${live.doc.id} by ${live.doc.holder} is ${live.doc.state}: a run would ${this.req.abort ? 'abort' : 'resume or refuse'} it` });
    }
    const lease = await this.kube.get({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true }, SYSTEM_NAMESPACE, LEASE_NAME);
    const spec = lease?.spec as LeaseSpec | undefined;
    const me = `kubectl-redis:${this.holder}/${process.pid} op=${live?.doc.id ?? '?'}`;
    const decision = decideLease({
      spec, held: readHolderInfo(spec, lease?.metadata.annotations), me: localHolderInfo(me, live?.doc.id),
      journalOperation: live?.doc.id, nowMs: Date.now(), alive: pidAlive,
    });
    if (spec?.holderIdentity && !leaseExpired(spec, Date.now())) {
      rows.push({ node: '-', step: 'lock', action: `lease ${SYSTEM_NAMESPACE}/${LEASE_NAME} is held by ${spec.holderIdentity}: a run would ${decision.kind === 'take-over' ? 'take it over' : 'refuse'} (${decision.kind === 'acquire' ? 'expired' : decision.reason})` });
    } else rows.push({ node: '-', step: 'lock', action: `take lease ${SYSTEM_NAMESPACE}/${LEASE_NAME} (held and renewed for the whole run)` });
    if (this.req.abort) {
      rows.push({ node: '-', step: 'abort', action: 'uncordon every node this run cordoned, remove our marks, release the lease' });
      return rows;
    }
    const nodes = this.req.resume && live ? ((live.doc.facts.nodes as string[] | undefined) ?? []) : await this.resolve();
    const fmt = (ms: number) => formatDuration(ms);
    const planned = await this.nodeBatches(nodes);
    if (this.req.maxUnavailable === 'auto') {
      rows.push({ node: '-', step: 'batches', action: `--max-unavailable auto: ${planned.batches.length} batch${planned.batches.length === 1 ? '' : 'es'} for ${nodes.length} node${nodes.length === 1 ? '' : 's'}: ${planned.batches.map((b, i) => `${i + 1}: ${b.join(', ')}`).join('; ')}` });
      for (const why of planned.reasons) rows.push({ node: '-', step: 'batches', action: `  ${why}` });
      for (const w of planned.warnings) rows.push({ node: '-', step: 'batches', action: `  WARNING: ${w}` });
    }
    for (const [bi, batch] of planned.batches.entries()) {
      for (const node of batch) {
        const n = await this.helper.getNode(node);
        const why = whyNodeNotStartable(n, node);
        const prefix = batch.length > 1 ? `(batch ${bi + 1}) ` : '';
        const moves: PlanRow[] = [];
        for (const step of NODE_STEPS) {
          let action = prefix + stepTitle(node, step, this.stepOpts, fmt);
          if (step === 'precheck') {
            if (why) action += `: WOULD REFUSE: ${why}`;
            else {
              const on = await this.guard.targetsOnNode(node);
              const problems = on.flatMap((t) => healthProblems(t.observed, diagnose(t.observed)).map((p) => `${t.target.ref}: ${p}`));
              action += on.length === 0 ? ': no Redis pods on it' : `: ${on.map((t) => t.target.ref).join(', ')}`;
              if (problems.length > 0) action += `; WOULD REFUSE: ${problems.join('; ')}`;
              for (const t of on) for (const m of masterMoves(t.observed, node)) moves.push({ node, step: 'move-masters', action: `  ${describeMove(m, t.target.ref)}` });
            }
          }
          if (step === 'gates' && hasGates(this.gates.opts)) {
            const st = await this.gates.evaluate(this.now().getTime());
            action += st.closed.length ? `; NOW CLOSED: ${st.closed.join('; ')}` : '; now open';
          }
          if (step === 'cordon' && n && isCordoned(n)) action += ' (already cordoned by someone: it stays cordoned afterwards)';
          if (step === 'drain') {
            const sel = await this.helper.selection(node);
            action += `: ${sel.evict.length} pod${sel.evict.length === 1 ? '' : 's'}${sel.evict.length ? ` (${sel.evict.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ')})` : ''}`;
            // what stays, as Kured leaves it (DaemonSet pods come back at once; the kubelet owns mirror pods)
            const daemons = sel.warnings.get('ignoring DaemonSet-managed Pods') ?? [];
            const left = [...daemons.map((p) => `DaemonSet pod ${p}`), ...sel.mirror.map((p) => `mirror pod ${p}`)];
            if (left.length > 0) action += `; leaves ${left.join(', ')}`;
            if (sel.errors.size > 0) action += `; WOULD REFUSE: ${describeDrainErrors(node, sel.errors)}`;
          }
          rows.push({ node, step, action });
          if (step === 'move-masters') rows.push(...(moves.length ? moves : [{ node, step, action: '  no master on it' }]));
        }
      }
    }
    return rows;
  }

  // ---------------------------------------------------------------- run

  async run(): Promise<Outcome> {
    // a namespace whose Pod Security forbids the reboot pod is named before anything changes (dry run too)
    if (this.req.rebootMethod === 'pod' && !this.req.abort) await this.helper.checkRebootPodAdmitted(this.rebootNamespace, this.req.rebootImage);
    if (this.req.dryRun) return { kind: 'plan', rows: await this.plan() };
    const backend = new ConfigMapJournalBackend(this.kube, SYSTEM_NAMESPACE);
    const found = await backend.load(JOURNAL_NAME);
    const live = found && ['running', 'aborting', 'failed'].includes(found.doc.state) ? found.doc : undefined;
    if ((this.req.abort || this.req.resume) && !live) {
      throw new RefusedError(`there is no drain-reboot in progress to ${this.req.abort ? 'abort' : 'resume'}`, { hint: `kubectl get configmap ${JOURNAL_NAME} -n ${SYSTEM_NAMESPACE} -o yaml shows the last one` });
    }
    const nodes = live && (this.req.resume || this.req.abort) ? ((live.facts.nodes as string[] | undefined) ?? []) : await this.resolve();
    this.operationId = live?.id ?? newOperationId();
    if (!this.req.abort) {
      const unusable = await this.gates.validate();
      if (unusable) throw new RefusedError(`${unusable}; a gate that cannot be evaluated is closed, so nothing was started`, { hint: 'check --prometheus-url (kubectl port-forward to it works too)' });
    }
    const question = this.req.abort
      ? `Abort drain-reboot ${this.operationId}: uncordon the nodes it cordoned (${nodes.join(', ')}) and release its lock?`
      : this.req.noReboot
        ? `Drain ${nodes.length === 1 ? 'node' : 'nodes'} ${nodes.join(', ')} without rebooting (${this.atATime}; ${this.req.uncordon ? 'uncordoned at the end' : 'left cordoned'})?`
        : `Drain and reboot ${nodes.length === 1 ? 'node' : 'nodes'} ${nodes.join(', ')} (${this.atATime}, reboot method ${this.req.rebootMethod})?`;
    if (!(await this.deps.confirm(question))) return { kind: 'cancelled' };

    const holder = `kubectl-redis:${this.holder}/${process.pid} op=${this.operationId}`;
    const lease = new LeaseLock(this.kube, {
      namespace: SYSTEM_NAMESPACE, name: LEASE_NAME, holder, durationSeconds: 60,
      purpose: 'drain-reboot', labels: { 'app.kubernetes.io/managed-by': 'kubectl-redis' },
      // a holder of this host killed in the middle of the journal's operation is taken over at once, not in 60 s
      holderInfo: localHolderInfo(holder, this.operationId), journalOperation: found?.doc.id,
      onLost: (reason) => this.deps.abort(`lost the drain-reboot lock: ${reason}`),
    });
    const { tookOverFrom } = await lease.acquire();
    if (tookOverFrom) this.deps.reporter.info(`took the drain-reboot lock over from ${tookOverFrom}`);
    try {
      const args: Record<string, unknown> = this.req.resume || this.req.abort ? {} : {
        nodes: this.req.nodes.length ? this.req.nodes : undefined, selector: this.req.selector, maxUnavailable: this.req.maxUnavailable,
        rebootMethod: this.req.rebootMethod, rebootCommand: this.req.rebootCommand,
      };
      this.journal = new SerialJournal(await Journal.open(backend, JOURNAL_NAME, {
        operation: OPERATION, target: 'nodes', holder: this.holder, args, newId: () => this.operationId, now: this.now, abort: this.req.abort,
      }));
      if (this.journal.resumed && !this.req.abort) this.deps.reporter.info(`resuming drain-reboot ${this.operationId} from its journal (${SYSTEM_NAMESPACE}/${JOURNAL_NAME})`);
      if (!this.journal.fact('nodes')) await this.journal.setFact('nodes', nodes);
      if (this.req.abort) return { kind: 'run', results: await this.abortAll(nodes), operationId: this.operationId };
      return await this.runAll(nodes);
    } finally {
      await lease.release().catch(() => undefined);
    }
  }

  private async runAll(nodes: string[]): Promise<Outcome> {
    const journal = this.journal!;
    const results: NodeResult[] = [];
    const total = nodes.length * NODE_STEPS.length;
    for await (const batch of this.batchesOf(nodes)) {
      const runs: NodeRun[] = batch.map((node) => ({
        node, batch, base: nodes.indexOf(node) * NODE_STEPS.length, total, started: Date.now(),
        result: { node, result: 'rebooted', mastersMoved: [], podsEvicted: 0, durationMs: 0 },
      }));
      let error: KubectlRedisError | undefined;
      const stopped: Promise<void>[] = [];
      const failed = (run: NodeRun, e: unknown) => {
        const err = e instanceof KubectlRedisError ? e : new KubectlRedisError(errText(e), { cause: e });
        const interrupted = this.deps.signal.aborted;
        const result = interrupted ? 'interrupted' : err instanceof RefusedError ? 'not-rebooted' : 'failed';
        results.push({ ...run.result, result, durationMs: Date.now() - run.started, message: err.message });
        stopped.push(this.notify('stopped', run.node, { result, message: err.message, bootIdBefore: run.result.bootIdBefore }));
        error ??= err;
      };
      // every node of the batch is checked and cordoned before any pod moves, so nothing moves onto a batch peer
      const prepared: NodeRun[] = [];
      for (const run of runs) {
        try {
          if (await this.prepare(run)) prepared.push(run);
          else results.push(run.result);
        } catch (e) {
          failed(run, e);
          break;
        }
      }
      if (error && !this.deps.signal.aborted) {
        for (const run of prepared) await this.undoCordon(run.node);
        prepared.length = 0;
      }
      const settled = await Promise.allSettled(prepared.map((run) => this.rest(run)));
      settled.forEach((x, i) => (x.status === 'fulfilled' ? results.push(x.value) : failed(prepared[i], x.reason)));
      await Promise.all(stopped);
      if (error) {
        const interrupted = this.deps.signal.aborted;
        await journal.fail(interrupted ? `interrupted: ${error.message}` : error.message).catch(() => undefined);
        if (interrupted) {
          const left = await this.ourCordonedNodes(nodes);
          error = new KubectlRedisError(`drain-reboot ${this.operationId} was interrupted${error.message === 'interrupted' ? '' : ` (${error.message})`}${left.length ? `; ${left.join(', ')} ${left.length === 1 ? 'is' : 'are'} left cordoned by it` : ''}`, {
            hint: 'run the same command again to resume, or with --abort to uncordon and stop',
          });
        }
        results.sort((a, b) => nodes.indexOf(a.node) - nodes.indexOf(b.node));
        return { kind: 'run', results, operationId: this.operationId, error };
      }
    }
    await journal.finish('done');
    results.sort((a, b) => nodes.indexOf(a.node) - nodes.indexOf(b.node));
    return { kind: 'run', results, operationId: this.operationId };
  }

  /** A batch peer failed its precheck: give back a node we cordoned in this run before anything moved off it. */
  private async undoCordon(node: string): Promise<void> {
    const j = this.journal!;
    if (j.isDone(stepKey(node, 'move-masters')) || j.isDone(stepKey(node, 'drain'))) return;
    await this.helper.release(node, j.fact<boolean>(`${node}:cordonedBefore`) === true).catch(() => undefined);
    await this.forgetNode(node);
    this.deps.reporter.info(`${node}: uncordoned again (another node of its batch was refused)`);
  }

  private async ourCordonedNodes(nodes: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const name of nodes) {
      const n = await this.helper.getNode(name).catch(() => undefined);
      if (n && readNodeMark(n)?.operationId === this.operationId) out.push(name);
    }
    return out;
  }

  private async forgetNode(node: string): Promise<void> {
    const j = this.journal!;
    for (const step of NODE_STEPS) if (j.isDone(stepKey(node, step)) || j.wasStarted(stepKey(node, step))) await j.undone(stepKey(node, step));
  }

  private mark(node: string, step: NodeStep): NodeMark {
    const j = this.journal!;
    return {
      operationId: this.operationId, holder: this.holder, step, startedAt: j.fact<string>(`${node}:startedAt`) ?? this.now().toISOString(),
      cordonedBefore: j.fact<boolean>(`${node}:cordonedBefore`) === true, bootIdBefore: j.fact<string>(`${node}:bootIdBefore`),
    };
  }

  private event(node: string, reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal'): void {
    void recordEvent(this.kube, { apiVersion: 'v1', kind: 'Node', name: node, namespace: 'default' }, { reason, message, type, action: 'DrainReboot' });
  }

  private async targetsFor(node: string): Promise<Target[]> {
    const refs = this.journal!.fact<TargetRef[]>(`${node}:targets`) ?? [];
    const all = await discoverAll(this.kube, this.req.namespace);
    return all.filter((t) => refs.some((r) => r.namespace === t.namespace && r.ref === t.ref));
  }

  private begin(run: NodeRun, s: NodeStep, note = ''): void {
    this.deps.reporter.step(run.base + NODE_STEPS.indexOf(s) + 1, run.total, `${run.node}: ${stepTitle(run.node, s, this.stepOpts, formatDuration)}${note}`);
  }

  private check(): void {
    if (this.deps.signal.aborted) throw new TimeoutError('interrupted');
  }

  /**
   * precheck + cordon (or, resumed, the check that the node is still ours). False: the node was finished by an
   * earlier run of this operation. Nothing has moved off the node when this returns.
   */
  private async prepare(run: NodeRun): Promise<boolean> {
    const { node, result } = run;
    const j = this.journal!;
    const r = this.deps.reporter;
    const key = (s: NodeStep) => stepKey(node, s);
    const begin = (s: NodeStep, note = '') => this.begin(run, s, note);
    const check = () => this.check();
    if (j.isDone(key('redis-healthy'))) {
      r.info(`${node}: already done by this drain-reboot`);
      Object.assign(result, { bootIdBefore: j.fact(`${node}:bootIdBefore`), bootIdAfter: j.fact(`${node}:bootIdAfter`), message: 'done earlier' });
      return false;
    }

    // Kured's gates, then --only-needed: nothing is touched while one is closed
    if (!j.isDone(key('cordon'))) {
      begin('gates');
      await this.passGates(node);
      const g = this.gates.opts;
      if (g.onlyNeeded) {
        let needed: boolean;
        try {
          needed = await this.gates.rebootNeeded(node, Math.min(this.req.timeoutMs, 120_000));
        } catch (e) {
          throw new RefusedError(`cannot tell whether ${node} needs a reboot (${errText(e)}); not touching it`, { hint: 'a gate that cannot be evaluated is closed; kubectl describe pod -n ' + g.namespace + ' shows why the sentinel pod did not run' });
        }
        if (!needed) {
          const what = g.rebootSentinelCommand !== undefined ? 'the --reboot-sentinel-command exited non-zero' : `${g.rebootSentinel} not found`;
          r.info(`${node}: ${what}: no reboot needed (--only-needed); not touching it`);
          Object.assign(result, { result: 'not-needed', message: what });
          return false;
        }
        r.info(`${node}: ${g.rebootSentinelCommand !== undefined ? 'the --reboot-sentinel-command exited 0' : `${g.rebootSentinel} is there`}: it needs a reboot`);
      }
      await j.done(key('gates'));
    }

    // precheck: nothing changes until it passes
    if (!j.isDone(key('cordon'))) {
      begin('precheck');
      const n = await this.helper.getNode(node);
      const why = whyNodeNotStartable(n, node);
      if (why) throw new RefusedError(why);
      const other = readNodeMark(n!);
      if (other && other.operationId !== this.operationId) {
        throw new RefusedError(`node "${node}" is marked by another drain-reboot (${other.operationId} by ${other.holder}, step ${other.step}); not touching it`, {
          hint: 'let that run finish, or abort it with drain-reboot --abort from where it ran',
        });
      }
      const sel = await this.helper.selection(node);
      if (sel.errors.size > 0) throw new RefusedError(describeDrainErrors(node, sel.errors), { hint: 'nothing was changed' });
      const on = await this.guard.targetsOnNode(node);
      for (const w of this.guard.precheck(node, on)) r.warn(w);
      r.info(on.length ? `Redis with pods on ${node}: ${on.map((t) => `${t.target.namespace}/${t.target.ref}`).join(', ')}` : `no Redis pods on ${node}`);
      await j.setFact(`${node}:targets`, on.map((t) => ({ namespace: t.target.namespace, ref: t.target.ref })));
      // our own mark (a run of this operation stopped after cordoning) knows whether it was cordoned before we came
      await j.setFact(`${node}:cordonedBefore`, other ? other.cordonedBefore : isCordoned(n!));
      await j.setFact(`${node}:bootIdBefore`, bootId(n!));
      await j.setFact(`${node}:startedAt`, this.now().toISOString());
      await j.done(key('precheck'));
    }
    const cordonedBefore = j.fact<boolean>(`${node}:cordonedBefore`) === true;
    result.bootIdBefore = j.fact<string>(`${node}:bootIdBefore`);

    // cordon + mark
    if (!j.isDone(key('cordon'))) {
      check();
      begin('cordon', cordonedBefore ? ' (it was already cordoned: we will leave it cordoned)' : '');
      await this.notify('start', node, { bootIdBefore: result.bootIdBefore });
      await this.labelNode(node, this.req.preRebootLabels);
      await this.helper.cordon(node, this.mark(node, 'cordon'));
      this.event(node, 'DrainRebootStarted', `kubectl-redis drain-reboot ${this.operationId} by ${this.holder} cordoned the node`);
      await j.done(key('cordon'));
    } else if (!j.isDone(key('reboot')) && !j.wasStarted(key('reboot'))) {
      // resumed: is the node still ours?
      const n = await this.helper.mustGetNode(node);
      const mark = readNodeMark(n);
      if (!isCordoned(n) || mark?.operationId !== this.operationId) {
        if (mark?.operationId === this.operationId) await this.helper.dropMark(node);
        await this.forgetNode(node);
        throw new RefusedError(`node "${node}" was ${!isCordoned(n) ? 'uncordoned' : 'taken over by someone else'} while this drain-reboot was stopped; it was not rebooted`, {
          hint: 'run drain-reboot for it again to start over',
        });
      }
    }

    return true;
  }

  /** move masters -> drain -> delay -> re-check + reboot -> uncordon -> Redis healthy. */
  private async rest(run: NodeRun): Promise<NodeResult> {
    const { node, batch, result } = run;
    const j = this.journal!;
    const r = this.deps.reporter;
    const key = (s: NodeStep) => stepKey(node, s);
    const begin = (s: NodeStep, note = '') => this.begin(run, s, note);
    const check = () => this.check();
    const cordonedBefore = j.fact<boolean>(`${node}:cordonedBefore`) === true;
    result.bootIdBefore = j.fact<string>(`${node}:bootIdBefore`);

    // move masters + drain: on failure uncordon at once (kured#1129), unless we were interrupted (resume)
    try {
      if (!j.isDone(key('move-masters'))) {
        check();
        begin('move-masters');
        await this.helper.updateMark(node, this.mark(node, 'move-masters'));
        const on = await this.guard.targetsOnNode(node);
        result.mastersMoved = await this.guard.moveMasters(node, on, (ns, pod) => this.helper.evictOne(ns, pod), this.req.timeoutMs, () => batch.filter((x) => x !== node && !j.isDone(stepKey(x, 'uncordon'))));
        for (const m of result.mastersMoved) r.info(`moved ${m}`);
        await j.done(key('move-masters'), result.mastersMoved.join('; '));
      }
      if (!j.isDone(key('drain'))) {
        check();
        begin('drain');
        await this.helper.updateMark(node, this.mark(node, 'drain'));
        const sel = await this.helper.selection(node);
        if (sel.errors.size > 0) throw new RefusedError(describeDrainErrors(node, sel.errors));
        for (const [msg, pods] of sel.warnings) r.warn(`${msg}: ${pods.join(', ')}`);
        if (this.req.disableEviction && sel.evict.length > 0) r.warn(`--disable-eviction: deleting ${sel.evict.length} pod${sel.evict.length === 1 ? '' : 's'} of ${node} instead of evicting them; PodDisruptionBudgets are not checked`);
        const { evicted } = await this.helper.evictAndWait(sel.evict);
        result.podsEvicted = evicted.length;
        await j.done(key('drain'), `${evicted.length} pods`);
      }
    } catch (e) {
      if (this.deps.signal.aborted) throw e;
      // when the API server does not answer the uncordon either, the node stays ours, journaled for --resume
      const released = await this.helper.release(node, cordonedBefore).then(() => true, () => false);
      if (released) await this.forgetNode(node);
      this.event(node, 'DrainRebootFailed', `drain failed${released ? ', node uncordoned' : ''}: ${errText(e)}`, 'Warning');
      if (e instanceof RefusedError && released) throw new RefusedError(`${e.message}; "${node}" was uncordoned again and not rebooted`, { hint: e.hint });
      throw drainFailed(node, e, !cordonedBefore && released, released ? undefined : this.operationId);
    }

    // the delay, then the seed-004 re-check (inside claimForReboot)
    if (this.req.noReboot) {
      for (const s of ['delay', 'recheck-gates', 'reboot'] as const) if (!j.isDone(key(s))) await j.done(key(s), 'skipped (--no-reboot)');
      result.result = 'drained';
    }
    if (!j.isDone(key('delay'))) {
      check();
      begin('delay');
      await this.helper.updateMark(node, this.mark(node, 'delay'));
      await abortableSleep(this.req.delayMs, this.deps.signal);
      await j.done(key('delay'));
    }

    // the gates again, right before the reboot (they were open before the drain; the drain took a while)
    if (!j.isDone(key('reboot')) && !j.wasStarted(key('reboot'))) {
      check();
      begin('recheck-gates');
      try {
        await this.passGates(node);
      } catch (e) {
        if (this.deps.signal.aborted || !(e instanceof RefusedError)) throw e;
        const released = await this.helper.release(node, cordonedBefore).then(() => true, () => false);
        if (released) await this.forgetNode(node);
        this.event(node, 'RebootSkipped', e.message, 'Warning');
        throw new RefusedError(`${e.message}; "${node}" was ${released ? (cordonedBefore ? 'released' : 'uncordoned again') : 'left cordoned'} and not rebooted`, { hint: e.hint });
      }
      await j.done(key('recheck-gates'));
    }

    if (!j.isDone(key('reboot'))) {
      check();
      begin('reboot');
      const n = await this.helper.mustGetNode(node);
      const before = result.bootIdBefore;
      const alreadyRebooted = j.wasStarted(key('reboot')) && bootId(n) !== before;
      if (!alreadyRebooted) {
        try {
          await this.helper.claimForReboot(node, this.operationId, this.mark(node, 'reboot'));
        } catch (e) {
          if (e instanceof RefusedError) {
            const again = await this.helper.getNode(node);
            if (again && readNodeMark(again)?.operationId === this.operationId) await this.helper.dropMark(node);
            await this.forgetNode(node);
            this.event(node, 'RebootSkipped', e.message, 'Warning');
            r.warn(e.message);
          }
          throw e;
        }
        check();
        await j.started(key('reboot'), `method ${this.req.rebootMethod}`);
        this.event(node, 'Rebooting', `kubectl-redis drain-reboot ${this.operationId} reboots the node (${this.req.rebootMethod})`);
        if (this.req.rebootMethod === 'pod') {
          const pod = await this.helper.startRebootPod(node, this.operationId, this.rebootNamespace, this.req.rebootImage);
          r.info(`created reboot pod ${this.rebootNamespace}/${pod} (image ${this.req.rebootImage ?? DEFAULT_REBOOT_IMAGE})`);
        } else if (this.req.rebootMethod === 'command') {
          const code = await this.helper.runRebootCommand(node, this.req.rebootCommand ?? '');
          if (code !== 0) r.warn(`--reboot-command exited ${code} (a reboot often cuts its own connection); waiting for the new boot ID anyway`);
        } else {
          r.info(`waiting for ${node} to be rebooted by someone else (--reboot-method none)`);
        }
      }
      const back = await this.helper.waitRebooted(node, before, this.req.timeoutMs, (s) => r.info(`${node}: ${s}`));
      result.bootIdAfter = bootId(back);
      r.info(`${node} is back: boot ID ${before ?? '?'} -> ${result.bootIdAfter ?? '?'}`);
      if (this.req.rebootMethod === 'pod') await this.helper.deletePod(this.rebootNamespace, `kubectl-redis-reboot-${node}`.slice(0, 63).replace(/-+$/, '')).catch(() => undefined);
      await j.setFact(`${node}:bootIdAfter`, result.bootIdAfter);
      await patchObject(this.kube, NODES, undefined, node, lastRebootPatch(this.now().toISOString(), this.operationId, result.bootIdAfter), { kind: 'merge', idempotent: true });
      await j.done(key('reboot'), `boot ID ${result.bootIdAfter}`);
      await this.notify('rebooted', node, { bootIdBefore: before, bootIdAfter: result.bootIdAfter });
    }
    result.bootIdAfter ??= j.fact<string>(`${node}:bootIdAfter`);

    if (!j.isDone(key('uncordon'))) {
      begin('uncordon');
      const keepCordoned = this.req.noReboot === true && !this.req.uncordon;
      await this.helper.release(node, cordonedBefore || keepCordoned);
      await this.labelNode(node, this.req.postRebootLabels);
      if (keepCordoned) r.info(`${node} is drained and left cordoned (--no-reboot); kubectl uncordon ${node} gives it back`);
      else if (cordonedBefore) r.warn(`${node} stays cordoned: it was cordoned before drain-reboot started (uncordon it yourself when ready)`);
      this.event(node, 'DrainRebootUncordoned', `kubectl-redis drain-reboot ${this.operationId} ${this.req.noReboot ? 'drained' : 'rebooted'} the node${cordonedBefore || keepCordoned ? '; left cordoned' : ' and uncordoned it'}`);
      await j.done(key('uncordon'));
    }

    if (!j.isDone(key('redis-healthy'))) {
      begin('redis-healthy');
      const targets = await this.targetsFor(node);
      await this.guard.waitHealthy(targets, this.req.timeoutMs, (s) => r.info(s));
      await j.done(key('redis-healthy'));
      await this.notify('done', node, { result: result.result, bootIdBefore: result.bootIdBefore, bootIdAfter: result.bootIdAfter });
    }
    result.durationMs = Date.now() - run.started;
    return result;
  }

  // ---------------------------------------------------------------- abort

  private async abortAll(nodes: string[]): Promise<NodeResult[]> {
    const r = this.deps.reporter;
    const results: NodeResult[] = [];
    for (const [i, node] of nodes.entries()) {
      r.step(i + 1, nodes.length, `${node}: undo what drain-reboot ${this.operationId} did`);
      const n = await this.helper.getNode(node);
      const mark = n ? readNodeMark(n) : undefined;
      if (n && mark?.operationId === this.operationId) {
        await this.helper.release(node, mark.cordonedBefore);
        r.info(mark.cordonedBefore ? `${node}: removed our mark (it stays cordoned: it was cordoned before)` : `${node}: uncordoned and unmarked`);
        this.event(node, 'DrainRebootAborted', `kubectl-redis drain-reboot ${this.operationId} was aborted; node uncordoned`);
      } else {
        r.info(`${node}: nothing of ours on it`);
      }
      await this.helper.deletePod(this.rebootNamespace, `kubectl-redis-reboot-${node}`.slice(0, 63).replace(/-+$/, '')).catch(() => undefined);
      results.push({ node, result: 'aborted', mastersMoved: [], podsEvicted: 0, durationMs: 0 });
    }
    await this.journal!.finish('aborted');
    return results;
  }
}
