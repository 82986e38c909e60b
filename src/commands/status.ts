import { Args, Flags } from '@oclif/core';
import { allNamespacesFlag, BaseCommand } from '../base-command.js';
import { ExitCode, NotFoundError } from '../errors.js';
import type { OutputSpec } from '../render/output.js';
import { formatAge } from '../util/duration.js';
import type { KubeObject, KubeReader, ResourceRef } from '../kube/types.js';

const STATEFULSETS: ResourceRef = { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true };

interface StatefulSetRow {
  namespace: string;
  name: string;
  ready: number;
  replicas: number;
  image: string;
  created?: string;
}

/** StatefulSets whose pods run a Redis image: what can be shown before the target adapters exist. */
async function redisStatefulSets(reader: KubeReader, namespace: string | undefined, target: string | undefined): Promise<StatefulSetRow[]> {
  const items: KubeObject[] = await reader.list(STATEFULSETS, namespace, target ? { fieldSelector: `metadata.name=${target}` } : {});
  return items
    .map((sts) => {
      const template = (sts.spec?.template ?? {}) as { spec?: { containers?: Array<{ image?: string }> } };
      const image = (template.spec?.containers ?? []).map((c) => c.image ?? '').find((i) => /redis|valkey/i.test(i)) ?? '';
      const status = (sts.status ?? {}) as { readyReplicas?: number };
      return {
        namespace: sts.metadata.namespace ?? '',
        name: sts.metadata.name,
        ready: status.readyReplicas ?? 0,
        replicas: Number(sts.spec?.replicas ?? 1),
        image,
        created: sts.metadata.creationTimestamp === undefined ? undefined : String(sts.metadata.creationTimestamp instanceof Date ? sts.metadata.creationTimestamp.toISOString() : sts.metadata.creationTimestamp),
      };
    })
    .filter((row) => row.image !== '')
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

export default class Status extends BaseCommand<typeof Status> {
  static override summary = 'Show the health of the Redis deployments in scope.';
  static override description = 'Lists Redis targets (operators and charts) with their health. Exits 3 with --exit-code when something is wrong.';
  static override examples = ['kubectl redis status -n redis', 'kubectl redis status orders -n redis -o yaml', 'kubectl redis status -A --exit-code'];
  static override args = {
    target: Args.string({ description: 'The target to show (e.g. a RedisCluster or StatefulSet name); all in scope when omitted.', required: false }),
  };
  static override flags = {
    'all-namespaces': allNamespacesFlag,
    watch: Flags.boolean({ char: 'w', summary: 'Show again every 2 seconds until interrupted.', default: false }),
    'exit-code': Flags.boolean({ summary: 'Exit 3 when a target is not healthy.', default: false }),
  };

  async run(): Promise<void> {
    const kube = await this.kube();
    const namespace = await this.scopeNamespace();
    const now = Date.now();
    const spec: OutputSpec<StatefulSetRow> = {
      columns: [
        ...(namespace === undefined ? [{ header: 'namespace', value: (r: StatefulSetRow) => r.namespace }] : []),
        { header: 'name', value: (r) => r.name },
        { header: 'ready', value: (r) => `${r.ready}/${r.replicas}` },
        { header: 'age', value: (r) => (r.created ? formatAge(Date.parse(r.created), now) : '<unknown>') },
        { header: 'image', value: (r) => r.image, wide: true },
      ],
      empty: namespace === undefined ? 'No Redis targets found.' : `No Redis targets found in namespace "${namespace}".`,
    };
    for (;;) {
      const rows = await redisStatefulSets(kube, namespace, this.args.target);
      if (this.args.target && rows.length === 0) {
        throw new NotFoundError(`Redis target "${this.args.target}" not found ${namespace === undefined ? 'in any namespace' : `in namespace "${namespace}"`}`, {
          hint: 'run kubectl redis status -A to list the targets that exist',
        });
      }
      await this.printResult(rows, spec);
      if (!this.flags.watch) {
        if (this.flags['exit-code'] && rows.some((r) => r.ready < r.replicas)) this.exit(ExitCode.findings);
        return;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}
