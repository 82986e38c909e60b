// The pure decisions of migrate: where an ordinal lives while the move is half done, which ordinals an abort brings
// back and in which order, what each step says it does, and whether every Redis node agrees on the topology.
// No I/O: the workflow reads the world and asks here.
import { mergeRanges, uncoveredRanges } from '../../redis/cluster-nodes.js';
import type { ClusterInfo } from '../../redis/info.js';
import type { ClusterNodeEntry } from '../../redis/types.js';
import { podName, type MigrationStep, type MovingSet } from './objects.js';

/** The ordinals a StatefulSet owns: [start, start+replicas). */
export interface OrdinalRange {
  start: number;
  replicas: number;
}

export type Place = 'source' | 'destination' | 'nowhere';

/** Where ordinal k runs, from the two StatefulSets' specs (the destination may not exist yet). */
export function placeOf(k: number, source: OrdinalRange, destination: OrdinalRange | undefined): Place {
  if (k >= source.start && k < source.start + source.replicas) return 'source';
  if (destination && k >= destination.start && k < destination.start + destination.replicas) return 'destination';
  return 'nowhere';
}

/**
 * The ordinals an abort brings back to the source, in order: the lowest one not in the source first, so the source
 * keeps owning a contiguous range from its start and the destination one up to the end (seed 003 in reverse).
 */
export function abortOrder(set: MovingSet, sourceReplicas: number): number[] {
  const out: number[] = [];
  for (let k = set.start + Math.max(0, sourceReplicas); k < set.start + set.replicas; k++) out.push(k);
  return out;
}

/** The destination range after ordinal k went back to the source: it starts past k. */
export function destinationAfterReturn(set: MovingSet, k: number): OrdinalRange {
  const end = set.start + set.replicas;
  return { start: k + 1, replicas: Math.max(0, end - k - 1) };
}

export interface Sides {
  from: string;
  to: string;
  namespace: string;
  toNamespace: string;
}

/** One line per step, for the dry run, the confirmation and the progress lines. */
export function describeStep(s: MigrationStep, sides: Sides, target: string): string {
  const dst = sides.namespace === sides.toNamespace ? sides.to : `${sides.to} (namespace ${sides.toNamespace})`;
  switch (s.kind) {
    case 'pause':
      return `pause reconciliation of ${target} in ${sides.from}`;
    case 'copy-config':
      return `copy the namespace, Secrets, ConfigMaps, Services, PodDisruptionBudgets (and the operator's resource, paused) to ${dst}`;
    case 'create-destination':
      return `create the StatefulSets in ${dst} with 0 replicas and ordinals starting past the end`;
    case 'failover':
      return `if ${podName(s.sts, s.ordinal)} is a master, fail it over to one of its replicas (CLUSTER FAILOVER) and wait until every node agrees`;
    case 'retain-pv':
      return `set the reclaim policy of ${podName(s.sts, s.ordinal)}'s PersistentVolumes to Retain`;
    case 'scale-source':
      return `scale StatefulSet ${s.sts} in ${sides.from} to ${s.replicas} replica${s.replicas === 1 ? '' : 's'} and wait until ${podName(s.sts, s.ordinal)} is gone`;
    case 'copy-volumes':
      return `copy ${podName(s.sts, s.ordinal)}'s PersistentVolumes and claims to ${dst} (without uid, resourceVersion, claimRef, status)`;
    case 'scale-destination':
      return `patch StatefulSet ${s.sts} in ${dst}: ordinals.start ${s.start}, replicas ${s.replicas}`;
    case 'wait-joined':
      return `wait until ${podName(s.sts, s.ordinal)} runs in ${sides.to} with the same Redis node id, in sync, and every node sees its new address`;
    case 'verify':
      return `verify the whole topology from every node: same node ids, every slot covered, every view agreeing`;
    case 'resume':
      return `resume reconciliation in ${sides.to}`;
  }
}

// ---------------------------------------------------------------- Redis Cluster agreement

/** What one node says: its own id, its CLUSTER NODES and CLUSTER INFO. */
export interface NodeView {
  pod: string;
  entries: ClusterNodeEntry[];
  info?: ClusterInfo;
}

