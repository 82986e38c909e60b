// Kured's reboot gates, as steps of drain-reboot's step table ('gates' before a node is touched, 'recheck-gates'
// right before its reboot, the seed-004 lesson): a gate that is closed holds the reboot; a gate that cannot be
// evaluated is closed. Meanings from kubereboot/kured (cmd/kured/main.go rebootBlocked, pkg/blockers/kubernetespod.go,
// pkg/alerts/prometheus.go, pkg/checkers/filechecker.go at main, 2024-2025):
//   --blocking-pod-selector (repeatable): a pod matching it that is not Succeeded/Failed/Unknown blocks. Kured looks
//     only on its own node; we look in every namespace of the whole cluster (issue 22: "while a matching pod runs
//     anywhere, no reboot starts"), because drain-reboot works on several nodes and a pod on the next node matters too.
//   --prometheus-url + --alert-filter-regexp / --alert-filter-match-only / --alert-firing-only: the ALERTS series;
//     the regexp names alerts to IGNORE, or with match-only the only ones that count; firing-only ignores pending.
//   --only-needed + --reboot-sentinel PATH: the node needs a reboot when the file exists (`test -f`), checked on the
//     node itself (a short-lived pod mounting the sentinel's directory through hostPath); --reboot-sentinel-command
//     CMD instead: exit 0 means it needs one, run as Kured runs it (pkg/checkers/commandchecker.go: in PID 1's mount
//     namespace, `nsenter -m/proc/1/ns/mnt -- CMD`) from a privileged hostPID pod.
//   --window: days, start and end time in a time zone (window.ts); outside it nothing starts.
import { posix } from 'node:path';
import { KubeError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { deleteObject } from '../../kube/delete.js';
import { RES } from '../../kube/resources.js';
import type { KubeObject } from '../../kube/types.js';
import { notYet, waitFor } from '../../kube/wait.js';
import { DEFAULT_REBOOT_IMAGE } from './node.js';
import { describeWindow, inWindow, type RebootWindow } from './window.js';

export const DEFAULT_REBOOT_SENTINEL = '/var/run/reboot-required';

export interface PrometheusGate {
  url: string;
  /** alerts matching it are ignored (or, with matchOnly, the only ones that block) */
  filter?: RegExp;
  matchOnly: boolean;
  firingOnly: boolean;
}

export interface GateOptions {
  blockingPodSelectors: string[];
  prometheus?: PrometheusGate;
  window?: RebootWindow;
  /** outside the window: wait for it, or stop (resumable) */
  windowAction: 'wait' | 'stop';
  onlyNeeded: boolean;
  rebootSentinel: string;
  /** Kured's --reboot-sentinel-command: run on the node in its host mount namespace; exit 0 = needs a reboot */
  rebootSentinelCommand?: string;
  /** where the short-lived sentinel pod runs (the reboot pods' namespace) */
  namespace: string;
  image?: string;
}

/** Whether any gate is set at all (the step says "no gates" otherwise). */
export function hasGates(o: GateOptions): boolean {
  return o.blockingPodSelectors.length > 0 || o.prometheus !== undefined || o.window !== undefined || o.onlyNeeded;
}

/** One line for the step table: what the gates are. */
export function describeGates(o: GateOptions): string {
  const parts: string[] = [];
  if (o.window) parts.push(`inside the window ${describeWindow(o.window)}${o.windowAction === 'stop' ? ' (else stop)' : ' (else wait)'}`);
  if (o.blockingPodSelectors.length) parts.push(`no running pod matches ${o.blockingPodSelectors.map((s) => `"${s}"`).join(' or ')}`);
  if (o.prometheus) parts.push(`no active alert in ${o.prometheus.url}${o.prometheus.filter ? ` ${o.prometheus.matchOnly ? 'matching' : 'except'} /${o.prometheus.filter.source}/` : ''}${o.prometheus.firingOnly ? ' (firing only)' : ''}`);
  return parts.length ? parts.join(', ') : 'no gates given';
}

// ---------------------------------------------------------------- Prometheus (pure part)

export interface AlertSample {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * The alert names that block, from the samples of the ALERTS query, as kured pkg/alerts/prometheus.go ActiveAlerts:
 * an alert counts when its value is not 0, the filter (when set) does not match its name (with matchOnly: does),
 * and, with firingOnly, its alertstate is "firing". Sorted, without duplicates.
 */
export function blockingAlerts(samples: readonly AlertSample[], g: Omit<PrometheusGate, 'url'>): string[] {
  const out = new Set<string>();
  for (const s of samples) {
    const name = s.metric.alertname;
    if (name === undefined || Number(s.value[1]) === 0) continue;
    if (g.filter && g.filter.test(name) !== g.matchOnly) continue;
    if (g.firingOnly && s.metric.alertstate !== 'firing') continue;
    out.add(name);
  }
  return [...out].sort();
}

/** Queries ALERTS; throws a sentence when Prometheus cannot be asked (a gate that cannot be evaluated is closed). */
export async function queryAlerts(url: string, timeoutMs = 5000): Promise<AlertSample[]> {
  const endpoint = `${url.replace(/\/+$/, '')}/api/v1/query?query=ALERTS`;
  let res: Response;
  try {
    res = await fetch(endpoint, { signal: AbortSignal.timeout(timeoutMs), headers: { Accept: 'application/json' } });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot query Prometheus at ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`cannot query Prometheus at ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
  let body: { status?: string; data?: { resultType?: string; result?: AlertSample[] } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`cannot query Prometheus at ${url}: the answer is not JSON (is it a Prometheus?)`);
  }
  if (body.status !== 'success' || body.data?.resultType !== 'vector') throw new Error(`cannot query Prometheus at ${url}: unexpected answer ${text.slice(0, 200)}`);
  return body.data.result ?? [];
}

// ---------------------------------------------------------------- the gates, evaluated

export interface GateState {
  /** why the gates are closed (empty: open) */
  closed: string[];
  /** closed only because of the window (nothing else blocks) */
  onlyWindow: boolean;
  /** the window is closed */
  outsideWindow: boolean;
}

const POD_PHASES_DONE = new Set(['Succeeded', 'Failed', 'Unknown']);

export class Gates {
  constructor(
    private readonly kube: KubeClient,
    readonly opts: GateOptions,
    private readonly signal?: AbortSignal,
  ) {}

  /** Evaluates every gate once; an error in one is a closed gate with the error as its reason. */
  async evaluate(nowMs: number): Promise<GateState> {
    const closed: string[] = [];
    let outsideWindow = false;
    if (this.opts.window && !inWindow(this.opts.window, nowMs)) {
      outsideWindow = true;
      closed.push(`outside the maintenance window ${describeWindow(this.opts.window)}`);
    }
    const others: string[] = [];
    for (const sel of this.opts.blockingPodSelectors) {
      try {
        const pods = (await this.kube.list(RES.pods, undefined, { labelSelector: sel })).filter((p) => !POD_PHASES_DONE.has(String((p.status as { phase?: string } | undefined)?.phase)));
        if (pods.length) {
          const names = pods.slice(0, 10).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
          others.push(`pod${pods.length === 1 ? '' : 's'} matching --blocking-pod-selector "${sel}" ${pods.length === 1 ? 'is' : 'are'} running: ${names.join(', ')}${pods.length > 10 ? ', ...' : ''}`);
        }
      } catch (e) {
        others.push(`cannot list the pods matching --blocking-pod-selector "${sel}": ${(e as Error).message}`);
      }
    }
    if (this.opts.prometheus) {
      try {
        const alerts = blockingAlerts(await queryAlerts(this.opts.prometheus.url), this.opts.prometheus);
        if (alerts.length) others.push(`${alerts.length} active alert${alerts.length === 1 ? '' : 's'} in Prometheus: ${alerts.slice(0, 10).join(', ')}${alerts.length > 10 ? ', ...' : ''}`);
      } catch (e) {
        others.push((e as Error).message);
      }
    }
    closed.push(...others);
    return { closed, onlyWindow: outsideWindow && others.length === 0, outsideWindow };
  }

  /** Asks Prometheus once, before anything changes: unreachable or not a Prometheus -> the sentence. */
  async validate(): Promise<string | undefined> {
    if (!this.opts.prometheus) return undefined;
    try {
      await queryAlerts(this.opts.prometheus.url);
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }

  /**
   * Does the node need a reboot? Kured's sentinel `test -f PATH`, run on the node: a pod pinned to it mounts the
   * sentinel's directory (hostPath) and exits 0 when the file is there. Throws when it cannot tell.
   */
  async rebootNeeded(node: string, timeoutMs: number): Promise<boolean> {
    const pod = this.opts.rebootSentinelCommand !== undefined
      ? sentinelCommandPod(node, this.opts.rebootSentinelCommand, this.opts.namespace, this.opts.image)
      : sentinelPod(node, this.opts.rebootSentinel, this.opts.namespace, this.opts.image);
    const ns = this.opts.namespace;
    const name = pod.metadata.name;
    await deleteObject(this.kube, RES.pods, ns, name, { gracePeriodSeconds: 0 });
    await waitFor(`the old sentinel pod ${ns}/${name} to be gone`, async () => ((await this.kube.get(RES.pods, ns, name)) ? notYet('still there') : true), { timeoutMs: 60_000, intervalMs: 250, signal: this.signal });
    await this.kube.request({ method: 'POST', path: `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`, body: pod, call: { verb: 'create', resource: 'pods', namespace: ns, name } });
    try {
      const phase = await waitFor(
        `the reboot-sentinel check on ${node} to finish`,
        async () => {
          const p = await this.kube.get(RES.pods, ns, name);
          if (!p) throw new KubeError(`the sentinel pod ${ns}/${name} disappeared`, { statusCode: 404 });
          const ph = (p.status as { phase?: string } | undefined)?.phase;
          return ph === 'Succeeded' || ph === 'Failed' ? ph : notYet(ph ?? 'Pending');
        },
        { timeoutMs, intervalMs: 250, signal: this.signal },
      );
      return phase === 'Succeeded';
    } finally {
      await deleteObject(this.kube, RES.pods, ns, name, { gracePeriodSeconds: 0 }).catch(() => undefined);
    }
  }
}

/** The short-lived pod that runs `test -f SENTINEL` on the node, its directory mounted read-only from the host. */
export function sentinelPod(nodeName: string, sentinel: string, namespace: string, image = DEFAULT_REBOOT_IMAGE): KubeObject {
  const dir = posix.dirname(sentinel);
  const file = posix.basename(sentinel);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `kubectl-redis-sentinel-${nodeName}`.slice(0, 63).replace(/-+$/, ''),
      namespace,
      labels: { 'app.kubernetes.io/managed-by': 'kubectl-redis', 'app.kubernetes.io/component': 'reboot-sentinel' },
    },
    spec: {
      nodeName,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      tolerations: [{ operator: 'Exists' }],
      volumes: [{ name: 'sentinel', hostPath: { path: dir } }],
      containers: [{ name: 'test', image, command: ['test', '-f', `/sentinel/${file}`], volumeMounts: [{ name: 'sentinel', mountPath: '/sentinel', readOnly: true }] }],
    },
  };
}

/** The short-lived privileged hostPID pod that runs --reboot-sentinel-command in the node's mount namespace. */
export function sentinelCommandPod(nodeName: string, command: string, namespace: string, image = DEFAULT_REBOOT_IMAGE): KubeObject {
  const pod = sentinelPod(nodeName, '/', namespace, image) as { spec: Record<string, unknown> } & KubeObject;
  pod.spec = {
    nodeName, restartPolicy: 'Never', terminationGracePeriodSeconds: 0, hostPID: true, tolerations: [{ operator: 'Exists' }],
    containers: [{ name: 'test', image, command: ['nsenter', '-t', '1', '-m', '--', 'sh', '-c', command], securityContext: { privileged: true } }],
  };
  return pod;
}

