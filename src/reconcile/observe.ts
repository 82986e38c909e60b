// observe = collect (I/O) + build (pure): a target's Kubernetes objects and every Redis node's own view, as the
// plain Observed data that diagnose and plan decide on.
import { RedisError } from '../errors.js';
import type { KubeObject, KubeReader } from '../kube/types.js';
import type { PodDialer } from '../redis/types.js';
import { collect, type Collected, type CollectSpec, type PodObservation } from './collect.js';
import type { PauseFact } from '../targets/pause.js';
import type { ClusterInfoFact, Observed, OperatorFact, PdbFact, PodFact, RedisNodeFact, SentinelFact, TargetFact } from './types.js';
import { matchesLabelSelector, type LabelSelector } from '../kube/selector.js';
import { RES } from '../kube/resources.js';

export const PDBS = RES.pdbs;

/** What observe needs to know of a target; the target adapters fill it in (see src/targets). */
export interface ObserveInput {
  fact: TargetFact;
  spec: CollectSpec;
  roleLabel?: { key: string; master: string; replica: string };
  /** shard (StatefulSet) and ordinal of a pod, for systems that have shards */
  podPlacement?: (pod: PodObservation) => { shard?: string; ordinal?: number };
  /** PDB names the operator/chart creates for this target */
  pdbNames: string[];
  pause: PauseFact;
  operator: OperatorFact;
}

export interface ObserveDeps {
  reader: KubeReader;
  dialer: PodDialer;
  timeoutMs: number;
  concurrency: number;
  now: () => Date;
}

export async function observe(input: ObserveInput, deps: ObserveDeps): Promise<Observed> {
  const [collected, pdbs] = await Promise.all([collect(input.spec, deps), deps.reader.list(PDBS, input.spec.namespace)]);
  return buildObserved(input, collected, pdbs, deps.now());
}

function ordinalOf(name: string): number | undefined {
  const m = name.match(/-(\d+)$/);
  return m ? Number(m[1]) : undefined;
}

interface PdbShape {
  spec?: { selector?: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> }; maxUnavailable?: number | string; minAvailable?: number | string };
  status?: { disruptionsAllowed?: number };
}