export interface ExpectedNode {
  pod: string;
  id: string;
  /** The pod's current IP; undefined while the pod is not running. */
  ip?: string;
}

/** A node as the whole cluster sees it, and masters' slots, as one comparable string per view. */
function slotMap(entries: ClusterNodeEntry[]): string {
  return entries
    .filter((e) => e.role === 'master' && e.slots.length > 0)
    .map((e) => `${e.id}:${mergeRanges(e.slots).map(([a, b]) => `${a}-${b}`).join(',')}`)
    .sort()
    .join(' ');
}

/**
 * Everything that is not right about a Redis Cluster in the middle or at the end of a move, from every node's own
 * view: a node that does not know itself by its recorded id, a node that does not know another one or knows it at an
 * old address or as failing, node ids nobody expects, slots not covered, views that disagree about who owns which
 * slot, cluster_state not ok. Empty = the cluster agrees. `expected` lists every node that must be there.
 */
export function clusterProblems(views: NodeView[], expected: ExpectedNode[]): string[] {
  const problems: string[] = [];
  const byId = new Map(expected.map((e) => [e.id, e]));
  const maps = new Map<string, string[]>();
  for (const v of views) {
    const self = v.entries.find((e) => e.myself);
    const want = expected.find((e) => e.pod === v.pod);
    if (want && self?.id !== want.id) problems.push(`${v.pod} has node id ${self?.id ?? '(none)'}, expected ${want.id}`);
    for (const e of v.entries) {
      const w = byId.get(e.id);
      if (!w) {
        problems.push(`${v.pod} knows a node ${e.id.slice(0, 8)} (${e.ip || 'no address'}) that is not one of the pods`);
        continue;
      }
      if (e.failed || e.pfail) problems.push(`${v.pod} sees ${w.pod} as ${e.failed ? 'failed' : 'possibly failing'}`);
      if (e.handshake || e.noaddr) problems.push(`${v.pod} has no settled address for ${w.pod}`);
      else if (w.ip && e.ip !== w.ip) problems.push(`${v.pod} knows ${w.pod} at ${e.ip}, but it runs at ${w.ip}`);
      if (!e.myself && e.linkState !== 'connected') problems.push(`${v.pod} has no link to ${w.pod}`);
      if (e.migrating.length > 0 || e.importing.length > 0) problems.push(`${v.pod} has open slots on ${w.pod}`);
    }
    for (const w of expected) if (!v.entries.some((e) => e.id === w.id)) problems.push(`${v.pod} does not know ${w.pod} (${w.id.slice(0, 8)})`);
    const owned = v.entries.filter((e) => e.role === 'master').flatMap((e) => e.slots);
    const gaps = uncoveredRanges(owned);
    if (gaps.length > 0) problems.push(`${v.pod} sees ${gaps.reduce((n, [a, b]) => n + b - a + 1, 0)} slots with no owner`);
    if (v.info && v.info.state !== 'ok') problems.push(`${v.pod} reports cluster_state:${v.info.state}`);
    const key = slotMap(v.entries);
    maps.set(key, [...(maps.get(key) ?? []), v.pod]);
  }
  if (maps.size > 1) problems.push(`the nodes disagree about which master owns which slots (${[...maps.values()].map((pods) => pods.join(',')).join(' vs ')})`);
  return problems;
}

/** The masters among the expected nodes, as the majority of views says. */
export function mastersOf(views: NodeView[]): Set<string> {
  const votes = new Map<string, number>();
  for (const v of views) for (const e of v.entries) if (e.role === 'master') votes.set(e.id, (votes.get(e.id) ?? 0) + 1);
  return new Set([...votes].filter(([, n]) => n * 2 > views.length).map(([id]) => id));
}

/** A master with no replica cannot be moved without its slots going down: the ids of such masters. */
export function mastersWithoutReplica(entries: ClusterNodeEntry[]): string[] {
  const masters = entries.filter((e) => e.role === 'master' && e.slots.length > 0 && !e.failed);
  return masters.filter((m) => !entries.some((r) => r.role === 'replica' && r.masterId === m.id && !r.failed)).map((m) => m.id);
}
