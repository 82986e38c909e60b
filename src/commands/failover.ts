import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { KubectlRedisError, UsageError } from '../errors.js';
import { requirePermissions, type Permission } from '../kube/access.js';
import { TargetSession, type TargetContext } from '../reconcile/session.js';
import type { ApplyEvent } from '../reconcile/apply.js';
import type { FailoverPlan } from '../reconcile/failover.js';
import { resolveTarget, type Target } from '../targets/index.js';
import { parseDuration } from '../util/duration.js';
import { failover } from '../workflows/failover/index.js';
import { palette } from '../render/color.js';
import { renderOutput, toJson, toYaml } from '../render/output.js';
import { candidateSpec, type CandidateRow } from '../render/maintenance.js';
import type { Progress } from '../render/progress.js';

const POD_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * What failover and restart need to be allowed before they change anything (the port-forward verbs, which depend on
 * the server's version, TargetSession.open checks itself).
 */
export function maintenancePermissions(t: Target): Permission[] {
  return [
    { verb: 'patch', group: '', resource: 'pods', namespace: t.namespace },
    { verb: 'create', group: '', resource: 'configmaps', namespace: t.namespace },
  ];
}

/** The operator hold patches the target's object (its operator's pause key) when it will pause a running operator. */
export function holdPermissions(ctx: TargetContext, noPause: boolean): Permission[] {
  const t = ctx.target;
  if (noPause || !ctx.operator.running || ctx.observeInput.pause.paused || ctx.mechanism.type !== 'annotation') return [];
  return [{ verb: 'patch', group: t.resource.group, resource: t.resource.plural, namespace: t.namespace, name: t.name }];
}

/** Progress lines of one applied action. */
export function applyProgress(progress: Progress): (e: ApplyEvent) => void {
  return (e) => {
    if (e.type === 'start') progress.info(e.action.description);
    else if (e.type === 'waiting') progress.info(e.state);
    else if (e.type === 'done') progress.info(`done in ${(e.ms / 1000).toFixed(1)} s`);
    else if (e.type === 'skip') progress.info(`${e.action.description}: ${e.reason}`);
  };
}

export default class Failover extends BaseCommand<typeof Failover> {
  static override summary = 'Switch a master over to one of its replicas, planned: no acknowledged write lost, every node agreeing after.';
  static override description = `Redis Cluster: CLUSTER FAILOVER on the chosen replica (by default the most in-sync one on another
Kubernetes node than its master), then waits until every node sees the new master. Sentinel: SENTINEL FAILOVER, steered
to the chosen replica by setting the other replicas' replica-priority to 0 while it runs (restored after), then waits
until every sentinel names it. Replication without Sentinel: writes paused on the master until the replica has every
byte, the replica promoted, the others re-pointed. The role label the operator or chart keeps (its master Service selects
on it) follows. The target's running operator is paused with its own key meanwhile and resumed after (--no-pause skips).
Refused (exit 4): --to a pod that is not a replica of that master, no replica in sync (says how far behind), and
--force / --takeover while the master answers (they exist for a master that is gone, and lose the writes it had).`;
  static override examples = [
    { description: 'Move the master of one Redis Cluster shard to its best replica', command: '<%= config.bin %> failover rediscluster/orders -n redis --shard orders-leader-0' },
    { description: 'Make a named replica the master', command: '<%= config.bin %> failover rf/sessions -n redis --to rfr-sessions-2 --yes' },
    { description: 'See which replica would take over, and change nothing', command: '<%= config.bin %> failover sts/cache -n redis --shard cache-1 --dry-run' },
    { description: 'The master is gone for good: promote its replica without it (loses what it had not replicated)', command: '<%= config.bin %> failover rediscluster/orders -n redis --to orders-follower-0 --force' },
  ];
  static override args = {
    target: Args.string({ description: 'The target: rediscluster/orders, rf/sessions, sts/cache, or a bare name when unambiguous.', required: true }),
  };
  static override flags = {
    to: Flags.string({ summary: 'The replica to promote (default: the most in-sync replica on another Kubernetes node).' }),
    shard: Flags.string({ summary: 'Redis Cluster: the master whose shard fails over (implied by --to).' }),
    force: Flags.boolean({ summary: 'CLUSTER FAILOVER FORCE, only when the master does not answer: writes it had not replicated are lost.', default: false }),
    takeover: Flags.boolean({ summary: 'CLUSTER FAILOVER TAKEOVER, only when the master does not answer and no majority of masters can vote.', default: false }),
    timeout: Flags.string({ summary: 'How long the switch may take to be agreed by every node and sentinel.', default: '2m' }),
    'no-pause': Flags.boolean({ summary: "Do not pause the target's running operator meanwhile (it may undo the switch).", default: false }),
  };

  async run(): Promise<void> {
    const f = this.flags;
    for (const [flag, v] of [['to', f.to], ['shard', f.shard]] as const) if (v !== undefined && !POD_NAME.test(v)) throw new UsageError(`--${flag} takes a pod name, not "${v}"`);
    const timeoutMs = parseDuration(f.timeout, 'timeout');
    if (timeoutMs <= 0) throw new UsageError('--timeout must be more than 0');
    const kube = await this.kube();
    const target = await resolveTarget(kube, this.args.target, kube.namespace);
    if (!f['dry-run']) await requirePermissions(kube, maintenancePermissions(target));
    const session = await TargetSession.open(kube, target, this.connection());
    this.onCleanup(() => session.close());
    if (!f['dry-run']) await requirePermissions(kube, holdPermissions(session.ctx, f['no-pause']));
    const c = palette(process.stderr);
    const progress = this.progress();
    const result = await failover(session, {
      to: f.to, shard: f.shard, force: f.force, takeover: f.takeover, dryRun: f['dry-run'], noPause: f['no-pause'], timeoutMs,
      confirm: async (plan) => {
        for (const w of plan.warnings) this.note(c.yellow(`warning: ${w}`));
        this.note(`Failover of ${target.ref}: ${plan.from} -> ${plan.to}`);
        process.stderr.write(await renderOutput('table', rows(plan), candidateSpec));
        return this.confirm(`${plan.action.description}?`);
      },
      progress: applyProgress(progress),
      onHold: (note, warn) => (warn ? progress.warn(note) : progress.info(note)),
    });
    progress.stop();
    const doc = { target: target.ref, outcome: result.outcome, from: result.from, to: result.to, failure: result.failure, operation: result.opId, candidates: result.plan ? candidateSpec.toDocument?.(rows(result.plan)) : undefined };
    if (this.outputFormat === 'json' || this.outputFormat === 'yaml') this.out(this.outputFormat === 'json' ? toJson(doc) : await toYaml(doc));
    const human = this.outputFormat === 'table' || this.outputFormat === 'wide';
    switch (result.outcome) {
      case 'dry-run':
        if (human && result.plan) {
          this.out(`Failover of ${target.ref} (dry run, nothing changed): ${result.plan.action.description}`);
          this.out(await renderOutput(this.outputFormat, rows(result.plan), candidateSpec));
        }
        return;
      case 'declined':
        this.note('nothing was changed');
        return;
      case 'done':
        if (human) this.out(`${result.to} is the master of ${target.ref} now (was ${result.from})${result.resumed ? '; finished the failover that was interrupted' : ''}.`);
        return;
      case 'failed':
        throw new KubectlRedisError(`failover of ${target.ref} did not finish: ${result.failure}`, { hint: `run kubectl redis status ${target.ref} -n ${target.namespace} to see where it stands` });
    }
  }
}

function rows(plan: FailoverPlan): CandidateRow[] {
  return plan.candidates.map((x) => ({ ...x, chosen: x.pod === plan.to }));
}
