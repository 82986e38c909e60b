import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { RefusedError, UsageError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import { palette } from '../render/color.js';
import { renderOutput, toJson, toYaml } from '../render/output.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import type { PlanRow } from '../reconcile/types.js';
import type { MigrateOutcome, MovedPod } from '../workflows/migrate/workflow.js';
import type { Check } from '../workflows/migrate/preflight.js';

export default class Migrate extends BaseCommand<typeof Migrate> {
  static override summary = 'Move a Redis Cluster StatefulSet to another Kubernetes cluster one pod at a time, without downtime.';
  static override description = [
    'Uses StatefulSet .spec.ordinals.start (KEP-3335, Kubernetes 1.27+): preflight (both API servers, ordinals supported, the same StorageClass on both sides, Secrets and config present or copied, Redis healthy with a replica for every master), pause the operator, copy the Secrets, Services and PodDisruptionBudgets (and the operator\'s resource, paused), create the destination StatefulSet with 0 replicas; then for each ordinal from the highest down: fail it over if it is a master, set its PersistentVolumes to Retain, scale the source down by one, copy its PV and PVC (without uid, resourceVersion, claimRef, status), patch the destination\'s ordinals.start and replicas, and wait until the pod runs there with the same Redis node id, in sync, and every node sees its new address. Finally it verifies the topology from every node and resumes the destination\'s operator.',
    'Needs a flat pod network between the clusters and storage both can mount. Supported: Bitnami redis-cluster StatefulSets (sts/NAME) and OT RedisCluster (rediscluster/NAME; its copy in the destination is created paused and resumed at the end, the source\'s stays paused with 0 pods).',
    'Every step is journaled in a ConfigMap (kubectl-redis-migrate-*) in the source namespace: after an interruption the same command (or --resume) continues where it stopped; --abort moves every pod back to the source and deletes what migrate created in the destination.',
  ].join('\n\n');
  static override examples = [
    { description: 'Move the Bitnami redis-cluster "cache" from the current context to west:', command: '<%= config.bin %> migrate sts/cache -n redis --to-context west' },
    { description: 'Check everything and show the steps, changing nothing:', command: '<%= config.bin %> migrate sts/cache -n redis --to-context west --dry-run' },
    { description: 'Move an OT RedisCluster from east into namespace redis-prod of west, without a prompt:', command: '<%= config.bin %> migrate rediscluster/orders -n redis --from-context east --to-context west --to-namespace redis-prod --yes' },
    { description: 'Continue a migration that was interrupted:', command: '<%= config.bin %> migrate sts/cache -n redis --to-context west --resume --yes' },
    { description: 'Give up half-way and bring every pod back:', command: '<%= config.bin %> migrate sts/cache -n redis --to-context west --abort --yes' },
  ];
  static override args = {
    target: Args.string({ description: 'What to move: sts/NAME (Bitnami redis-cluster) or rediscluster/NAME (OT).', required: true }),
  };
  static override flags = {
    'to-context': Flags.string({ summary: 'The kubeconfig context of the destination cluster.', required: true }),
    'to-namespace': Flags.string({ summary: 'Namespace in the destination (default: the source namespace); created if missing.' }),
    'from-context': Flags.string({ summary: 'The kubeconfig context of the source cluster (default: --context, then the current context).' }),
    resume: Flags.boolean({ summary: 'Continue the migration in progress (the same command without it resumes too; with it, none in progress is an error).', default: false, exclusive: ['abort'] }),
    abort: Flags.boolean({ summary: 'Move every pod of the migration in progress back to the source and delete what it created in the destination.', default: false, exclusive: ['resume'] }),
    'step-timeout': Flags.string({ summary: 'How long one step may take (a failover, a pod stopping, a pod joining).', default: '5m' }),
  };

  private async open(context: string | undefined, namespace: string | undefined): Promise<KubeClient> {
    const { openKube } = await import('../kube/client.js');
    return openKube({ kubeconfig: this.flags.kubeconfig, context, namespace, requestTimeoutMs: this.requestTimeoutMs });
  }

  async run(): Promise<void> {
    const f = this.flags;
    const stepTimeoutMs = parseDuration(f['step-timeout'], 'step-timeout');
    if (stepTimeoutMs <= 0) throw new UsageError('--step-timeout must be more than 0');
    if (f['from-context'] && f.context && f['from-context'] !== f.context) throw new UsageError('--from-context and --context name different contexts: give one of them');
    const from = await this.open(f['from-context'] ?? f.context, f.namespace);
    const to = await this.open(f['to-context'], f['to-namespace'] ?? from.namespace);
    const { Migration } = await import('../workflows/migrate/workflow.js');
    const progress = this.progress();
    const human = this.outputFormat === 'table' || this.outputFormat === 'wide';
    const migration = new Migration(
      {
        target: this.args.target, namespace: from.namespace, toNamespace: f['to-namespace'] ?? from.namespace, from, to,
        dryRun: f['dry-run'], resume: f.resume, abort: f.abort, ...this.connection(), stepTimeoutMs,
      },
      {
        reporter: { step: (i, n, t) => progress.step(i, n, t), info: (m) => progress.info(m), warn: (m) => progress.warn(m) },
        confirm: async (question, checks, plan) => {
          if (checks.length > 0) this.note((await this.checksTable(checks)).trimEnd());
          const left = plan.filter((r) => r.state !== 'done').length;
          // with --yes nobody reads the plan before it runs: one line says where to see it
          if (f.yes) this.note(`plan: ${left} step${left === 1 ? '' : 's'} to run (--dry-run lists them)`);
          else this.note((await this.planTable(plan)).trimEnd());
          return this.confirm(question);
        },
      },
    );
    this.onCleanup(() => migration.close());
    const outcome = await migration.execute();
    progress.stop();
    await this.report(outcome, human);
  }

  private checksTable(checks: Check[]): Promise<string> {
    const c = palette(process.stderr);
    const mark = (r: Check['result']) => (r === 'ok' ? c.green('ok') : r === 'fail' ? c.red('FAIL') : r === 'warn' ? c.yellow('warn') : 'later');
    return renderOutput('table', checks, { columns: [{ header: 'CHECK', value: (r) => r.check }, { header: 'RESULT', value: (r) => mark(r.result) }, { header: 'DETAIL', value: (r) => r.detail }] });
  }

  private planTable(rows: PlanRow[]): Promise<string> {
    return renderOutput('table', rows, { columns: [{ header: '#', value: (r) => r.n }, { header: 'STEP', value: (r) => r.step }, { header: 'STATE', value: (r) => r.state }, { header: 'ACTION', value: (r) => r.action }] });
  }

  private async report(o: MigrateOutcome, human: boolean): Promise<void> {
    if (!human) {
      this.out(this.outputFormat === 'json' ? toJson(o) : await toYaml(o));
    }
    switch (o.kind) {
      case 'plan': {
        const failed = o.checks.filter((x) => x.result === 'fail');
        if (human) {
          if (o.checks.length > 0) this.out((await this.checksTable(o.checks)).trimEnd());
          if (o.journal) this.out(`journal: migrate ${o.journal}`);
          this.out(`Plan for ${o.target} (dry run, nothing changed):`);
          this.out((await this.planTable(o.rows)).trimEnd());
        }
        if (failed.length > 0) throw new RefusedError(`a run would refuse: ${failed[0].detail}`);
        return;
      }
      case 'cancelled':
        this.note('nothing was changed');
        return;
      case 'aborted':
        if (human) {
          this.out(`migrate ${o.id} of ${o.target} aborted: ${o.returned.length > 0 ? `${o.returned.join(', ')} back in the source` : 'no pod had moved'}; what it created in the destination is deleted.`);
          for (const n of o.notes) this.out(`note: ${n}`);
        }
        return;
      case 'done':
        if (human) {
          this.out(await renderOutput(this.outputFormat, o.pods, {
            columns: [
              { header: 'POD', value: (r: MovedPod) => r.pod },
              { header: 'NODE ID', value: (r: MovedPod) => r.nodeId.slice(0, 8) },
              { header: 'ROLE', value: (r: MovedPod) => r.role },
              { header: 'FROM', value: (r: MovedPod) => r.fromIp ?? '-' },
              { header: 'TO', value: (r: MovedPod) => r.toIp ?? '-' },
              { header: 'TOOK', value: (r: MovedPod) => (r.tookMs !== undefined ? formatDuration(r.tookMs) : '-') },
            ],
          }));
          this.out(`${palette(process.stdout).green('migrated')} ${o.target}: ${o.pods.length} pods with the same node ids in ${formatDuration(o.totalMs)}${o.resumed ? ' (resumed)' : ''} (migrate ${o.id}).`);
          for (const n of o.notes) this.out(`note: ${n}`);
        }
        return;
    }
  }
}
