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
  /**
   * The DNS domain of each StatefulSet's pods (`<serviceName>.<ns>.svc.<cluster domain>`): with TLS, a pod's
   * certificate is checked against `<pod>.<that>` (charts' certificates name no IP, and a port-forward is 127.0.0.1)
   * unless tls.servername says one name for all.
   */
  podDomains?: Record<string, string>;
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
  maxMemory?: number;
  datasetMemory?: number;
  keys?: number;
  /** COUNTKEYSINSLOT for the slots that matter (open, uncovered, contested), filled by a second pass. */
  keysBySlot?: Record<number, number>;
}

export interface SentinelObservation {
  pod: string;
  address: string;
  reachable: boolean;
  error?: string;
  /** the master set it monitors: the target's, or (when no object names one) the only one it has */
  masterName?: string;
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


/** The TLS settings to reach one pod with: the spec's, with the name its certificate must carry. */
export function tlsFor(spec: Pick<CollectSpec, 'tls' | 'podDomains'>, pod: string): RedisTls | undefined {
  if (!spec.tls || spec.tls.servername !== undefined) return spec.tls;
  for (const [sts, domain] of Object.entries(spec.podDomains ?? {})) {
    if (pod.startsWith(`${sts}-`) && /^\d+$/.test(pod.slice(sts.length + 1))) return { ...spec.tls, servername: `${pod}.${domain}` };
  }
  return spec.tls;
}

function connectTo(spec: CollectSpec, deps: CollectDeps, pod: PodObservation | string, port: number, auth: CollectSpec['auth']): Promise<RedisNode> {
  const name = typeof pod === 'string' ? pod : pod.name;
  return connectPod({
    namespace: spec.namespace, pod: name, port, dialer: deps.dialer, auth, tls: tlsFor(spec, name), timeoutMs: deps.timeoutMs, name: `${spec.namespace}/${name}`, secretHint: spec.secretHint,
    podIp: typeof pod === 'string' ? undefined : pod.ip,
  });
}

async function withNode<T>(spec: CollectSpec, deps: CollectDeps, pod: PodObservation, port: number, auth: CollectSpec['auth'], fn: (n: RedisNode) => Promise<T>): Promise<T> {
  const node = await connectTo(spec, deps, pod, port, auth);
  try {
    return await fn(node);
  } finally {
    await node.quit();
  }
}

/**
 * A Redis node's own view, on one connection. A master's connection goes to `keep` (the caller counts keys on it,
 * then quits it); any other is quit here.
 */
async function observeRedis(spec: CollectSpec, deps: CollectDeps, pod: PodObservation, keep: (n: RedisNode) => void): Promise<RedisObservation> {
  const address = `${pod.ip}:${spec.redisPort}`;
  if (!pod.ip || pod.phase !== 'Running') return { pod: pod.name, address, reachable: false, error: `pod is ${pod.deleting ? 'terminating' : pod.phase}` };
  let n: RedisNode;
  try {
    n = await connectTo(spec, deps, pod, spec.redisPort, spec.auth);
  } catch (e) {
    return { pod: pod.name, address, reachable: false, error: errText(e) };
  }
  let kept = false;
  try {
    // issued together: ioredis writes them in one go and Redis answers them in one round trip
    // the three INFO sections observe reads, not all of INFO (its other sections are most of the text to parse)
    const [replicationInfo, memoryInfo, keyspaceInfo, nodes, clusterInfo] = await n.batch(() => Promise.all([
      n.info('replication'),
      n.info('memory'),
      n.info('keyspace'),
      spec.topology === 'cluster' ? n.clusterNodes() : undefined,
      spec.topology === 'cluster' ? n.clusterInfo() : undefined,
    ]));
    const info = { ...replicationInfo, ...memoryInfo, ...keyspaceInfo };
    const replication = parseReplicationInfo(info);
    const memory = parseMemoryInfo(info);
    const obs: RedisObservation = {
      pod: pod.name, address, reachable: true, role: replication.role, replication,
      usedMemory: memory.usedMemory, keys: totalKeys(info),
    };
    if (memory.maxmemory !== undefined) obs.maxMemory = memory.maxmemory;
    if (memory.usedMemoryDataset !== undefined) obs.datasetMemory = memory.usedMemoryDataset;
    if (nodes) obs.clusterNodes = nodes.entries;
    if (clusterInfo) obs.clusterInfo = clusterInfo;
    if (obs.role === 'master' && spec.topology === 'cluster') {
      keep(n);
      kept = true;
    }
    return obs;
  } catch (e) {
    return { pod: pod.name, address, reachable: false, error: errText(e) };
  } finally {
    if (!kept) await n.quit().catch(() => undefined);
  }
}

async function observeSentinel(spec: CollectSpec, deps: CollectDeps, pod: PodObservation): Promise<SentinelObservation> {
  const address = `${pod.ip}:${spec.sentinelPort}`;
  const empty = { pod: pod.name, address, replicas: [], sentinels: [] };
  if (!pod.ip || pod.phase !== 'Running') return { ...empty, reachable: false, error: `pod is ${pod.deleting ? 'terminating' : pod.phase}` };
  const given = spec.sentinelMasterName;
  try {
    return await withNode(spec, deps, pod, spec.sentinelPort, spec.sentinelAuth, async (n) => {
      if (given === undefined) {
        // no object names the master set (the Bitnami chart writes sentinel.masterSet only into its start script):
        // the sentinel's own SENTINEL MASTERS says it, then one more round trip for its replicas and sentinels
        const masters = await n.sentinelMasters();
        if (masters.length === 0) return { ...empty, reachable: true };
        if (masters.length > 1) {
          return { ...empty, reachable: true, error: `it monitors ${masters.length} master sets (${masters.map((m) => m.name).join(', ')}) and nothing in the target's objects says which is this target's` };
        }
        const name = masters[0].name ?? '';
        const [replicas, sentinels] = await Promise.all([n.sentinelReplicas(name), n.sentinelSentinels(name)]);
        return { pod: pod.name, address, reachable: true, masterName: name, master: masters[0], replicas, sentinels };
      }
      // issued together (one round trip); REPLICAS and SENTINELS fail when the sentinel does not monitor `given`
      const replicasP = n.sentinelReplicas(given);
      const sentinelsP = n.sentinelSentinels(given);
      replicasP.catch(() => undefined);
      sentinelsP.catch(() => undefined);
      const master = (await n.sentinelMasters()).find((m) => m.name === given);
      if (!master) return { ...empty, reachable: true };
      const [replicas, sentinels] = await Promise.all([replicasP, sentinelsP]);
      return { pod: pod.name, address, reachable: true, masterName: given, master, replicas, sentinels };
    });
  } catch (e) {
    return { ...empty, reachable: false, error: errText(e) };
  }
}

/** Slots whose key counts decide a fix: open (migrating/importing), uncovered, or claimed by two masters. */
export function slotsThatMatter(redis: RedisObservation[]): number[] {
  if (!redis.some((r) => r.clusterNodes)) return [];
  // One claimant per slot (the first master id seen), or CONTESTED once a second id claims it. Every node repeats
  // the same claims: each distinct claim (id and ranges) is walked once, not once per view.
  const CONTESTED = '';
  const owner: Array<string | undefined> = new Array(16384);
  const open = new Set<number>();
  const walked = new Map<string, Array<Array<[number, number]>>>();
  const same = (a: Array<[number, number]>, b: Array<[number, number]>): boolean => a.length === b.length && a.every(([x, y], i) => x === b[i][0] && y === b[i][1]);
  for (const r of redis) {
    for (const e of r.clusterNodes ?? []) {
      for (const m of e.migrating) open.add(m.slot);
      for (const i of e.importing) open.add(i.slot);
      if (e.role !== 'master' || e.failed || e.slots.length === 0) continue;
      const seen = walked.get(e.id) ?? [];
      if (seen.some((r) => same(r, e.slots))) continue;
      walked.set(e.id, [...seen, e.slots]);
      for (const [a, b] of e.slots) {
        for (let s = a; s <= b; s++) {
          const o = owner[s];
          if (o === undefined) owner[s] = e.id;
          else if (o !== e.id) owner[s] = CONTESTED;
        }
      }
    }
  }
  const out = new Set(open);
  for (let s = 0; s < 16384; s++) {
    const o = owner[s];
    if (o === undefined || o === CONTESTED) out.add(s);
  }
  return [...out].sort((a, b) => a - b);
}

export async function collect(spec: CollectSpec, deps: CollectDeps): Promise<Collected> {
  const [redisPods, ownSentinelPods] = await Promise.all([
    deps.reader.list(PODS, spec.namespace, { labelSelector: spec.redisSelector }).then((l) => l.map((p) => podObservation(p, 'redis'))),
    spec.sentinelSelector ? deps.reader.list(PODS, spec.namespace, { labelSelector: spec.sentinelSelector }).then((l) => l.map((p) => podObservation(p, 'sentinel'))) : undefined,
  ]);
  const sentinelPods = ownSentinelPods ?? (spec.sentinelInRedisPods ? redisPods.map((p) => ({ ...p, component: 'sentinel' as const })) : []);
  // One connection per Redis node, opened concurrently (bounded by the pool); masters' are kept for the key counts.
  const open = new Map<string, RedisNode>();
  try {
    const [redis, sentinels] = await Promise.all([
      mapPool(redisPods, deps.concurrency, (p) => observeRedis(spec, deps, p, (n) => open.set(p.name, n))),
      mapPool(sentinelPods, deps.concurrency, (p) => observeSentinel(spec, deps, p)),
    ]);
    const slots = slotsThatMatter(redis);
    if (slots.length > 0) {
      // Only masters hold keys that count; ask every reachable master (a node that lost a slot may still hold its keys).
      const masters = redis.filter((r) => r.reachable && r.role === 'master');
      await Promise.all(masters.map(async (r) => {
        const n = open.get(r.pod);
        if (!n) return;
        try {
          // Issued together in one write on the one connection.
          const counts = await n.batch(() => Promise.all(slots.map((s) => n.countKeysInSlot(s))));
          r.keysBySlot = {};
          slots.forEach((s, i) => {
            const c = Number(counts[i]);
            if (c > 0) r.keysBySlot![s] = c;
          });
        } catch (e) {
          r.error = `could not count keys per slot: ${errText(e)}`;
        }
      }));
    }
    return { pods: [...redisPods, ...(ownSentinelPods ?? [])], redis, sentinels };
  } finally {
    await Promise.all([...open.values()].map((n) => n.quit().catch(() => undefined)));
  }
}
