import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { RefusedError, KubectlRedisError, UsageError } from '../errors.js';
import { palette } from '../render/color.js';
import { renderOutput, toJson, toYaml, type OutputSpec } from '../render/output.js';
import { requirePermissions } from '../kube/access.js';
import { TargetSession } from '../reconcile/session.js';
import { FINDING_KINDS, type Action, type FindingKind, type PlanRow } from '../reconcile/types.js';
import { resolveTarget } from '../targets/index.js';
import { parseDuration } from '../util/duration.js';
import { heal, healable, type HealResult } from '../workflows/heal/index.js';
import { findingsText } from '../render/status.js';
import { buildReport } from '../workflows/status/report.js';

const planRows = (actions: Action[]): PlanRow[] => actions.map((a, i) => ({ n: i + 1, step: a.kind, pod: a.pod, action: a.description, why: a.why, risk: a.risk }));

/** The numbered plan: before asking (with each step's risk) and as the result of --dry-run. */
function planSpec(withRisk: boolean): OutputSpec<PlanRow> {
  return {
    columns: [
      { header: '#', value: (r) => r.n },
      { header: 'ACTION', value: (r) => r.step },
      { header: 'POD', value: (r) => r.pod },
      { header: 'WHAT', value: (r) => r.action },
      { header: 'WHY', value: (r) => r.why },
      ...(withRisk ? [{ header: 'RISK', value: (r: PlanRow) => r.risk }] : []),
    ],
  };
}

export default class Heal extends BaseCommand<typeof Heal> {
  static override summary = 'Repair a broken Redis Cluster, Sentinel or replication topology until redis-cli --cluster check passes.';
  static override description = `Observes every node's own view, diagnoses, prints the plan as a numbered table, asks, then applies it
step by step: each step re-checks its precondition right before it acts and waits for its postcondition. It observes
again and repeats (bounded by --max-rounds) until nothing is left to fix, then prints before and after.
Redis Cluster: MEET the new address of a restarted node, FORGET gone nodes on every node, close open slots, cover
uncovered slots, make every node agree on the slot map, REPLICATE orphan replicas, move replicas off their master's
Kubernetes node. Sentinel and replication: one master, every sentinel monitoring it, stale entries reset.
When data could be lost (two masters with diverged data) heal stops and shows both unless --prefer names the winner.
While it changes Redis, heal pauses the target's running operator with the operator's own key (recorded as by
"kubectl-redis heal op=<id>", until a few minutes ahead) and resumes it at the end; someone else's pause is left as it
is. --no-pause skips that, with a warning that the operator may fight the fix.`;
  static override examples = [
    { description: 'See what heal would do', command: '<%= config.bin %> heal rediscluster/orders -n redis --dry-run' },
    { description: 'Heal without a prompt', command: '<%= config.bin %> heal sts/cache -n redis --yes' },
    { description: 'Only close open slots and cover uncovered ones', command: '<%= config.bin %> heal rediscluster/orders -n redis --only open-slot,slots-uncovered' },
    { description: 'Two masters diverged: keep the data of one pod', command: '<%= config.bin %> heal rf/sessions -n redis --prefer rfr-sessions-1 --yes' },
  ];
  static override args = {
    target: Args.string({ description: 'The target: rediscluster/orders, rf/sessions, sts/cache, or a bare name when unambiguous.', required: true }),
  };
  static override flags = {
    prefer: Flags.string({ summary: 'The pod whose data wins when two masters diverged.' }),
    only: Flags.string({ summary: `Fix only these finding kinds (comma-separated): ${FINDING_KINDS.join(', ')}.` }),
    'max-rounds': Flags.integer({ summary: 'How many observe-plan-apply rounds at most.', default: 8, min: 1, max: 20 }),
    'step-timeout': Flags.string({ summary: 'How long one step may take to show its effect.', default: '60s' }),
    'no-pause': Flags.boolean({ summary: "Do not pause the target's running operator while healing (it may fight the fix).", default: false }),
  };

  private only(): FindingKind[] | undefined {
    if (!this.flags.only) return undefined;
    const kinds = this.flags.only.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = kinds.filter((k) => !(FINDING_KINDS as readonly string[]).includes(k));
    if (bad.length > 0) throw new UsageError(`--only: unknown finding kind ${bad.map((b) => `"${b}"`).join(', ')}; kinds are ${FINDING_KINDS.join(', ')}`);
    return kinds as FindingKind[];
  }

  private async printPlan(actions: Action[]): Promise<void> {
    process.stderr.write(await renderOutput('table', planRows(actions), planSpec(true)));
  }

