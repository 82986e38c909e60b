// What `status` shows, built from an observation and its findings. `buildReport` is pure (the clock is the
// observation's time); `collectReports` observes many targets with a bounded pool, and a target that cannot be
// observed (no password Secret, RBAC) becomes a report with an error instead of failing the whole command.
import type { KubeClient } from '../../kube/client.js';
import { errText } from '../../errors.js';
import { diagnose, podForHost } from '../../reconcile/diagnose.js';
import { accessFailure } from '../../reconcile/observe.js';
import { TargetSession } from '../../reconcile/session.js';
import type { Finding, Observed, RedisNodeFact, Severity } from '../../reconcile/types.js';
import type { Target } from '../../targets/index.js';
import { mapPool } from '../../util/pool.js';
import type { ConnectOverrides } from '../../reconcile/session.js';

export type Health = 'ok' | 'degraded' | 'critical' | 'error';

export interface PodReport {
  pod: string;
  ip: string;
  node: string;
  component: 'redis' | 'sentinel';
  ready: boolean;
  /** master | replica | sentinel | unreachable */
  role: string;
  /** number of slots served (cluster) */
  slots?: number;
  /** the pod this replica follows */
  masterOf?: string;
  /** bytes behind its master (master_repl_offset - slave_repl_offset) */
  lagBytes?: number;
  link?: 'up' | 'down';
  usedMemoryBytes?: number;
  keys?: number;
  error?: string;
}

export interface PauseReport {
  paused: boolean;
  strategy: string;
  key?: string;
  by?: string;
  at?: string;
  reason?: string;
  until?: string;
  /** the pause is past its --for */
  expired: boolean;
}

export interface TargetReport {
  ref: string;
  kind: string;
  name: string;
  namespace: string;
  system: string;
  topology: string;
  operator: { present: boolean; running: boolean; version?: string; deployment?: string };
  masters: number;
  replicas: number;
  sentinels: number;
  readyPods: number;
  pods: number;
  /** cluster: slots served by some master (out of 16384) */
  slotsCovered?: number;
  maxLagBytes?: number;
  nodes: string[];
  pause: PauseReport;
  health: Health;
  findings: Finding[];
  podReports: PodReport[];
  observedAt: string;
  error?: string;
}

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

export function healthOf(findings: Finding[]): Health {
  if (findings.some((f) => f.severity === 'critical')) return 'critical';
  if (findings.some((f) => f.severity === 'warning')) return 'degraded';
  return 'ok';
}

/** Findings that should make `status --exit-code` exit 3: anything but information. */
export function hasProblems(reports: TargetReport[]): boolean {
  return reports.some((r) => r.health !== 'ok');
}

function masterOffset(o: Observed, r: RedisNodeFact): { pod?: string; offset?: number } {
  const rep = r.replication;
  if (!rep || rep.role !== 'replica') return {};
  // master_host is the master's IP, or its DNS name where replicas are told a hostname (Bitnami --slaveof <fqdn>)
  const named = podForHost(o, rep.masterHost);
  const master = named ? o.redis.find((m) => m.pod === named.name && m.replication?.role === 'master') : undefined;
  if (master) return { pod: master.pod, offset: master.replication?.masterReplOffset };
  // a cluster replica names its master by id
  const mine = r.clusterNodes?.find((e) => e.myself);
  if (mine?.masterId) {
    const entry = r.clusterNodes?.find((e) => e.id === mine.masterId);
    const pod = entry ? o.pods.find((p) => p.ip === entry.ip) : undefined;
    const fact = pod ? o.redis.find((m) => m.pod === pod.name) : undefined;
    return { pod: pod?.name, offset: fact?.replication?.masterReplOffset };
  }
  return {};
}

function podReports(o: Observed): PodReport[] {
  return o.pods.map((p): PodReport => {
    const base = { pod: p.name, ip: p.ip, node: p.nodeName, component: p.component, ready: p.ready };
    if (p.component === 'sentinel') {
      const s = o.sentinels.find((x) => x.pod === p.name);
      return { ...base, role: s?.reachable === false ? 'unreachable' : 'sentinel', error: s?.error };
    }
    const r = o.redis.find((x) => x.pod === p.name);
    if (!r || !r.reachable) return { ...base, role: 'unreachable', error: r?.error };
    const rep = r.replication;
    const mine = r.clusterNodes?.find((e) => e.myself);
    const role = rep?.role ?? (mine?.role === 'replica' ? 'replica' : 'master');
    const { pod: masterPod, offset } = masterOffset(o, r);
    const slots = mine ? mine.slots.reduce((n, [a, b]) => n + b - a + 1, 0) : undefined;
    return {
      ...base, role,
      slots: o.target.topology === 'cluster' ? slots : undefined,
      masterOf: role === 'replica' ? (masterPod ?? rep?.masterHost) : undefined,
      lagBytes: role === 'replica' && offset !== undefined && rep?.slaveReplOffset !== undefined ? Math.max(0, offset - rep.slaveReplOffset) : undefined,
      link: role === 'replica' ? rep?.masterLinkStatus : undefined,
      usedMemoryBytes: r.usedMemory,
      keys: r.dbsize,
    };
  });
}

