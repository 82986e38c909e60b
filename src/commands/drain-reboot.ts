import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { KubectlRedisError, UsageError } from '../errors.js';
import { isTransient } from '../kube/retry.js';
import type { OutputSpec } from '../render/output.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import type { PlanRow } from '../reconcile/types.js';
import type { NodeResult } from '../workflows/drain-reboot/workflow.js';

const short = (id: string | undefined) => (id ? id.slice(0, 8) : '?');

export default class DrainReboot extends BaseCommand<typeof DrainReboot> {
  static override summary = 'Drain and reboot nodes one at a time without Redis losing availability.';
  static override description = [
    'For each node, under a Lease in kube-system so two runs never reboot at once: check that every Redis with pods on it is healthy, cordon and mark it, move every Redis master off it first (CLUSTER FAILOVER / SENTINEL FAILOVER to a replica on another node), evict its pods through the Eviction API (PodDisruptionBudgets respected, 429 retried until --timeout), wait --delay, check it is still cordoned by us (if someone uncordoned it: no reboot, exit 4), reboot it, wait for a new boot ID and Ready, uncordon, and wait until Redis is healthy and its replicas are in sync before the next node.',
    'Progress is journaled in ConfigMap kube-system/kubectl-redis-drain-reboot: after an interruption the same command (or --resume) continues where it stopped; --abort uncordons the nodes it cordoned and releases the lock. Redis targets are looked for in every namespace unless --namespace is given.',
  ].join('\n\n');
  static override examples = [
    { description: 'Reboot one node, 30 s after its pods are gone:', command: 'kubectl redis drain-reboot east-node-2' },
    { description: 'Every worker node, one after another, without asking:', command: 'kubectl redis drain-reboot -l node-role.kubernetes.io/worker= --yes' },
    { description: 'Show the plan (pods to evict, masters to move) and change nothing:', command: 'kubectl redis drain-reboot east-node-2 --dry-run' },
    { description: 'Air-gapped: run the reboot pod from a mirrored image, in a namespace whose Pod Security allows it:', command: 'kubectl redis drain-reboot east-node-2 --reboot-image registry.corp/mirror/alpine:3.20 --reboot-namespace node-ops' },
    { description: 'Reboot through your own tooling ({node} and $KUBECTL_REDIS_NODE name the node):', command: "kubectl redis drain-reboot east-node-2 --reboot-method command --reboot-command 'ssh {node} sudo systemctl reboot'" },
    { description: 'Continue the drain-reboot that was interrupted:', command: 'kubectl redis drain-reboot --resume --yes' },
    { description: 'Or stop it: uncordon what it cordoned and release its lock:', command: 'kubectl redis drain-reboot --abort' },
  ];
  static override strict = false;
  static override args = {
    node: Args.string({ description: 'Node(s) to drain and reboot, in this order.', required: false }),
  };
  static override flags = {
    selector: Flags.string({ char: 'l', summary: 'Work on the nodes matching this label selector instead of named ones (by name order).' }),
    'max-unavailable': Flags.integer({ summary: 'How many nodes to work on at the same time.', default: 1, min: 1 }),
    'reboot-method': Flags.string({ summary: 'pod: a privileged hostPID pod runs nsenter ... reboot; command: run --reboot-command; none: wait for an outside reboot.', options: ['pod', 'command', 'none'], default: 'pod' }),
    'reboot-command': Flags.string({ summary: 'Shell command that reboots the node ({node} is replaced by its name; also in $KUBECTL_REDIS_NODE). Needs --reboot-method command.' }),
    delay: Flags.string({ summary: 'How long to wait after the drain before rebooting (the node must still be cordoned by us then).', default: '30s' }),
    timeout: Flags.string({ summary: 'How long each wait may take (evictions refused by a PDB, pods going, the reboot, Redis becoming healthy).', default: '10m' }),
    'grace-period': Flags.integer({ summary: "Seconds each evicted pod gets to stop; -1 uses the pod's own terminationGracePeriodSeconds.", default: -1, min: -1 }),
    'reboot-namespace': Flags.string({ summary: 'Namespace of the reboot pod (privileged, hostPID): its Pod Security level must allow it (pod-security.kubernetes.io/enforce=privileged, or none).', default: 'kube-system' }),
    'reboot-image': Flags.string({ summary: 'Image of the reboot pod (it runs nsenter ... reboot); a mirror of it for air-gapped clusters.', default: 'docker.io/library/alpine:3.20' }),
    'ignore-daemonsets': Flags.boolean({ summary: 'Leave DaemonSet-managed and mirror (static) pods on the node, as Kured does (default); --ignore-daemonsets=false refuses a node that has DaemonSet pods, as kubectl drain does.', default: true, allowNo: true }),
    'delete-emptydir-data': Flags.boolean({ summary: 'Evict pods with emptyDir volumes (their data is lost) instead of refusing.', default: false }),
    resume: Flags.boolean({ summary: 'Continue the drain-reboot in progress (from its journal) without naming its nodes again.', default: false, exclusive: ['abort'] }),
    abort: Flags.boolean({ summary: 'Stop the drain-reboot in progress: uncordon the nodes it cordoned, remove its marks, release its lock.', default: false, exclusive: ['resume'] }),
  };