  async run(): Promise<void> {
    const kube = await this.kube();
    const only = this.only();
    const stepTimeoutMs = parseDuration(this.flags['step-timeout'], 'step-timeout');
    const target = await resolveTarget(kube, this.args.target, kube.namespace);
    if (this.flags.prefer && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(this.flags.prefer)) throw new UsageError(`--prefer takes a pod name, not "${this.flags.prefer}"`);
    if (!this.flags['dry-run']) {
      await requirePermissions(kube, [
        ...(this.flags.direct ? [] : [{ verb: 'create', group: '', resource: 'pods', subresource: 'portforward', namespace: target.namespace }]),
        { verb: 'patch', group: '', resource: 'pods', namespace: target.namespace },
      ]);
    }
    const session = await TargetSession.open(kube, target, { direct: this.flags.direct });
    this.onCleanup(() => session.close());
    const c = palette(process.stderr);
    const progress = this.progress();
    const ctx = session.ctx;
    if (!this.flags['dry-run'] && !this.flags['no-pause'] && ctx.operator.running && !ctx.observeInput.pause.paused && ctx.mechanism.type === 'annotation') {
      // the operator hold pauses it with its own key while heal works
      await requirePermissions(kube, [{ verb: 'patch', group: target.resource.group, resource: target.resource.plural, namespace: target.namespace, name: target.name }]);
    }
    const result = await heal(session, {
      only, prefer: this.flags.prefer, maxRounds: this.flags['max-rounds'], dryRun: this.flags['dry-run'], postconditionTimeoutMs: stepTimeoutMs,
      confirm: async (actions, observed, findings) => {
        if (this.flags.prefer && !observed.pods.some((p) => p.name === this.flags.prefer)) {
          throw new UsageError(`--prefer: pod "${this.flags.prefer}" is not a pod of ${target.ref}`);
        }
        this.note(findingsText([buildReport(observed, healable(findings, only))], c, false));
        this.note(`\nPlan for ${target.ref} (${actions.length} step${actions.length === 1 ? '' : 's'}):`);
        await this.printPlan(actions);
        return this.confirm(`Apply these ${actions.length} steps to ${target.ref}?`);
      },
      progress: (e, round) => {
        const r = round > 1 ? ` (round ${round})` : '';
        if (e.type === 'start') progress.step(e.index, e.total, `${e.action.description}${r}`);
        else if (e.type === 'waiting') progress.info(e.state);
        else if (e.type === 'done') progress.info(`done in ${(e.ms / 1000).toFixed(1)} s`);
        else if (e.type === 'skip') progress.info(`step ${e.index}/${e.total} ${e.action.description}: ${e.reason}`);
      },
      onRound: (round, actions) => this.note(`round ${round}: ${actions.length} more step${actions.length === 1 ? '' : 's'} after observing again`),
      noPause: this.flags['no-pause'],
      onHold: (note, warn) => this.note(warn ? c.yellow(`warning: ${note}`) : note),
    });
    if (result.rounds.length > 0) progress.done(`heal of ${target.ref}: ${result.outcome}`);
    progress.stop();
    await this.report(result, target.ref);
  }

  private async report(result: HealResult, ref: string): Promise<void> {
    const c = palette(process.stdout);
    const summary = {
      target: ref, outcome: result.outcome, failure: result.failure, watchedMs: result.waitedMs,
      before: result.before.map((f) => ({ kind: f.kind, severity: f.severity, message: f.message })),
      after: result.after.map((f) => ({ kind: f.kind, severity: f.severity, message: f.message })),
      plan: result.firstPlan.outcome === 'actions' ? result.firstPlan.actions : [],
      steps: result.rounds.flatMap((r) => r.report?.done.map((a) => a.description) ?? []),
      unfixed: result.unfixed,
      refusal: result.firstPlan.outcome === 'refused' ? result.firstPlan : undefined,
    };
    if (this.outputFormat === 'json' || this.outputFormat === 'yaml') {
      this.out(this.outputFormat === 'json' ? toJson(summary) : await toYaml(summary));
    }
    const human = this.outputFormat === 'table' || this.outputFormat === 'wide';
    switch (result.outcome) {
      case 'nothing-to-do': {
        if (!human) return;
        const plural = (n: number) => `${n} finding${n === 1 ? '' : 's'}`;
        const mended = healable(result.before).length - healable(result.after).length;
        if (result.waitedMs !== undefined && mended > 0) this.out(`${ref}: nothing to heal; ${plural(mended)} Redis was mending (a replica reconnecting to its master) cleared while heal watched (${(result.waitedMs / 1000).toFixed(1)} s).`);
        const left = healable(result.after);
        if (left.length > 0) this.out(`${ref}: nothing heal can do for ${plural(left.length)}:\n${result.unfixed.map((u) => `  ${u.kind} (${u.pods.join(', ')}): ${u.reason}`).join('\n')}`);
        else if (result.waitedMs === undefined || mended <= 0) this.out(`${ref}: nothing to heal${result.after.length > 0 ? ` (${plural(result.after.length)} outside Redis topology; see kubectl redis status)` : ''}.`);
        return;
      }
      case 'dry-run':
        if (result.firstPlan.outcome === 'actions') {
          if (human) {
            this.out(`Plan for ${ref} (dry run, nothing changed):`);
            this.out(await renderOutput(this.outputFormat, planRows(result.firstPlan.actions), planSpec(false)));
          }
        }
        return;
      case 'declined':
        this.note('nothing was changed');
        return;
      case 'refused': {
        if (human && result.firstPlan.outcome === 'refused') {
          const cands = result.firstPlan.candidates;
          if (cands.length > 0) {
            this.note(await renderOutput('table', cands, {
              columns: [
                { header: 'POD', value: (r) => r.pod }, { header: 'ADDRESS', value: (r) => r.address }, { header: 'REPLID', value: (r) => r.replid },
                { header: 'OFFSET', value: (r) => r.offset }, { header: 'KEYS', value: (r) => r.dbsize ?? '-' },
              ],
            }));
          }
        }
        throw new RefusedError(result.failure ?? 'heal refused');
      }
      case 'healthy':
        if (human) {
          this.out(`${c.green('healed')} ${ref}: ${healable(result.before).length} finding(s) before, ${healable(result.after).length} after, in ${result.rounds.length} round(s) and ${summary.steps.length} step(s).`);
          const rest = result.after;
          if (rest.length > 0) this.out(`Left for other tools (not Redis topology):\n${rest.map((f) => `  ${f.kind}: ${f.message}`).join('\n')}`);
        }
        return;
      default:
        if (human && result.after.length > 0) this.note(`Still wrong:\n${result.after.map((f) => `  ${f.kind}: ${f.message}`).join('\n')}`);
        throw new KubectlRedisError(`heal of ${ref} did not finish: ${result.failure ?? result.outcome}`, { hint: `run kubectl redis status ${ref} to see where it stands; heal can be re-run safely` });
    }
  }
}