/** Slots that some reachable master claims in its own view. */
function slotsCovered(o: Observed): number | undefined {
  if (o.target.topology !== 'cluster') return undefined;
  const covered = new Uint8Array(16384);
  for (const r of o.redis) {
    const mine = r.clusterNodes?.find((e) => e.myself);
    if (!r.reachable || !mine || mine.role !== 'master') continue;
    for (const [a, b] of mine.slots) covered.fill(1, a, b + 1);
  }
  return covered.reduce((n, x) => n + x, 0);
}

export function buildReport(o: Observed, findings: Finding[]): TargetReport {
  const pods = podReports(o);
  const redisPods = pods.filter((p) => p.component === 'redis');
  const lags = redisPods.map((p) => p.lagBytes).filter((x): x is number => x !== undefined);
  const pause = o.pause;
  const expired = findings.some((f) => f.kind === 'reconcile-paused' && f.severity === 'warning');
  const sorted = [...findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  return {
    ref: o.target.ref ?? `${o.target.kind.toLowerCase()}/${o.target.name}`,
    kind: o.target.kind, name: o.target.name, namespace: o.target.namespace, system: o.target.system, topology: o.target.topology,
    operator: { present: o.operator.present, running: o.operator.running, version: o.operator.version, deployment: o.operator.deployment },
    masters: redisPods.filter((p) => p.role === 'master').length,
    replicas: redisPods.filter((p) => p.role === 'replica').length,
    sentinels: o.sentinels.length,
    readyPods: pods.filter((p) => p.ready).length,
    pods: pods.length,
    slotsCovered: slotsCovered(o),
    maxLagBytes: lags.length > 0 ? Math.max(...lags) : undefined,
    nodes: [...new Set(pods.map((p) => p.node).filter(Boolean))].sort(),
    pause: { paused: pause.paused, strategy: pause.strategy, key: pause.key, by: pause.by, at: pause.at, reason: pause.reason, until: pause.until, expired },
    health: healthOf(findings),
    findings: sorted,
    podReports: pods,
    observedAt: o.observedAt,
  };
}

export function errorReport(t: Target, message: string, at: Date): TargetReport {
  return {
    ref: t.ref, kind: t.kind, name: t.name, namespace: t.namespace, system: t.system, topology: t.topology,
    operator: { present: false, running: false }, masters: 0, replicas: 0, sentinels: 0, readyPods: 0, pods: 0, nodes: [],
    pause: { paused: false, strategy: 'none', expired: false }, health: 'error', findings: [], podReports: [], observedAt: at.toISOString(), error: message,
  };
}

export interface CollectOptions {
  direct: boolean;
  /** what the Redis flags say about reaching Redis */
  connect?: ConnectOverrides;
  timeoutMs?: number;
  /** targets observed at once */
  concurrency?: number;
  /** rethrow instead of turning an error into a report (a single named target) */
  strict?: boolean;
}

export async function collectReports(kube: KubeClient, targets: Target[], opts: CollectOptions): Promise<TargetReport[]> {
  return mapPool(targets, opts.concurrency ?? 4, async (t) => {
    let session: TargetSession | undefined;
    try {
      session = await TargetSession.open(kube, t, { direct: opts.direct, connect: opts.connect, timeoutMs: opts.timeoutMs });
      const observed = await session.observe();
      const hint = session.ctx.observeInput.spec.secretHint;
      const denied = accessFailure(observed, () => hint);
      if (denied) throw denied;
      return buildReport(observed, diagnose(observed));
    } catch (e) {
      if (opts.strict) throw e;
      return errorReport(t, errText(e), new Date());
    } finally {
      await session?.close();
    }
  });
}

/** The JSON/YAML schema (documented in README): apiVersion, kind, items. */
export function statusDocument(reports: TargetReport[]): unknown {
  return { apiVersion: 'redis.kubectl.io/v1alpha1', kind: 'StatusList', items: reports };
}
