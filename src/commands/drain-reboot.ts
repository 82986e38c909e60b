import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { KubectlRedisError, UsageError } from '../errors.js';
import { isTransient } from '../kube/retry.js';
import type { OutputSpec } from '../render/output.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import type { PlanRow } from '../reconcile/types.js';
import type { NodeResult } from '../workflows/drain-reboot/workflow.js';
import type { GateOptions } from '../workflows/drain-reboot/gates.js';

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
    { description: 'A bare debugging pod on the node is evicted too (kubectl drain --force), and only pods labelled tier=web are drained:', command: "kubectl redis drain-reboot east-node-2 --force --pod-selector 'tier=web'" },
    { description: 'Drain for a node-pool replacement: move masters, drain, leave the node cordoned, no reboot:', command: 'kubectl redis drain-reboot east-node-2 --no-reboot' },
    { description: 'Every worker, as many at once as the Redis topology allows (never two copies of a shard):', command: 'kubectl redis drain-reboot -l node-role.kubernetes.io/worker= --max-unavailable auto' },
    { description: 'Kured-style: only nodes whose /var/run/reboot-required exists, only on weekday nights in Berlin, not while a backup job runs or an alert fires:', command: "kubectl redis drain-reboot -l node-role.kubernetes.io/worker= --only-needed --window 'Mon-Fri 01:00-05:00 Europe/Berlin' --blocking-pod-selector app=backup --prometheus-url http://prometheus.monitoring:9090 --alert-filter-regexp '^(Watchdog|InfoInhibitor)$'" },
    { description: 'Continue the drain-reboot that was interrupted:', command: 'kubectl redis drain-reboot --resume --yes' },
    { description: 'Or stop it: uncordon what it cordoned and release its lock:', command: 'kubectl redis drain-reboot --abort' },
  ];
  static override strict = false;
  static override args = {
    node: Args.string({ description: 'Node(s) to drain and reboot, in this order.', required: false }),
  };
  static override flags = {
    selector: Flags.string({ char: 'l', summary: 'Work on the nodes matching this label selector instead of named ones (by name order).' }),
    'max-unavailable': Flags.string({ summary: "How many nodes to work on at the same time, or 'auto': the largest sets that never take two copies of a shard, a Sentinel quorum, or more than a PodDisruptionBudget allows (the plan shows the batches and why).", default: '1' }),
    // no default here so --no-reboot can tell a --reboot-method given from none given; 'pod' when absent
    'reboot-method': Flags.string({ summary: 'pod (the default): a privileged hostPID pod runs nsenter ... reboot; command: run --reboot-command; none: wait for an outside reboot.', options: ['pod', 'command', 'none'] }),
    'reboot-command': Flags.string({ summary: 'Shell command that reboots the node ({node} is replaced by its name; also in $KUBECTL_REDIS_NODE). Needs --reboot-method command.' }),
    delay: Flags.string({ summary: 'How long to wait after the drain before rebooting (the node must still be cordoned by us then).', default: '30s' }),
    timeout: Flags.string({ summary: 'How long each wait may take (evictions refused by a PDB, pods going, the reboot, Redis becoming healthy).', default: '10m' }),
    'grace-period': Flags.integer({ summary: "Seconds each evicted pod gets to stop; -1 uses the pod's own terminationGracePeriodSeconds.", default: -1, min: -1 }),
    'reboot-namespace': Flags.string({ summary: 'Namespace of the reboot pod (privileged, hostPID): its Pod Security level must allow it (pod-security.kubernetes.io/enforce=privileged, or none).', default: 'kube-system' }),
    'reboot-image': Flags.string({ summary: 'Image of the reboot pod (it runs nsenter ... reboot); a mirror of it for air-gapped clusters.', default: 'docker.io/library/alpine:3.20' }),
    'ignore-daemonsets': Flags.boolean({ summary: 'Leave DaemonSet-managed and mirror (static) pods on the node, as Kured does (default); --ignore-daemonsets=false refuses a node that has DaemonSet pods, as kubectl drain does.', default: true, allowNo: true }),
    'delete-emptydir-data': Flags.boolean({ summary: 'Evict pods with emptyDir volumes (their data is lost) instead of refusing.', default: false }),
    force: Flags.boolean({ summary: 'Evict pods that declare no controller (bare pods) too, as kubectl drain --force; without it such a pod refuses the node.', default: false }),
    'pod-selector': Flags.string({ summary: "Drain only the node's pods matching this label selector, as kubectl drain --pod-selector (the others stay through the reboot)." }),
    'skip-wait-for-delete-timeout': Flags.integer({ summary: 'Pods whose deletion began more than this many seconds ago are neither evicted nor waited for (kubectl drain\'s flag); 0 waits for every pod.', default: 0, min: 0 }),
    'disable-eviction': Flags.boolean({ summary: 'Delete the pods instead of evicting them: PodDisruptionBudgets are NOT checked (kubectl drain --disable-eviction); warned.', default: false }),
    'no-reboot': Flags.boolean({ summary: 'Move the masters off and drain each node, then leave it cordoned without rebooting it (node-pool replacement).', default: false }),
    uncordon: Flags.boolean({ summary: 'With --no-reboot: uncordon each node again once it is drained and Redis is healthy.', default: false }),
    'blocking-pod-selector': Flags.string({ summary: 'While a pod matching this label selector runs anywhere in the cluster, no reboot starts (Kured\'s flag; repeatable).', multiple: true }),
    'only-needed': Flags.boolean({ summary: 'Reboot only the nodes that need it: --reboot-sentinel exists on the node (checked by a short-lived pod on it); the others are left alone.', default: false }),
    'reboot-sentinel': Flags.string({ summary: 'With --only-needed: the file on the node whose existence means it needs a reboot (Kured\'s flag).', default: '/var/run/reboot-required' }),
    'reboot-sentinel-command': Flags.string({ summary: "With --only-needed: a shell command run on the node (in its host mount namespace, from a privileged hostPID pod) whose exit 0 means it needs a reboot, instead of --reboot-sentinel (Kured's flag)." }),
    window: Flags.string({ summary: "Reboot only inside this maintenance window: 'DAYS START-END [TIME-ZONE]', e.g. 'Mon-Fri 01:00-05:00 Europe/Berlin' (days Mon..Sun, ranges, lists, * for every day; times HH:MM; IANA time zone, UTC if left out)." }),
    'window-action': Flags.string({ summary: 'Outside the --window: wait for it to open, or stop (run the same command again later to resume).', options: ['wait', 'stop'], default: 'wait' }),
    'prometheus-url': Flags.string({ summary: 'While this Prometheus has an active alert (its ALERTS series), no reboot starts; unreachable counts as blocked (Kured\'s flag).' }),
    'alert-filter-regexp': Flags.string({ summary: 'Alerts whose name matches this regular expression do not block (with --alert-filter-match-only: only they do).' }),
    'alert-filter-match-only': Flags.boolean({ summary: 'Only alerts matching --alert-filter-regexp block.', default: false }),
    'alert-firing-only': Flags.boolean({ summary: 'Only firing alerts block, not pending ones.', default: false }),
    'pre-reboot-node-labels': Flags.string({ summary: 'Labels (key=value, comma-separated or repeated) put on each node before it is cordoned (Kured\'s flag).', multiple: true }),
    'post-reboot-node-labels': Flags.string({ summary: 'Labels (key=value) put on each node after it is uncordoned (Kured\'s flag).', multiple: true }),
    'notify-url': Flags.string({ summary: 'POST a JSON message here per node step: start, rebooted, done, stopped ({event, node, operationId, time, bootIdBefore, bootIdAfter, result, message}).' }),
    'gate-interval': Flags.string({ summary: 'How often a closed gate (window, blocking pod, alert) is looked at again (Kured\'s --period).', default: '30s' }),
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
    if (f['no-reboot'] && (f['reboot-method'] !== undefined || f['reboot-command'] !== undefined)) {
      throw new UsageError(`--no-reboot does not reboot, so --${f['reboot-method'] !== undefined ? 'reboot-method' : 'reboot-command'} makes no sense with it; drop one of them`);
    }
    if (f.uncordon && !f['no-reboot']) throw new UsageError('--uncordon is only used with --no-reboot (a rebooted node is uncordoned anyway, unless it was cordoned before)');
    if (f['pod-selector'] !== undefined) {
      const { parseLabelSelector } = await import('../kube/selector.js');
      try {
        parseLabelSelector(f['pod-selector']);
      } catch (e) {
        throw new UsageError(`--pod-selector must be a valid label selector: ${(e as Error).message}`);
      }
    }
    const mu = f['max-unavailable'];
    if (mu !== 'auto' && !/^[1-9]\d*$/.test(mu)) throw new UsageError(`--max-unavailable must be a whole number of nodes (1 or more) or auto, not "${mu}"`);
    const maxUnavailable = mu === 'auto' ? ('auto' as const) : Number(mu);
    const gates = await parseGateFlags(f);
    const gateIntervalMs = parseDuration(f['gate-interval'], 'gate-interval');
    const { parseNodeLabels } = await import('../workflows/drain-reboot/notify.js');
    let preRebootLabels: Record<string, string>;
    let postRebootLabels: Record<string, string>;
    try {
      preRebootLabels = parseNodeLabels(f['pre-reboot-node-labels'] ?? [], 'pre-reboot-node-labels');
      postRebootLabels = parseNodeLabels(f['post-reboot-node-labels'] ?? [], 'post-reboot-node-labels');
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const notifyUrl = f['notify-url'];
    if (notifyUrl !== undefined && !/^https?:\/\/[^/\s]+/.test(notifyUrl)) throw new UsageError(`--notify-url "${notifyUrl}" is not an http:// or https:// URL`);
    if (gateIntervalMs <= 0) throw new UsageError('--gate-interval must be more than 0');
    const method = (f['reboot-method'] ?? 'pod') as 'pod' | 'command' | 'none';
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
        ...(gates.onlyNeeded ? [{ verb: 'create', group: '', resource: 'pods', namespace: f['reboot-namespace'] }] : []),
        ...(f['disable-eviction'] ? [{ verb: 'delete', group: '', resource: 'pods' }] : []),
        ...(method === 'pod' && !f['no-reboot'] ? [{ verb: 'create', group: '', resource: 'pods', namespace: f['reboot-namespace'] }] : []),
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
        nodes, selector: f.selector, maxUnavailable, rebootMethod: method, rebootCommand: f['reboot-command'],
        delayMs, timeoutMs, gracePeriodSeconds: f['grace-period'] >= 0 ? f['grace-period'] : undefined,
        ignoreDaemonSets: f['ignore-daemonsets'], deleteEmptyDirData: f['delete-emptydir-data'],
        force: f.force, podSelector: f['pod-selector'], skipWaitForDeleteTimeoutSeconds: f['skip-wait-for-delete-timeout'], disableEviction: f['disable-eviction'],
        noReboot: f['no-reboot'], uncordon: f.uncordon, gates, gateIntervalMs, preRebootLabels, postRebootLabels, notifyUrl,
        rebootNamespace: f['reboot-namespace'], rebootImage: f['reboot-image'],
        dryRun: f['dry-run'], resume: f.resume, abort: f.abort, ...this.connection(), namespace: f.namespace === undefined ? undefined : kube.namespace,
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

interface GateFlags {
  'reboot-namespace': string;
  'blocking-pod-selector'?: string[];
  'only-needed': boolean;
  'reboot-sentinel': string;
  'reboot-sentinel-command'?: string;
  window?: string;
  'window-action': string;
  'prometheus-url'?: string;
  'alert-filter-regexp'?: string;
  'alert-filter-match-only': boolean;
  'alert-firing-only': boolean;
}

/** Kured's gate flags -> GateOptions, or a UsageError naming the flag that is wrong. */
async function parseGateFlags(f: GateFlags): Promise<GateOptions> {
  const { parseLabelSelector } = await import('../kube/selector.js');
  const { parseWindow } = await import('../workflows/drain-reboot/window.js');
  const selectors = f['blocking-pod-selector'] ?? [];
  for (const sel of selectors) {
    try {
      if (parseLabelSelector(sel).length === 0) throw new Error('it is empty (it would match every pod)');
    } catch (e) {
      throw new UsageError(`--blocking-pod-selector "${sel}" is not a valid label selector: ${(e as Error).message}`);
    }
  }
  let window: GateOptions['window'];
  if (f.window !== undefined) {
    try {
      window = parseWindow(f.window);
    } catch (e) {
      throw new UsageError(`--window: ${(e as Error).message}`);
    }
  }
  let prometheus: GateOptions['prometheus'];
  const url = f['prometheus-url'];
  if (url !== undefined) {
    if (!/^https?:\/\/[^/\s]+/.test(url)) throw new UsageError(`--prometheus-url "${url}" is not an http:// or https:// URL`);
    let filter: RegExp | undefined;
    if (f['alert-filter-regexp'] !== undefined) {
      try {
        filter = new RegExp(f['alert-filter-regexp']);
      } catch (e) {
        throw new UsageError(`--alert-filter-regexp "${f['alert-filter-regexp']}" is not a valid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
      }
    }
    prometheus = { url, filter, matchOnly: f['alert-filter-match-only'], firingOnly: f['alert-firing-only'] };
  } else if (f['alert-filter-regexp'] !== undefined || f['alert-filter-match-only'] || f['alert-firing-only']) {
    throw new UsageError('--alert-filter-regexp, --alert-filter-match-only and --alert-firing-only need --prometheus-url');
  }
  if (f['alert-filter-match-only'] && f['alert-filter-regexp'] === undefined) throw new UsageError('--alert-filter-match-only needs --alert-filter-regexp');
  const sentinel = f['reboot-sentinel'];
  if (!sentinel.startsWith('/') || sentinel.endsWith('/')) throw new UsageError(`--reboot-sentinel must be the absolute path of a file, not "${sentinel}"`);
  const sentinelCommand = f['reboot-sentinel-command'];
  if (sentinelCommand !== undefined && !f['only-needed']) throw new UsageError('--reboot-sentinel-command is only used with --only-needed');
  if (sentinelCommand !== undefined && sentinelCommand.trim() === '') throw new UsageError('--reboot-sentinel-command is empty');
  return {
    blockingPodSelectors: selectors, prometheus, window, windowAction: f['window-action'] === 'stop' ? 'stop' : 'wait',
    onlyNeeded: f['only-needed'], rebootSentinel: sentinel, rebootSentinelCommand: sentinelCommand, namespace: f['reboot-namespace'],
  };
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