/** Pure: turn what was collected into the Observed that diagnose reads. */
export function buildObserved(input: ObserveInput, c: Collected, pdbObjects: KubeObject[], now: Date): Observed {
  const pods: PodFact[] = c.pods.map((p) => {
    const placement = input.podPlacement?.(p) ?? {};
    const fact: PodFact = {
      name: p.name, ip: p.ip, nodeName: p.nodeName, ready: p.ready, phase: p.phase, deleting: p.deleting, component: p.component,
      ordinal: placement.ordinal ?? ordinalOf(p.name),
    };
    if (placement.shard !== undefined) fact.shard = placement.shard;
    if (input.roleLabel && p.component === 'redis') {
      fact.roleLabel = { key: input.roleLabel.key, value: p.labels[input.roleLabel.key] ?? '', masterValue: input.roleLabel.master, replicaValue: input.roleLabel.replica };
    }
    return fact;
  });
  const redis: RedisNodeFact[] = c.redis.map((r) => {
    const f: RedisNodeFact = { pod: r.pod, address: r.address, reachable: r.reachable };
    if (r.error !== undefined) f.error = r.error;
    if (r.clusterNodes) f.clusterNodes = r.clusterNodes;
    if (r.clusterInfo) {
      const ci: ClusterInfoFact = {
        state: r.clusterInfo.state === 'ok' ? 'ok' : 'fail',
        slotsAssigned: r.clusterInfo.slotsAssigned,
        knownNodes: r.clusterInfo.knownNodes,
        currentEpoch: r.clusterInfo.currentEpoch,
        myEpoch: r.clusterInfo.myEpoch,
      };
      f.clusterInfo = ci;
    }
    if (r.replication) f.replication = r.replication;
    if (r.replication?.masterReplid2 !== undefined) f.replid2 = r.replication.masterReplid2;
    if (r.replication?.secondReplOffset !== undefined) f.secondReplOffset = r.replication.secondReplOffset;
    if (r.keysBySlot) f.keysBySlot = r.keysBySlot;
    if (r.keys !== undefined) f.dbsize = r.keys;
    if (r.usedMemory !== undefined) f.usedMemory = r.usedMemory;
    if (r.maxMemory !== undefined) f.maxMemory = r.maxMemory;
    if (r.datasetMemory !== undefined) f.datasetMemory = r.datasetMemory;
    return f;
  });
  // the target's master set, else the one its sentinels monitor; 'mymaster' (sentinel.conf's example) only when no
  // object names one and no sentinel monitors anything, so that heal can make them monitor again
  const masterName = input.spec.sentinelMasterName ?? c.sentinels.find((s) => s.masterName)?.masterName ?? 'mymaster';
  const sentinels: SentinelFact[] = c.sentinels.map((s) => {
    const f: SentinelFact = { pod: s.pod, reachable: s.reachable, masterName, knownReplicas: [], knownSentinels: [] };
    if (s.error !== undefined) f.error = s.error;
    if (s.master) {
      f.master = {
        ip: s.master.ip ?? '',
        port: Number(s.master.port ?? 0),
        flags: (s.master.flags ?? '').split(',').filter(Boolean),
        numSlaves: Number(s.master['num-slaves'] ?? 0),
        numOtherSentinels: Number(s.master['num-other-sentinels'] ?? 0),
        quorum: Number(s.master.quorum ?? 0),
      };
    }
    f.knownReplicas = s.replicas.map((r) => `${r.ip}:${r.port}`);
    f.knownSentinels = s.sentinels.map((r) => `${r.ip}:${r.port}`);
    return f;
  });
  const podLabels = new Map(c.pods.map((p) => [p.name, p.labels]));
  const pdbs: PdbFact[] = pdbObjects
    .filter((o) => input.pdbNames.includes(o.metadata.name))
    .map((o) => {
      const s = o as unknown as PdbShape;
      const f: PdbFact = {
        name: o.metadata.name,
        pods: [...podLabels.entries()].filter(([, l]) => matchesLabelSelector(s.spec?.selector as LabelSelector | undefined, l)).map(([n]) => n),
      };
      if (s.spec?.maxUnavailable !== undefined) f.maxUnavailable = s.spec.maxUnavailable;
      if (s.spec?.minAvailable !== undefined) f.minAvailable = s.spec.minAvailable;
      if (s.status?.disruptionsAllowed !== undefined) f.disruptionsAllowed = s.status.disruptionsAllowed;
      return f;
    });
  return { target: input.fact, observedAt: now.toISOString(), pods, redis, sentinels, pause: input.pause, operator: input.operator, pdbs };
}

/**
 * When no Redis node of a target lets us in because of its password, that is bad input (the Secret is wrong or
 * unreadable), not a topology: say it as one sentence instead of N unreachable nodes.
 */
/** authFailure as the error a command stops with; the hint names the password's Secret when it is the password. */
export function accessFailure(o: Observed, secretHint: () => string | undefined): RedisError | undefined {
  const auth = authFailure(o);
  if (!auth) return undefined;
  return new RedisError(auth, /password|NOAUTH|WRONGPASS|authenticat/i.test(auth) ? { hint: `the password comes from ${secretHint() ?? 'the Secret the operator was given'}` } : {});
}

export function authFailure(o: Observed): string | undefined {
  const nodes = o.redis;
  if (nodes.length === 0 || nodes.some((r) => r.reachable)) return undefined;
  // the password, the TLS certificates (a wrong CA, a server name the certificate lacks, no client certificate), or an
  // ACL user without the permissions observe needs
  const credentials = /password|NOAUTH|WRONGPASS|authenticat|TLS certificate|client certificate|may not run/i;
  const auth = nodes.find((r) => credentials.test(r.error ?? ''));
  return auth && nodes.every((r) => credentials.test(r.error ?? '')) ? auth.error : undefined;
}
