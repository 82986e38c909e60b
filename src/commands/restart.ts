import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { KubectlRedisError, UsageError } from '../errors.js';
import { requirePermissions } from '../kube/access.js';
import { TargetSession } from '../reconcile/session.js';
import { resolveTarget } from '../targets/index.js';
import { parseDuration } from '../util/duration.js';
import { restart } from '../workflows/restart/index.js';
import { renderOutput, toJson, toYaml } from '../render/output.js';
import { restartSpec } from '../render/maintenance.js';
import { applyProgress, holdPermissions, maintenancePermissions } from './failover.js';

const POD_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export default class Restart extends BaseCommand<typeof Restart> {
  static override summary = 'Restart the pods of a Redis target one at a time, each master only after a coordinated failover.';
  static override description = `Sentinel pods and replicas first, then each master after a failover to an in-sync replica on another
Kubernetes node (as kubectl redis failover does it). Each pod is deleted and waited for before the next: re-created and
Ready, the same Redis Cluster node id, its replication link up and in sync, every node and sentinel agreeing. Progress is
printed per pod and journaled in a ConfigMap kubectl-redis-restart-<target> in the target's namespace: after an
interruption the same command (or --resume) continues with the first pod not done; --abort ends it between pods. The
target's running operator is paused with its own key meanwhile (recorded as by "kubectl-redis restart op=<id>") and
resumed at the end, or by the re-run or --abort after a crash; --no-pause skips that, with a warning.`;
  static override examples = [
    { description: 'Restart every pod of an OT RedisCluster', command: '<%= config.bin %> restart rediscluster/orders -n redis --yes' },
    { description: 'Restart two pods of a RedisFailover', command: '<%= config.bin %> restart rf/sessions rfr-sessions-0 rfr-sessions-1 -n redis' },
    { description: 'See the order and change nothing', command: '<%= config.bin %> restart sts/cache -n redis --dry-run' },
    { description: 'Continue the restart that was interrupted', command: '<%= config.bin %> restart rediscluster/orders -n redis --resume --yes' },
    { description: 'Or end it between pods and resume the operator', command: '<%= config.bin %> restart rediscluster/orders -n redis --abort' },
  ];
  static override strict = false;
  static override args = {
    target: Args.string({ description: 'The target: rediscluster/orders, rf/sessions, sts/cache, or a bare name when unambiguous.', required: true }),
    pod: Args.string({ description: 'Restart only these pods of the target (default: every pod).', required: false }),
  };
  static override flags = {
    timeout: Flags.string({ summary: 'How long each pod may take to come back and settle (and each failover).', default: '10m' }),
    resume: Flags.boolean({ summary: 'Continue the restart in progress (from its journal).', default: false, exclusive: ['abort'] }),
    abort: Flags.boolean({ summary: 'End the restart in progress between pods and resume the operator it paused.', default: false, exclusive: ['resume'] }),
    'no-pause': Flags.boolean({ summary: "Do not pause the target's running operator meanwhile (it may fight the restart).", default: false }),
  };

  async run(): Promise<void> {
    const f = this.flags;
    const pods = this.argvList.slice(1).filter((a) => a !== '');
    const flagLike = pods.find((a) => a.startsWith('-'));
    if (flagLike) throw new UsageError(`unknown flag: ${flagLike}`, { hint: 'see --help for the flags this command takes' });
    const bad = pods.find((p) => !POD_NAME.test(p));
    if (bad) throw new UsageError(`"${bad}" is not a pod name`);
    if ((f.resume || f.abort) && pods.length > 0) throw new UsageError(`--${f.resume ? 'resume' : 'abort'} works on the restart in progress: name no pods`);
    const timeoutMs = parseDuration(f.timeout, 'timeout');
    if (timeoutMs <= 0) throw new UsageError('--timeout must be more than 0');
    const kube = await this.kube();
    const target = await resolveTarget(kube, this.args.target, kube.namespace);
    if (!f['dry-run']) await requirePermissions(kube, [...maintenancePermissions(target), { verb: 'delete', group: '', resource: 'pods', namespace: target.namespace }]);
    const session = await TargetSession.open(kube, target, this.connection());
    this.onCleanup(() => session.close());
    if (!f['dry-run']) await requirePermissions(kube, holdPermissions(session.ctx, f['no-pause']));
    const progress = this.progress();
    const result = await restart(session, {
      pods, dryRun: f['dry-run'], resume: f.resume, abort: f.abort, noPause: f['no-pause'], timeoutMs, reporter: progress, progress: applyProgress(progress),
      confirm: async (rows) => {
        this.note(`Restart of ${target.ref}, one pod at a time:`);
        process.stderr.write(await renderOutput('table', rows, restartSpec));
        return this.confirm(`Restart these ${rows.length} pods of ${target.ref}?`);
      },
    });
    if (result.outcome === 'done' || result.outcome === 'failed') progress.done(`restart of ${target.ref}: ${result.outcome}`);
    progress.stop();
    const doc = { target: target.ref, outcome: result.outcome, operation: result.opId, restarted: result.restarted, failure: result.failure, pods: result.rows };
    if (this.outputFormat === 'json' || this.outputFormat === 'yaml') this.out(this.outputFormat === 'json' ? toJson(doc) : await toYaml(doc));
    const human = this.outputFormat === 'table' || this.outputFormat === 'wide';
    switch (result.outcome) {
      case 'dry-run':
        if (human) {
          this.out(`Restart of ${target.ref} (dry run, nothing changed):`);
          this.out(await renderOutput(this.outputFormat, result.rows, restartSpec));
        }
        return;
      case 'declined':
        this.note('nothing was changed');
        return;
      case 'aborted':
        if (human) this.out(`restart ${result.opId} of ${target.ref} aborted after ${result.restarted.length} pod(s); its operator pause (if any) is resumed.`);
        return;
      case 'done':
        if (human) this.out(`restarted ${result.restarted.length} pod(s) of ${target.ref}${result.resumed ? ' (resumed)' : ''}: ${result.restarted.join(', ') || 'none left to do'}.`);
        return;
      case 'failed':
        throw new KubectlRedisError(`restart of ${target.ref} stopped: ${result.failure}`, { hint: `re-run the same command (or --resume) to continue, or --abort; kubectl redis status ${target.ref} -n ${target.namespace} shows where it stands` });
    }
  }
}
