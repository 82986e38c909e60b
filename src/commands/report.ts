import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { palette } from '../render/color.js';
import { toJson, toYaml } from '../render/output.js';
import { reportDocument, reportText } from '../render/report.js';
import { parseDuration } from '../util/duration.js';
import { report } from '../workflows/report/index.js';

export default class Report extends BaseCommand<typeof Report> {
  static override summary = 'Collect everything needed to debug a Redis on Kubernetes into one zip archive, secrets removed.';
  static override description = `Gathers, for one target: its objects as YAML (custom resource or StatefulSets, pods, Services, PDBs, PVCs,
ConfigMaps, referenced Secrets with their values removed, the operator Deployment), the Events about them, the
target's \`status -o json\`, and from every Redis node CLUSTER NODES, CLUSTER INFO, INFO all, ROLE, CONFIG GET *,
SLOWLOG GET 32, LATENCY LATEST and ACL LIST, from every sentinel SENTINEL MASTERS, REPLICAS and SENTINELS; with
--logs, the Redis and operator containers' logs. manifest.json lists every part, what failed and why (naming a
missing permission), and the kubectl-redis, Kubernetes and Redis versions. --operator reports on the operators alone.

Passwords, ACL passwords, TLS keys, tokens and every value of the Secrets read are kept out of the archive. It
changes nothing in the cluster and needs only the read-only role of deploy/rbac (plus get pods/log for --logs).
Progress goes to stderr; the archive's path and size to stdout. Exit codes: 0 written (even when some parts failed),
1 error, 2 bad usage.`;
  static override examples = [
    { description: 'One target, to a file named after it and the time', command: '<%= config.bin %> report rediscluster/orders -n redis' },
    { description: 'With the last hour of Redis and operator logs', command: '<%= config.bin %> report rf/sessions -n redis --logs --since 1h --output-file sessions.zip' },
    { description: 'Overwrite an earlier archive', command: '<%= config.bin %> report sts/cache -n redis --output-file cache.zip --force' },
    { description: 'The operators alone, with their logs', command: '<%= config.bin %> report --operator --logs' },
  ];
  static override args = {
    target: Args.string({ description: 'A target as kubectl names it: rediscluster/orders, rf/sessions, sts/cache, or a bare name when unambiguous.', required: false }),
  };
  static override flags = {
    operator: Flags.boolean({ summary: 'Report on the operators (their Deployments, pods, Events, logs) instead of a target.', default: false }),
    'output-file': Flags.string({ char: 'f', summary: 'Where to write the archive (default: kubectl-redis-report-<namespace>-<target>-<time>.zip here).' }),
    force: Flags.boolean({ summary: 'Overwrite --output-file if it exists.', default: false }),
    logs: Flags.boolean({ summary: 'Include the Redis, sentinel and operator containers\' logs (needs get pods/log).', default: false }),
    since: Flags.string({ summary: 'With --logs: how far back the logs go.', default: '1h' }),
    timeout: Flags.string({ summary: 'How long to wait for one Redis node to answer.', default: '5s' }),
  };

  async run(): Promise<void> {
    const kube = await this.kube();
    const sinceMs = parseDuration(this.flags.since, 'since');
    const timeoutMs = parseDuration(this.flags.timeout, 'timeout');
    const result = await report(kube, {
      target: this.args.target, operator: this.flags.operator, namespace: kube.namespace, outputFile: this.flags['output-file'], force: this.flags.force,
      logs: this.flags.logs, sinceMs, ...this.connection(), timeoutMs, version: this.config.version,
      command: ['kubectl', 'redis', 'report', ...this.argv].join(' '), progress: this.progress(),
    });
    if (this.outputFormat === 'json') this.out(toJson(reportDocument(result)));
    else if (this.outputFormat === 'yaml') this.out(await toYaml(reportDocument(result)));
    else this.out(reportText(result, palette(process.stdout)));
  }
}