  async run(): Promise<void> {
    const f = this.flags;
    const nodes = this.argvList.filter((a) => a !== '');
    const flagLike = nodes.find((a) => a.startsWith('-'));
    if (flagLike) throw new UsageError(`unknown flag: ${flagLike}`, { hint: 'see --help for the flags this command takes' });
    if ((f.resume || f.abort) && (nodes.length > 0 || f.selector)) throw new UsageError(`--${f.resume ? 'resume' : 'abort'} works on the drain-reboot in progress: name no nodes and no --selector`);
    if (!f.resume && !f.abort) {
      if (nodes.length > 0 && f.selector) throw new UsageError('name nodes or give --selector, not both');
      if (nodes.length === 0 && !f.selector) throw new UsageError('name at least one node, or give --selector', { hint: 'kubectl get nodes lists them' });
    }
    const method = f['reboot-method'] as 'pod' | 'command' | 'none';
    if (method === 'command' && !f['reboot-command']) throw new UsageError('--reboot-method command needs --reboot-command');
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(f['reboot-namespace'])) throw new UsageError(`--reboot-namespace takes a namespace name, not "${f['reboot-namespace']}"`);
    if (method !== 'command' && f['reboot-command']) throw new UsageError('--reboot-command is only used with --reboot-method command');
    const delayMs = parseDuration(f.delay, 'delay');
    const timeoutMs = parseDuration(f.timeout, 'timeout');
    if (timeoutMs <= 0) throw new UsageError('--timeout must be more than 0');

    const kube = await this.kube();
    if (!f['dry-run']) {
      const { requirePermissions } = await import('../kube/access.js');
      await requirePermissions(kube, [
        { verb: 'patch', group: '', resource: 'nodes' },
        { verb: 'create', group: '', resource: 'pods', subresource: 'eviction' },
        { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system' },
        { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system' },
        ...(method === 'pod' ? [{ verb: 'create', group: '', resource: 'pods', namespace: f['reboot-namespace'] }] : []),
      ]);
    }
    const { DrainReboot: Workflow } = await import('../workflows/drain-reboot/workflow.js');
    const progress = this.progress();
    const controller = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      progress.warn('interrupted: stopping at the next safe point (Ctrl-C again to quit at once)');
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    this.onCleanup(() => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    });
    const workflow = new Workflow(
      {
        nodes, selector: f.selector, maxUnavailable: f['max-unavailable'], rebootMethod: method, rebootCommand: f['reboot-command'],
        delayMs, timeoutMs, gracePeriodSeconds: f['grace-period'] >= 0 ? f['grace-period'] : undefined,
        ignoreDaemonSets: f['ignore-daemonsets'], deleteEmptyDirData: f['delete-emptydir-data'],
        rebootNamespace: f['reboot-namespace'], rebootImage: f['reboot-image'],
        dryRun: f['dry-run'], resume: f.resume, abort: f.abort, direct: f.direct, namespace: f.namespace === undefined ? undefined : kube.namespace,
      },
      {
        kube,
        reporter: { step: (i, n, t) => progress.step(i, n, t), info: (m) => progress.info(m), warn: (m) => progress.warn(m) },
        confirm: (q) => this.confirm(q),
        signal: controller.signal,
        abort: (reason) => {
          progress.warn(reason);
          controller.abort();
        },
        evictRetryMs: 2000,
      },
    );
    const outcome = await workflow.run();
    if (outcome.kind === 'cancelled') {
      this.note('cancelled; nothing was changed');
      return;
    }
    if (outcome.kind === 'plan') {
      const spec: OutputSpec<PlanRow> = {
        columns: [
          { header: 'node', value: (r) => r.node },
          { header: 'step', value: (r) => r.step },
          { header: 'action', value: (r) => r.action },
        ],
      };
      this.note('dry run: nothing was changed; this is what drain-reboot would do');
      await this.printResult(outcome.rows, spec);
      return;
    }
    const spec: OutputSpec<NodeResult> = {
      columns: [
        { header: 'node', value: (r) => r.node },
        { header: 'result', value: (r) => r.result },
        { header: 'boot id', value: (r) => (r.bootIdAfter ? `${short(r.bootIdBefore)} -> ${short(r.bootIdAfter)}` : short(r.bootIdBefore)) },
        { header: 'masters moved', value: (r) => String(r.mastersMoved.length) },
        { header: 'pods evicted', value: (r) => String(r.podsEvicted) },
        { header: 'took', value: (r) => (r.durationMs ? formatDuration(r.durationMs) : '-') },
        { header: 'message', value: (r) => r.message ?? '', wide: true },
      ],
    };
    await this.printResult(outcome.results, spec);
    if (outcome.error) throw resumable(outcome.error, outcome.operationId, outcome.results.filter((r) => r.result === 'failed').map((r) => r.node));
    progress.done(f.abort ? `drain-reboot ${outcome.operationId} aborted` : `drain-reboot ${outcome.operationId} done: ${outcome.results.length} node${outcome.results.length === 1 ? '' : 's'}`);
  }
}

/**
 * A run stopped by the API server failing (unreachable, 5xx, throttled past the retries) left its journal and its
 * mark on the node: the sentence says so and what to run, so nobody uncordons by hand what the re-run would finish.
 */
function resumable(error: Error, operationId: string, nodes: string[]): Error {
  if (!isTransient(error)) return error;
  const which = nodes.length === 0 ? '' : ` (${nodes.join(', ')} may be left cordoned by it)`;
  return new KubectlRedisError(`drain-reboot ${operationId} stopped because ${error.message}${which}; once the API server answers, run the same command again to resume it, or with --abort to uncordon and stop`, { cause: error });
}
