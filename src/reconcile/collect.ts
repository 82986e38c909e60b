// The I/O half of observe: read a target's pods from Kubernetes and every Redis / sentinel's own view,
// concurrently with a bounded pool and a per-node timeout. An unreachable node is recorded, never thrown.
// Knows nothing of operators: what to read comes in a CollectSpec that the target adapter fills in.
import { errText } from '../errors.js';
import type { KubeObject, KubeReader } from '../kube/types.js';
import type { ClusterNodeEntry, PodDialer, ReplicationInfo, SentinelRecord } from '../redis/types.js';
import { parseMemoryInfo, parseReplicationInfo, totalKeys, type ClusterInfo } from '../redis/info.js';
import { connectPod, type RedisNode, type RedisTls } from '../redis/connect.js';
import { mapPool } from '../util/pool.js';
import { RES } from '../kube/resources.js';

export const PODS = RES.pods;

export interface CollectSpec {
  namespace: string;
  topology: 'cluster' | 'sentinel' | 'replication' | 'standalone';
  /** label selector of the Redis pods */
  redisSelector: string;
  /** label selector of the sentinel pods, when sentinels run in their own pods */
  sentinelSelector?: string;
  /** Bitnami sentinel: the sentinel runs as a second container of every Redis pod. */
  sentinelInRedisPods?: boolean;
  redisPort: number;
  sentinelPort: number;
  sentinelMasterName?: string;
  auth?: { username?: string; password: string };
  /** sentinels may have their own password (or none) */
  sentinelAuth?: { username?: string; password: string };
  tls?: RedisTls;
  /** names the Secret in "wrong password" errors */
  secretHint?: string;
}

export interface PodObservation {
  name: string;
  ip: string;
  nodeName: string;
  phase: string;
  ready: boolean;
  deleting: boolean;
  restarts: number;
  createdAt: string;
  labels: Record<string, string>;
  component: 'redis' | 'sentinel';
}

export interface RedisObservation {
  pod: string;
  address: string;
  reachable: boolean;
  error?: string;
  role?: 'master' | 'replica';
  clusterNodes?: ClusterNodeEntry[];
  clusterInfo?: ClusterInfo;
  replication?: ReplicationInfo;
  usedMemory?: number;
  keys?: number;
  /** COUNTKEYSINSLOT for the slots that matter (open, uncovered, contested), filled by a second pass. */
  keysBySlot?: Record<number, number>;
}

export interface SentinelObservation {
  pod: string;
  address: string;
  reachable: boolean;
  error?: string;
  master?: SentinelRecord;
  replicas: SentinelRecord[];
  sentinels: SentinelRecord[];
}

export interface Collected {
  pods: PodObservation[];
  redis: RedisObservation[];
  sentinels: SentinelObservation[];
}

export interface CollectDeps {
  reader: KubeReader;
  dialer: PodDialer;
  timeoutMs: number;
  concurrency: number;
}

interface PodShape {
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ restartCount?: number }>;
  };
}

