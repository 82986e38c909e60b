// The operator hold of heal, restart and failover (decided by reconcile/hold.ts): pause the target's running
// operator with its own key for the length of the work, recorded as by `kubectl-redis <command> op=<id>` with
// `until` a few minutes ahead (renewed as the work goes on), and resume it at the end. Applied through the same
// plan/patch/Event path as `kubectl redis pause` (./index.ts). The hold is journaled before the patch, so a crash
// leaves it recorded: the re-run (same op id) adopts the pause and resumes it at its end, and so does --abort.
// Someone else's pause is left as it is and not resumed.
import type { KubeClient } from '../../kube/client.js';
import { decideHold, holdMarker, HOLD_MS, parseHoldMarker, type HoldDecision } from '../../reconcile/hold.js';
import { planPause, planResume } from '../../reconcile/pause.js';
import type { TargetContext } from '../../reconcile/session.js';
import { AUDIT_KEYS, type Target } from '../../targets/index.js';
import { applyPauseRetrying, type PauseContext } from './index.js';

/** Where the hold is journaled: the operation's Journal (reconcile/journal.ts) fits. */
export interface HoldJournal {
  fact<T>(key: string): T | undefined;
  setFact(key: string, value: unknown): Promise<void>;
}

export interface HoldFact {
  by: string;
  object: string;
  state: 'pausing' | 'paused' | 'released';
}

export const HOLD_FACT = 'operatorHold';

export interface HoldOptions {
  /** the command, as in the marker: heal, restart, failover */
  command: string;
  opId: string;
  journal?: HoldJournal;
  noPause: boolean;
  /** a command without a journal (heal) takes over a pause an earlier run of it left behind */
  adoptAnyOfCommand?: boolean;
  forMs?: number;
  now?: () => Date;
}

function mechanismText(ctx: TargetContext): string {
  const m = ctx.mechanism;
  return m.type === 'annotation' ? `${m.key}=${m.value}` : m.why;
}

export class OperatorHold {
  private released = false;

  private constructor(
    private readonly kube: KubeClient,
    private readonly ctx: TargetContext,
    private readonly opts: HoldOptions,
    readonly marker: string,
    readonly decision: HoldDecision,
  ) {}

  /** One line for progress: what the hold did. */
  get note(): string {
    const ref = this.ctx.target.ref;
    switch (this.decision.action) {
      case 'pause': return `paused the operator of ${ref} (${mechanismText(this.ctx)}) as ${this.marker} until the work ends`;
      case 'adopt': return `the operator of ${ref} stays paused by ${this.decision.by} (from the interrupted run) until the work ends`;
      case 'leave': return `the operator of ${ref} is not paused by this run: ${this.decision.why}`;
    }
  }

  get warn(): boolean {
    return this.decision.action === 'leave' && this.decision.warn;
  }

  /** Whether this run holds the operator (and resumes it at the end). */
  get holding(): boolean {
    return this.decision.action !== 'leave' && !this.released;
  }

  /** Decide and, when it says so, pause. `dryRun` decides only. */
  static async take(kube: KubeClient, ctx: TargetContext, opts: HoldOptions & { dryRun?: boolean }): Promise<OperatorHold> {
    const marker = holdMarker(opts.command, opts.opId);
    const target = await fresh(kube, ctx.target);
    const decision = decideHold({
      annotations: target.object.metadata.annotations ?? {}, mechanism: ctx.mechanism, audit: AUDIT_KEYS, operator: ctx.operator, marker, noPause: opts.noPause,
      adopt: (by) => by === marker || (opts.adoptAnyOfCommand === true && parseHoldMarker(by)?.command === opts.command),
    });
    const hold = new OperatorHold(kube, { ...ctx, target }, opts, decision.action === 'adopt' ? decision.by : marker, decision);
    if (opts.dryRun) return hold;
    if (decision.action === 'pause' || decision.action === 'adopt') {
      await opts.journal?.setFact(HOLD_FACT, { by: hold.marker, object: target.ref, state: 'pausing' } satisfies HoldFact);
      await hold.pauseOrRenew();
      await opts.journal?.setFact(HOLD_FACT, { by: hold.marker, object: target.ref, state: 'paused' } satisfies HoldFact);
    }
    return hold;
  }

  /** Move `until` ahead again (long work: a restart of many pods). */
  async renew(): Promise<void> {
    if (this.holding) await this.pauseOrRenew();
  }

  /** Resume the operator if this run holds it; idempotent. */
  async release(): Promise<void> {
    if (!this.holding) return;
    const build = async (): Promise<PauseContext> => {
      const target = await fresh(this.kube, this.ctx.target);
      const plan = planResume({ object: target.ref, annotations: target.object.metadata.annotations ?? {}, mechanism: this.ctx.mechanism, audit: AUDIT_KEYS, user: this.marker, force: false });
      return { target, plan, user: this.marker, mechanismText: mechanismText(this.ctx) };
    };
    const first = await build();
    // Someone took the pause over meanwhile (kubectl redis pause --force): theirs now, left as it is.
    if (first.target.object.metadata.annotations?.[AUDIT_KEYS.by] === this.marker || !first.target.object.metadata.annotations?.[AUDIT_KEYS.by]) {
      await applyPauseRetrying(this.kube, first, 'resume', undefined, build);
    }
    this.released = true;
    await this.opts.journal?.setFact(HOLD_FACT, { by: this.marker, object: this.ctx.target.ref, state: 'released' } satisfies HoldFact);
  }

  private async pauseOrRenew(): Promise<void> {
    const reason = `${this.opts.command} in progress (${this.marker}); resumed when it ends`;
    const build = async (): Promise<PauseContext> => {
      const target = await fresh(this.kube, this.ctx.target);
      const plan = planPause({
        object: target.ref, annotations: target.object.metadata.annotations ?? {}, mechanism: this.ctx.mechanism, audit: AUDIT_KEYS, user: this.marker,
        reason, now: (this.opts.now ?? (() => new Date()))(), forMs: this.opts.forMs ?? HOLD_MS, force: false, operatorScaleDown: false,
      });
      return { target, plan, user: this.marker, mechanismText: mechanismText(this.ctx) };
    };
    await applyPauseRetrying(this.kube, await build(), 'pause', reason, build);
  }
}

/** The target object as it is now (its annotations and resourceVersion). */
async function fresh(kube: KubeClient, target: Target): Promise<Target> {
  const object = await kube.get(target.resource, target.namespace, target.name);
  return object ? { ...target, object } : target;
}
