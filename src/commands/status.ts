import { Args, Flags } from '@oclif/core';
import { allNamespacesFlag, BaseCommand } from '../base-command.js';
import { ExitCode, NotFoundError } from '../errors.js';
import { palette } from '../render/color.js';
import { renderOutput } from '../render/output.js';
import { discoverAll, resolveTarget, type Target } from '../targets/index.js';
import { parseDuration } from '../util/duration.js';
import { collectReports, hasProblems, type TargetReport } from '../workflows/status/report.js';
import { findingsText, overviewSpec, podSpec, targetHeader } from '../render/status.js';
import { statusDocument } from '../workflows/status/report.js';

export default class Status extends BaseCommand<typeof Status> {
  static override summary = 'Show every Redis in scope: topology, roles, slots, lag, pause state and what is wrong.';
  static override description = `Finds the Redis deployments of every supported operator and chart (OT redis-operator RedisCluster,
RedisReplication and RedisSentinel; spotahome and freshworks RedisFailover; ucloud DistributedRedisCluster; Bitnami
redis-cluster and redis sentinel), asks every Redis node and sentinel for its own view, and reports what is wrong
with a command that fixes it. Naming one target shows one row per pod.

Exit codes: 0 ok (or problems found without --exit-code), 1 error, 2 bad usage, 3 problems found with --exit-code.`;
  static override examples = [
    { description: 'Every Redis in a namespace', command: '<%= config.bin %> status -n redis' },
    { description: 'Every Redis in the cluster, with nodes and pause reasons', command: '<%= config.bin %> status -A -o wide' },
    { description: 'One target, pod by pod', command: '<%= config.bin %> status rediscluster/orders -n redis' },
    { description: 'In a script or alert: exit 3 when anything is wrong', command: '<%= config.bin %> status -A --exit-code -o json' },
    { description: 'Keep watching', command: '<%= config.bin %> status -n redis --watch' },
  ];
  static override args = {
    target: Args.string({ description: 'A target as kubectl names it: rediscluster/orders, rf/sessions, sts/cache, or a bare name when unambiguous.', required: false }),
  };
  static override flags = {
    'all-namespaces': allNamespacesFlag,
    watch: Flags.boolean({ char: 'w', summary: 'Redraw when something changes, until interrupted.', default: false }),
    interval: Flags.string({ summary: 'How often --watch observes again.', default: '2s' }),
    'exit-code': Flags.boolean({ summary: 'Exit 3 when a target is not healthy.', default: false }),
    timeout: Flags.string({ summary: 'How long to wait for one Redis node to answer.', default: '5s' }),
  };

  private async targets(namespace: string | undefined): Promise<Target[]> {
    const kube = await this.kube();
    if (this.args.target) return [await resolveTarget(kube, this.args.target, namespace ?? kube.namespace)];
    return discoverAll(kube, namespace);
  }

  private async render(reports: TargetReport[], allNamespaces: boolean, namespace: string | undefined): Promise<string> {
    const now = Date.now();
    const c = palette(process.stdout);
    if (this.outputFormat === 'json' || this.outputFormat === 'yaml') {
      const { toJson, toYaml } = await import('../render/output.js');
      return this.outputFormat === 'json' ? toJson(statusDocument(reports)) : toYaml(statusDocument(reports));
    }
    if (reports.length === 0) return '';
    const parts: string[] = [];
    if (this.args.target && reports.length === 1 && !reports[0].error) {
      const r = reports[0];
      parts.push(targetHeader(r, now, c), '', (await renderOutput(this.outputFormat, r.podReports, podSpec())).trimEnd());
      const f = findingsText([r], c, false);
      parts.push('', f ? `Findings:\n${f}` : `No findings: ${r.ref} is healthy.`);
    } else {
      parts.push((await renderOutput(this.outputFormat, reports, overviewSpec(allNamespaces, now))).trimEnd());
      const f = findingsText(reports, c, true);
      if (f) parts.push('', f);
    }
    void namespace;
    return `${parts.join('\n')}\n`;
  }

  async run(): Promise<void> {
    const kube = await this.kube();
    const allNamespaces = this.flags['all-namespaces'];
    const namespace = await this.scopeNamespace();
    const intervalMs = parseDuration(this.flags.interval, 'interval');
    const timeoutMs = parseDuration(this.flags.timeout, 'timeout');
    const tty = process.stdout.isTTY === true;
    let last = '';
    for (;;) {
      const targets = await this.targets(namespace);
      const reports = await collectReports(kube, targets, { ...this.connection(), timeoutMs, strict: this.args.target !== undefined });
      if (reports.length === 0 && (this.outputFormat === 'table' || this.outputFormat === 'wide') && !this.flags.watch) {
        if (this.args.target) throw new NotFoundError(`no Redis target named "${this.args.target}"`);
        this.note(namespace === undefined ? 'No Redis found in any namespace.' : `No Redis found in namespace "${namespace}".`);
        return;
      }
      const text = await this.render(reports, allNamespaces, namespace);
      if (!this.flags.watch) {
        this.out(text);
        if (this.flags['exit-code'] && hasProblems(reports)) this.exit(ExitCode.findings);
        return;
      }
      if (text !== last) {
        if (tty) process.stdout.write('\u001b[H\u001b[2J');
        this.out(`${tty ? `Every ${this.flags.interval}: kubectl redis status${this.args.target ? ` ${this.args.target}` : ''}    ${new Date().toISOString()}\n\n` : ''}${text}`);
        last = text;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
