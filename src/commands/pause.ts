import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { parseDuration } from '../util/duration.js';
import { applyPauseRetrying, checkPermissions, preparePause } from '../workflows/pause/index.js';
import { changeRows, showAndConfirm } from '../render/pause.js';

export default class Pause extends BaseCommand<typeof Pause> {
  static override summary = "Stop an operator's reconciliation of one Redis, with who, why and until when on record.";
  static override description = `Sets the operator's own pause key with the value its version honours (OT redis-operator
skip-reconcile, the freshworks fork of spotahome's skip-reconcile), records who paused it, when, why and until when in
redis.kubectl.io/paused-* annotations and an Event. Where the operator has no pause key (spotahome upstream, ucloud),
--operator-scale-down scales the operator's Deployment to 0 instead, which pauses every resource it manages.
Prints every change as old => new and asks first; --dry-run shows the patch and changes nothing.`;
  static override examples = [
    { description: 'Pause an OT RedisCluster for two hours', command: '<%= config.bin %> pause rediscluster/orders -n redis --reason "migrating to west" --for 2h' },
    { description: 'See the patch without sending it', command: '<%= config.bin %> pause rediscluster/orders -n redis --reason test --dry-run' },
    { description: 'spotahome has no pause key: stop the operator itself', command: '<%= config.bin %> pause rf/sessions -n redis --reason "restore" --operator-scale-down --yes' },
  ];
  static override args = {
    target: Args.string({ description: 'The target: rediscluster/orders, rf/sessions, drc/ledger, or a bare name when unambiguous.', required: true }),
  };
  static override flags = {
    reason: Flags.string({ summary: 'Why reconciliation is paused (recorded on the object; required).', required: true }),
    for: Flags.string({ summary: 'How long the pause is meant to last (e.g. 30m, 2h); status warns once it has passed.' }),
    'operator-scale-down': Flags.boolean({ summary: 'Where the operator has no pause key, scale its Deployment to 0 (pauses everything it manages).', default: false }),
    force: Flags.boolean({ summary: 'Take over a pause made by someone else.', default: false }),
  };

  async run(): Promise<void> {
    const kube = await this.kube();
    const forMs = this.flags.for !== undefined ? parseDuration(this.flags.for, 'for') : undefined;
    const prepare = () => preparePause(kube, this.args.target, kube.namespace, {
      reason: this.flags.reason, forMs, force: this.flags.force, operatorScaleDown: this.flags['operator-scale-down'],
    });
    const c = await prepare();
    const rows = changeRows(c);
    for (const w of c.plan?.warnings ?? []) this.note(`warning: ${w}`);
    if (rows.length === 0) {
      this.out(`${c.target.ref} is already paused by ${c.user}; nothing to change.`);
      return;
    }
    if (!this.flags['dry-run']) await checkPermissions(kube, c);
    const io = { note: (t: string) => this.note(t), out: (t: string) => this.out(t), confirm: (q: string) => this.confirm(q), dryRun: this.flags['dry-run'] };
    if (!(await showAndConfirm(c, `Pause ${c.target.ref} in namespace ${c.target.namespace} (${c.mechanismText}):`, `Pause reconciliation of ${c.target.ref}?`, io))) return;
    await applyPauseRetrying(kube, c, 'pause', this.flags.reason, prepare, () => this.note(`${c.target.ref} was changed meanwhile (409 Conflict); reading it again`));
    this.out(`${c.target.ref} paused by ${c.user}${forMs !== undefined ? ` for ${this.flags.for}` : ''}: ${this.flags.reason}`);
  }
}
