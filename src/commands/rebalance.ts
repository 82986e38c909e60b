import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { UsageError } from '../errors.js';
import { palette } from '../render/color.js';
import { renderOutput, toJson, toYaml, type OutputSpec } from '../render/output.js';
import type { PlanRow } from '../reconcile/types.js';
import { rangesText, toRanges } from '../reconcile/diagnose.js';
import type { BalanceShare } from '../reconcile/rebalance.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import type { RebalanceResult } from '../workflows/rebalance/index.js';

const POD_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export default class Rebalance extends BaseCommand<typeof Rebalance> {
  static override summary = 'Grow or shrink a Redis Cluster: join new pods, spread the slots by weight, drain masters; resumable.';
  static override description = [
    'Pods of the target that are not in the cluster yet (after kubectl scale, or a chart upgrade) are joined with CLUSTER MEET: as replicas of the masters with the fewest replicas while a master has fewer than --replicas-per-master, else as masters.',
    'The slots are then spread by weight as redis-cli --cluster rebalance does (the same --threshold meaning: nothing moves while every master is within it; masters without slots take part only with --use-empty-masters, masters this run joined always do). Each slot moves with CLUSTER SETSLOT IMPORTING and MIGRATING, MIGRATE in pipelines of --pipeline keys, then SETSLOT NODE on every master. --drain POD moves every slot off a master; it then becomes a replica, or is forgotten by every node with its replicas (--after-drain forget) so the StatefulSet can be scaled down.',
    'Before the first move the receivers\' used memory plus the slots they take must stay under --max-memory-percent of their maxmemory; before each step it is checked again on a fresh observation.',
    'While slots move, the target\'s running operator is paused with its own key (recorded as by "kubectl-redis rebalance op=<id>") and resumed at the end; someone else\'s pause is left as it is. For an OT RedisCluster rebalance refuses what its operator would undo: draining a leader (it gives an empty leader slots back, and adds a forgotten one back) and joining pods itself (it joins them when spec.clusterSize grows); weights among its leaders it keeps.',
    'Every step is journaled in a ConfigMap (kubectl-redis-rebalance-*) in the target\'s namespace: after an interruption the same command closes the slots the interrupted step left open and goes on; --abort closes them and stops. A slot left open by anyone else is heal\'s finding: rebalance refuses to start until heal fixed it.',
  ].join('\n\n');
  static override examples = [
    { description: 'After kubectl scale sts/cache --replicas 8: join the new pods and spread the slots', command: '<%= config.bin %> rebalance sts/cache -n redis --yes' },
    { description: 'Show the joins and moves, changing nothing', command: '<%= config.bin %> rebalance sts/cache -n redis --dry-run' },
    { description: 'Give one master twice the slots of the others, within 5%', command: '<%= config.bin %> rebalance sts/cache -n redis --weight cache-0=2 --threshold 5%' },
    { description: 'Empty a master and forget it, before scaling the StatefulSet down', command: '<%= config.bin %> rebalance sts/cache -n redis --drain cache-6 --after-drain forget --yes' },
    { description: 'Give up a rebalance half-way, closing the slots it left open', command: '<%= config.bin %> rebalance sts/cache -n redis --abort --yes' },
  ];
  static override args = {
    target: Args.string({ description: 'The Redis Cluster: sts/NAME (Bitnami redis-cluster), rediscluster/NAME (OT), or a bare name when unambiguous.', required: true }),
  };
  static override flags = {
    weight: Flags.string({ summary: 'POD=N: the weight of a master (default 1 each); may be repeated.', multiple: true, default: [] }),
    threshold: Flags.string({ summary: 'Move slots only when a master is more than this percentage off its share (as redis-cli\'s --cluster-threshold).', default: '2%' }),
    'use-empty-masters': Flags.boolean({ summary: 'Let masters without slots take part (masters this run joins always do).', default: false }),
    drain: Flags.string({ summary: 'A master to move every slot off; may be repeated.', multiple: true, default: [] }),
    'after-drain': Flags.string({ summary: 'What a drained master becomes: a replica, or forgotten by every node with its replicas.', options: ['replica', 'forget'], default: 'replica' }),
    'replicas-per-master': Flags.integer({ summary: 'Replicas each master should have when new pods join (default: the target\'s, else the current ratio).', min: 0 }),
    pipeline: Flags.integer({ summary: 'Keys per MIGRATE.', default: 100, min: 1, max: 100_000 }),
    'max-memory-percent': Flags.integer({ summary: 'A receiver may fill at most this percentage of its maxmemory.', default: 90, min: 1, max: 100 }),
    'slots-per-step': Flags.integer({ summary: 'Slots per journaled step (each step waits until every node sees its slots moved).', default: 128, min: 1, max: 16384, hidden: true }),
    'step-timeout': Flags.string({ summary: 'How long one step may take to show its effect.', default: '2m' }),
    'no-pause': Flags.boolean({ summary: "Do not pause the target's running operator while slots move (it may fight the moves).", default: false }),
    resume: Flags.boolean({ summary: 'Continue the rebalance in progress (the same command without it resumes too; with it, none in progress is an error).', default: false, exclusive: ['abort'] }),
    abort: Flags.boolean({ summary: 'Close the slots the rebalance in progress left open and stop it (slots already moved stay).', default: false, exclusive: ['resume'] }),
  };

  private weights(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const w of this.flags.weight) {
      const m = /^([^=]+)=(.*)$/.exec(w);
      const n = m ? Number(m[2]) : NaN;
      if (!m || m[2].trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--weight "${w}": give POD=N with N a number of 0 or more, e.g. --weight cache-0=2`);
      if (!POD_NAME.test(m[1])) throw new UsageError(`--weight "${w}": "${m[1]}" is not a pod name`);
      out[m[1]] = n;
    }
    return out;
  }

  async run(): Promise<void> {
    const f = this.flags;
    const { parsePercent } = await import('../reconcile/rebalance.js');
    const threshold = parsePercent(f.threshold);
    if (threshold === undefined) throw new UsageError(`--threshold "${f.threshold}" is not a percentage; give a number from 0 to 100, e.g. --threshold 2%`);
    const weights = this.weights();
    for (const d of f.drain) if (!POD_NAME.test(d)) throw new UsageError(`--drain "${d}" is not a pod name`);
    const stepTimeoutMs = parseDuration(f['step-timeout'], 'step-timeout');
    if (stepTimeoutMs <= 0) throw new UsageError('--step-timeout must be more than 0');
    const kube = await this.kube();
    const { resolveTarget } = await import('../targets/index.js');
    const target = await resolveTarget(kube, this.args.target, kube.namespace);
    if (!f['dry-run']) {
      const { requirePermissions } = await import('../kube/access.js');
      await requirePermissions(kube, [
        { verb: 'create', group: '', resource: 'configmaps', namespace: target.namespace },
        { verb: 'update', group: '', resource: 'configmaps', namespace: target.namespace },
      ]);
    }
    const { TargetSession } = await import('../reconcile/session.js');
    const session = await TargetSession.open(kube, target, this.connection());
    this.onCleanup(() => session.close());
    const ctx = session.ctx;
    if (!f['dry-run'] && !f['no-pause'] && ctx.operator.running && !ctx.observeInput.pause.paused && ctx.mechanism.type === 'annotation') {
      // the operator hold pauses it with its own key while slots move
      const { requirePermissions } = await import('../kube/access.js');
      await requirePermissions(kube, [{ verb: 'patch', group: target.resource.group, resource: target.resource.plural, namespace: target.namespace, name: target.name }]);
    }
    const progress = this.progress();
    let lastShown = 0;
    const { Rebalance: Workflow } = await import('../workflows/rebalance/index.js');
    const workflow = new Workflow(session, {
      weights, threshold, useEmptyMasters: f['use-empty-masters'], drain: f.drain, afterDrain: f['after-drain'] as 'replica' | 'forget',
      replicasPerMaster: f['replicas-per-master'], pipeline: f.pipeline, maxMemoryPercent: f['max-memory-percent'], chunk: f['slots-per-step'],
      dryRun: f['dry-run'], resume: f.resume, abort: f.abort, stepTimeoutMs, noPause: f['no-pause'],
      reporter: { step: (i, n, t) => progress.step(i, n, t), info: (m) => progress.info(m), warn: (m) => progress.warn(m) },
      onMoved: (p) => {
        if (Date.now() - lastShown < 1000 && p.slotsMoved < p.slotsTotal) return;
        lastShown = Date.now();
        progress.info(`slots ${p.slotsMoved}/${p.slotsTotal}, ${p.keysMoved} keys moved${p.msLeft !== undefined ? `, about ${formatDuration(p.msLeft)} left` : ''}`);
      },
      confirm: async (question, rows) => {
        const left = rows.filter((r) => r.state !== 'done').length;
        if (f.yes) this.note(`plan: ${left} step${left === 1 ? '' : 's'} to run (--dry-run lists them)`);
        else if (rows.length > 0) this.note((await this.planTable(rows)).trimEnd());
        return this.confirm(question);
      },
    });
    const result = await workflow.execute();
    progress.stop();
    await this.report(result);
  }

  private planTable(rows: PlanRow[]): Promise<string> {
    return renderOutput('table', rows, { columns: [{ header: '#', value: (r) => r.n }, { header: 'STEP', value: (r) => r.step }, { header: 'STATE', value: (r) => r.state }, { header: 'ACTION', value: (r) => r.action }] });
  }

  private sharesSpec(): OutputSpec<BalanceShare> {
    return {
      columns: [
        { header: 'MASTER', value: (r) => r.pod },
        { header: 'WEIGHT', value: (r) => r.weight },
        { header: 'SLOTS BEFORE', value: (r) => r.slots },
        { header: 'EXPECTED', value: (r) => r.expected },
        { header: 'SLOTS AFTER', value: (r) => r.after },
        { header: 'NODE ID', value: (r) => r.id.slice(0, 8), wide: true },
      ],
    };
  }

  private async report(r: RebalanceResult): Promise<void> {
    const human = this.outputFormat === 'table' || this.outputFormat === 'wide';
    if (!human) {
      this.out(this.outputFormat === 'json' ? toJson(r) : await toYaml(r));
      return;
    }
    const c = palette(process.stdout);
    switch (r.kind) {
      case 'plan':
        if (r.journal) this.out(`journal: rebalance ${r.journal}`);
        this.out(`Plan for ${r.target} (dry run, nothing changed): ${r.plan.slotsTotal} slots, ${r.plan.keysTotal} keys to move`);
        if (r.rows.length > 0) this.out((await this.planTable(r.rows)).trimEnd());
        this.out(await renderOutput(this.outputFormat, r.plan.shares, this.sharesSpec()));
        return;
      case 'nothing':
        this.out(await renderOutput(this.outputFormat, r.shares, this.sharesSpec()));
        this.out(`nothing to do: every master of ${r.target} is within the ${r.threshold}% threshold and no pod waits to join.`);
        return;
      case 'cancelled':
        this.note('cancelled; nothing was changed');
        return;
      case 'aborted':
        this.out(`rebalance ${r.id} of ${r.target} aborted: ${r.closed.length > 0 ? `slots ${rangesText(toRanges(r.closed))} closed (their move finished)` : 'no slot was open'}; ${r.slotsMoved} of ${r.slotsTotal} slots had moved and stay where they are.`);
        return;
      case 'done':
        this.out(await renderOutput(this.outputFormat, r.shares, this.sharesSpec()));
        if (r.closed.length > 0) this.out(`closed slot${r.closed.length === 1 ? '' : 's'} ${rangesText(toRanges(r.closed))} left open by the interrupted run`);
        this.out(`${c.green('rebalanced')} ${r.target}: ${r.slotsMoved} slots and ${r.keysMoved} keys moved in ${formatDuration(r.totalMs)}${r.resumed ? ' (resumed)' : ''} (rebalance ${r.id}).`);
        return;
    }
  }
}
