import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { applyPauseRetrying, checkPermissions, prepareResume } from '../workflows/pause/index.js';
import { showAndConfirm } from '../render/pause.js';

export default class Resume extends BaseCommand<typeof Resume> {
  static override summary = "Restart an operator's reconciliation that pause stopped, undoing exactly what pause did.";
  static override description = `Removes the operator's pause key (deleting it, since some operator versions pause on its mere
presence), scales the operator back to the replicas pause recorded, removes the redis.kubectl.io/paused-* annotations
and records an Event. A target that is not paused is said so, and the exit code is 0.`;
  static override examples = [
    { description: 'Resume an OT RedisCluster', command: '<%= config.bin %> resume rediscluster/orders -n redis' },
    { description: "Resume someone else's pause, without a prompt", command: '<%= config.bin %> resume rf/sessions -n redis --force --yes' },
  ];
  static override args = {
    target: Args.string({ description: 'The target: rediscluster/orders, rf/sessions, drc/ledger, or a bare name when unambiguous.', required: true }),
  };
  static override flags = {
    force: Flags.boolean({ summary: 'Resume a pause made by someone else.', default: false }),
  };

  async run(): Promise<void> {
    const kube = await this.kube();
    const prepare = () => prepareResume(kube, this.args.target, kube.namespace, this.flags.force);
    const c = await prepare();
    if (!c.plan) {
      this.out(`${c.target.ref} is not paused; nothing to do.`);
      return;
    }
    if (!this.flags['dry-run']) await checkPermissions(kube, c);
    const io = { note: (t: string) => this.note(t), out: (t: string) => this.out(t), confirm: (q: string) => this.confirm(q), dryRun: this.flags['dry-run'] };
    if (!(await showAndConfirm(c, `Resume ${c.target.ref} in namespace ${c.target.namespace}:`, `Resume reconciliation of ${c.target.ref}?`, io))) return;
    await applyPauseRetrying(kube, c, 'resume', undefined, prepare, () => this.note(`${c.target.ref} was changed meanwhile (409 Conflict); reading it again`));
    this.out(`${c.target.ref} resumed by ${c.user}`);
  }
}