export function podObservation(p: KubeObject, component: 'redis' | 'sentinel'): PodObservation {
  const s = p as unknown as PodShape;
  return {
    name: p.metadata.name,
    ip: s.status?.podIP ?? '',
    nodeName: s.spec?.nodeName ?? '',
    phase: s.status?.phase ?? 'Unknown',
    ready: (s.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    deleting: p.metadata.deletionTimestamp !== undefined,
    restarts: (s.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0),
    createdAt: String(p.metadata.creationTimestamp ?? ''),
    labels: p.metadata.labels ?? {},
    component,
  };
}


async function withNode<T>(spec: CollectSpec, deps: CollectDeps, pod: string, port: number, auth: CollectSpec['auth'], fn: (n: RedisNode) => Promise<T>): Promise<T> {
  const node = await connectPod({
    namespace: spec.namespace, pod, port, dialer: deps.dialer, auth, tls: spec.tls, timeoutMs: deps.timeoutMs, name: `${spec.namespace}/${pod}`, secretHint: spec.secretHint,
  });
  try {
    return await fn(node);
  } finally {
    await node.quit();
  }
}

async function observeRedis(spec: CollectSpec, deps: CollectDeps, pod: PodObservation): Promise<RedisObservation> {
  const address = `${pod.ip}:${spec.redisPort}`;
  if (!pod.ip || pod.phase !== 'Running') return { pod: pod.name, address, reachable: false, error: `pod is ${pod.deleting ? 'terminating' : pod.phase}` };
  try {
    return await withNode(spec, deps, pod.name, spec.redisPort, spec.auth, async (n) => {
      const info = await n.info();
      const replication = parseReplicationInfo(info);
      const obs: RedisObservation = {
        pod: pod.name, address, reachable: true, role: replication.role, replication,
        usedMemory: parseMemoryInfo(info).usedMemory, keys: totalKeys(info),
      };
      if (spec.topology === 'cluster') {
        obs.clusterNodes = (await n.clusterNodes()).entries;
        obs.clusterInfo = await n.clusterInfo();
      }
      return obs;
    });
  } catch (e) {
    return { pod: pod.name, address, reachable: false, error: errText(e) };
  }
}

async function observeSentinel(spec: CollectSpec, deps: CollectDeps, pod: PodObservation): Promise<SentinelObservation> {
  const address = `${pod.ip}:${spec.sentinelPort}`;
  const empty = { pod: pod.name, address, replicas: [], sentinels: [] };
  if (!pod.ip || pod.phase !== 'Running') return { ...empty, reachable: false, error: `pod is ${pod.deleting ? 'terminating' : pod.phase}` };
  const name = spec.sentinelMasterName ?? 'mymaster';
  try {
    return await withNode(spec, deps, pod.name, spec.sentinelPort, spec.sentinelAuth, async (n) => {
      const master = (await n.sentinelMasters()).find((m) => m.name === name);
      if (!master) return { ...empty, reachable: true };
      const replicas = await n.sentinelReplicas(name);
      const sentinels = await n.sentinelSentinels(name);
      return { pod: pod.name, address, reachable: true, master, replicas, sentinels };
    });
  } catch (e) {
    return { ...empty, reachable: false, error: errText(e) };
  }
}

/** Slots whose key counts decide a fix: open (migrating/importing), uncovered, or claimed by two masters. */
export function slotsThatMatter(redis: RedisObservation[]): number[] {
  const owners = new Map<number, Set<string>>();
  const open = new Set<number>();
  for (const r of redis) {
    for (const e of r.clusterNodes ?? []) {
      for (const m of e.migrating) open.add(m.slot);
      for (const i of e.importing) open.add(i.slot);
      if (e.role !== 'master' || e.failed) continue;
      for (const [a, b] of e.slots) {
        for (let s = a; s <= b; s++) {
          let set = owners.get(s);
          if (!set) owners.set(s, (set = new Set()));
          set.add(e.id);
        }
      }
    }
  }
  if (!redis.some((r) => r.clusterNodes)) return [];
  const out = new Set(open);
  for (let s = 0; s < 16384; s++) {
    const o = owners.get(s);
    if (!o || o.size > 1) out.add(s);
  }
  return [...out].sort((a, b) => a - b);
}

export async function collect(spec: CollectSpec, deps: CollectDeps): Promise<Collected> {
  const redisPods = (await deps.reader.list(PODS, spec.namespace, { labelSelector: spec.redisSelector })).map((p) => podObservation(p, 'redis'));
  const sentinelPods = spec.sentinelSelector
    ? (await deps.reader.list(PODS, spec.namespace, { labelSelector: spec.sentinelSelector })).map((p) => podObservation(p, 'sentinel'))
    : spec.sentinelInRedisPods
      ? redisPods.map((p) => ({ ...p, component: 'sentinel' as const }))
      : [];
  const redis = await mapPool(redisPods, deps.concurrency, (p) => observeRedis(spec, deps, p));
  const sentinels = await mapPool(sentinelPods, deps.concurrency, (p) => observeSentinel(spec, deps, p));
  const slots = slotsThatMatter(redis);
  if (slots.length > 0) {
    // Only masters hold keys that count; ask every reachable master (a node that lost a slot may still hold its keys).
    const masters = redis.filter((r) => r.reachable && r.role === 'master');
    await mapPool(masters, deps.concurrency, async (r) => {
      try {
        await withNode(spec, deps, r.pod, spec.redisPort, spec.auth, async (n) => {
          // Issued together, so ioredis pipelines them on the one connection.
          const counts = await Promise.all(slots.map((s) => n.countKeysInSlot(s)));
          r.keysBySlot = {};
          slots.forEach((s, i) => {
            const c = Number(counts[i]);
            if (c > 0) r.keysBySlot![s] = c;
          });
        });
      } catch (e) {
        r.error = `could not count keys per slot: ${errText(e)}`;
      }
    });
  }
  return { pods: [...redisPods, ...(spec.sentinelSelector ? sentinelPods : [])], redis, sentinels };
}
