// The pure decisions of drain-reboot: which nodes, in which batches, which steps, how each Redis master leaves the
// node before the eviction, and whether Redis is healthy enough to start (or healthy again after the reboot).
// No I/O, no clock: plain Observed / Finding / KubeObject data in, data out.
import type { KubeObject } from '../../kube/types.js';
import { matchesLabelString } from '../../kube/selector.js';
import type { Finding, FindingKind, Observed, PodFact, RedisNodeFact } from '../../reconcile/types.js';
import { podForHost } from '../../reconcile/diagnose.js';
import { isCordoned, isNodeReady } from './node.js';

export type RebootMethod = 'pod' | 'command' | 'none';
export const REBOOT_METHODS: readonly RebootMethod[] = ['pod', 'command', 'none'];

/** The steps of one node, in order. Their ids are what the journal and the node mark record. */
export const NODE_STEPS = ['gates', 'precheck', 'cordon', 'move-masters', 'drain', 'delay', 'recheck-gates', 'reboot', 'uncordon', 'redis-healthy'] as const;
export type NodeStep = (typeof NODE_STEPS)[number];

export interface StepOptions {
  rebootMethod: RebootMethod;
  rebootCommand?: string;
  delayMs: number;
  /** --no-reboot: drain and leave the node cordoned (no delay, no reboot); `uncordon` gives it back at the end */
  noReboot?: boolean;
  uncordon?: boolean;
  /** Kured's gates in one line (gates.ts describeGates), and --only-needed's sentinel */
  gates?: string;
  onlyNeededSentinel?: string;
}

/** One line per step, as the progress and the --dry-run plan say it. */
export function stepTitle(node: string, step: NodeStep, opts: StepOptions, formatMs: (ms: number) => string): string {
  switch (step) {
    case 'gates': return `wait until the gates are open before touching ${node}: ${opts.gates ?? 'no gates given'}${opts.onlyNeededSentinel ? `; then skip ${node} unless ${opts.onlyNeededSentinel} exists on it (--only-needed)` : ''}`;
    case 'recheck-gates':
      if (opts.noReboot) return `(--no-reboot: ${node} is not rebooted, no gates to check again)`;
      return `check the gates again right before rebooting ${node} (${opts.gates ?? 'no gates given'})`;
    case 'precheck': return `check that every Redis with pods on ${node} is healthy`;
    case 'cordon': return `cordon ${node} and mark it as ours`;
    case 'move-masters': return `move every Redis master off ${node}`;
    case 'drain': return `evict the pods of ${node}`;
    case 'delay': if (opts.noReboot) return `(--no-reboot: no delay for ${node})`;
      return `wait ${formatMs(opts.delayMs)}, then check ${node} is still cordoned by us`;
    case 'reboot':
      if (opts.noReboot) return `(--no-reboot: ${node} is not rebooted)`;
      return opts.rebootMethod === 'pod'
        ? `reboot ${node} (privileged pod running nsenter ... reboot) and wait for a new boot ID and Ready`
        : opts.rebootMethod === 'command'
          ? `reboot ${node} with the --reboot-command and wait for a new boot ID and Ready`
          : `wait for ${node} to be rebooted from outside (new boot ID) and Ready`;
    case 'uncordon':
      if (opts.noReboot && !opts.uncordon) return `remove our mark and leave ${node} cordoned (--no-reboot without --uncordon)`;
      return `uncordon ${node} (unless it was cordoned before we came) and remove our mark`;
    case 'redis-healthy': return `wait until every Redis that had pods on ${node} is healthy and its replicas are in sync`;
  }
}

/** The journal's key of a node's step. */
export function stepKey(node: string, step: NodeStep): string {
  return `${node}:${step}`;
}

// ---------------------------------------------------------------- nodes

/**
 * The nodes to work on, in the order given (names) or by name (selector). Throws a sentence on a bad request:
 * both or neither of names and selector, an unknown name, a selector that matches nothing.
 */
export function resolveNodes(all: KubeObject[], names: string[], selector: string | undefined): { nodes: string[]; error?: string } {
  if (names.length > 0 && selector) return { nodes: [], error: 'name nodes or give --selector, not both' };
  if (names.length === 0 && !selector) return { nodes: [], error: 'name at least one node, or give --selector' };
  const known = new Set(all.map((n) => n.metadata.name));
  if (selector) {
    const nodes = all.filter((n) => matchesLabelString(selector, n.metadata.labels ?? {})).map((n) => n.metadata.name).sort();
    if (nodes.length === 0) return { nodes, error: `no node matches the selector "${selector}"` };
    return { nodes };
  }
  const missing = names.filter((n) => !known.has(n));
  if (missing.length > 0) return { nodes: [], error: `node${missing.length > 1 ? 's' : ''} ${missing.map((n) => `"${n}"`).join(', ')} not found` };
  return { nodes: [...new Set(names)] };
}

/** Nodes in groups of at most `size`, worked on together (--max-unavailable). */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const n = Math.max(1, Math.floor(size));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

/** Why a node cannot be started on: not Ready (rebooting it would not tell us anything), or gone. */
export function whyNodeNotStartable(node: KubeObject | undefined, name: string): string | undefined {
  if (!node) return `node "${name}" does not exist`;
  if (!isNodeReady(node)) return `node "${name}" is not Ready; fix it first (drain-reboot needs a Ready node to tell the reboot worked)`;
  return undefined;
}

export { isCordoned };

// ---------------------------------------------------------------- health

/** Findings that a reboot would make worse, or that mean "not healthy yet" while waiting after one. */
const BLOCKING_KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>([
  'node-unreachable',
  'node-failed',
  'stale-ip',
  'pod-not-in-cluster',
  'node-forgotten',
  'slots-uncovered',
  'slot-multiple-owners',
  'no-master',
  'multiple-masters',
  'sentinels-disagree',
  'sentinel-unknown-master',
  'sentinel-quorum-unreachable',
  'replica-link-down',
  'replica-wrong-master',
  'pod-not-ready',
]);

/** Findings that block: every critical one, and the kinds above unless Redis itself calls them informational. */
export function blockingFindings(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.severity === 'critical' || (BLOCKING_KINDS.has(f.kind) && f.severity !== 'info'));
}

function redisPods(o: Observed): PodFact[] {
  return o.pods.filter((p) => p.component === 'redis');
}

/** Splits Redis keeps until someone decides which side wins: waiting for health does not end them. */
const WAIT_WONT_FIX: ReadonlySet<FindingKind> = new Set<FindingKind>(['multiple-masters', 'slot-multiple-owners']);

/**
 * The findings a wait for health cannot outlast, given how long each kind has been seen. Nothing decides a split
 * where no sentinel answers and no operator runs: those end the wait at once. Sentinel turns a replica that claims to
 * be master back 8 s after its INFO (every 10 s) shows the claim (redis/redis src/sentinel.c,
 * sentinelRefreshInstanceInfo), an operator on its next reconcile, and Redis Cluster itself settles two claims on a slot
 * by config epoch (cluster.c clusterUpdateSlotsConfigWith), so there they end it after `graceMs`.
 */
export function stuckFindings(o: Observed, findings: readonly Finding[], seenForMs: (kind: FindingKind) => number, graceMs: number): Finding[] {
  const decider = o.target.topology === 'cluster' || o.sentinels.some((s) => s.reachable) || (o.operator.present && o.operator.running);
  return blockingFindings(findings).filter((f) => WAIT_WONT_FIX.has(f.kind) && (!decider || seenForMs(f.kind) >= graceMs));
}

/** Sentences for what is not healthy yet, in a target just observed; empty when it is healthy and in sync. */
export function healthProblems(o: Observed, findings: readonly Finding[]): string[] {
  const out: string[] = [];
  const exp = o.target.expected;
  const want = exp?.masters !== undefined && exp.replicasPerMaster !== undefined ? exp.masters * (1 + exp.replicasPerMaster) : undefined;
  const have = redisPods(o).length;
  if (want !== undefined && have < want) out.push(`${have} of ${want} Redis pods exist`);
  const notReady = o.pods.filter((p) => !p.ready || p.deleting).map((p) => p.name);
  if (notReady.length > 0) out.push(`pods not Ready: ${notReady.join(', ')}`);
  for (const r of o.redis) {
    if (!r.reachable) continue;
    const rep = r.replication;
    if (rep?.role === 'replica' && (rep.masterLinkStatus !== 'up' || rep.masterSyncInProgress)) {
      out.push(`replica ${r.pod} is ${rep.masterSyncInProgress ? 'still syncing' : 'not linked to its master'}`);
    }
  }
  for (const f of blockingFindings(findings)) {
    if (f.kind === 'pod-not-ready' || f.kind === 'replica-link-down') continue; // said above, per pod
    out.push(f.message);
  }
  return [...new Set(out)];
}

/** Does the target run any pod (Redis or sentinel) on the node? */
export function hasPodsOn(o: Observed, node: string): boolean {
  return o.pods.some((p) => p.nodeName === node);
}

// ---------------------------------------------------------------- masters off the node

export type MasterMove =
  /** CLUSTER FAILOVER on `replica` (on another node); the master steps down once the replica caught up. */
  | { kind: 'cluster-failover'; master: string; replica: string; replicaNode: string }
  /**
   * SENTINEL FAILOVER steered to a replica on another node: replicas on the drained node (`demote`) get
   * replica-priority 0 first, writes on the master pause until the others caught up.
   */
  | { kind: 'sentinel-failover'; master: string; replica: string; replicaNode: string; masterName: string; sentinels: string[]; demote: string[]; others: string[] }
  /** Every replica of the master runs on a node being drained: evict one first so it comes back elsewhere, then fail over. */
  | { kind: 'relocate-replica'; master: string; replica: string }
  /** Nothing can take over: the eviction will cost this master's failover (or its downtime). */
  | { kind: 'stuck'; master: string; reason: string };

function podOf(o: Observed, name: string): PodFact | undefined {
  return o.pods.find((p) => p.name === name && p.component === 'redis');
}

function selfEntry(r: RedisNodeFact) {
  return r.clusterNodes?.find((e) => e.myself);
}

const byOffsetThenName = (a: { offset: number; pod: string }, b: { offset: number; pod: string }) => b.offset - a.offset || a.pod.localeCompare(b.pod);

function clusterMoves(o: Observed, node: string, avoid: ReadonlySet<string>): MasterMove[] {
  const moves: MasterMove[] = [];
  const live = o.redis.filter((r) => r.reachable && selfEntry(r));
  for (const m of live) {
    const me = selfEntry(m)!;
    const pod = podOf(o, m.pod);
    if (pod?.nodeName !== node || me.role !== 'master' || me.slots.length === 0) continue;
    const replicas = live
      .filter((r) => selfEntry(r)?.role === 'replica' && selfEntry(r)?.masterId === me.id)
      .map((r) => ({ r, pod: r.pod, p: podOf(o, r.pod), offset: r.replication?.slaveReplOffset ?? 0 }));
    const inSync = replicas.filter((x) => x.r.replication?.masterLinkStatus === 'up' && !x.r.replication.masterSyncInProgress && x.p?.ready && !x.p.deleting);
    const away = inSync.filter((x) => !avoid.has(x.p?.nodeName ?? '')).sort(byOffsetThenName);
    if (away[0]) {
      moves.push({ kind: 'cluster-failover', master: m.pod, replica: away[0].pod, replicaNode: away[0].p?.nodeName ?? '' });
    } else if (replicas.some((x) => avoid.has(x.p?.nodeName ?? ''))) {
      const here = replicas.filter((x) => avoid.has(x.p?.nodeName ?? '')).sort(byOffsetThenName);
      moves.push({ kind: 'relocate-replica', master: m.pod, replica: here[0].pod });
    } else {
      const why = replicas.length === 0 ? 'it has no replica' : `its replicas (${replicas.map((x) => x.pod).join(', ')}) are not in sync`;
      moves.push({ kind: 'stuck', master: m.pod, reason: why });
    }
  }
  return moves;
}

function replicationMoves(o: Observed, node: string, avoid: ReadonlySet<string>): MasterMove[] {
  const masters = o.redis.filter((r) => r.reachable && r.replication?.role === 'master');
  const moves: MasterMove[] = [];
  for (const m of masters) {
    const pod = podOf(o, m.pod);
    if (pod?.nodeName !== node) continue;
    const ip = pod.ip;
    const replicas = o.redis
      .filter((r) => r.reachable && r.replication?.role === 'replica' && (r.replication.masterHost === ip || podForHost(o, r.replication.masterHost)?.name === m.pod))
      .map((r) => ({ r, pod: r.pod, p: podOf(o, r.pod), offset: r.replication?.slaveReplOffset ?? 0 }));
    const inSync = replicas.filter((x) => x.r.replication?.masterLinkStatus === 'up' && !x.r.replication.masterSyncInProgress && x.p?.ready && !x.p.deleting && (x.r.replication.replicaPriority ?? 100) !== 0);
    const away = inSync.filter((x) => !avoid.has(x.p?.nodeName ?? '')).sort(byOffsetThenName);
    const sentinels = o.sentinels.filter((s) => s.reachable && s.master).map((s) => s.pod);
    if (away[0] && sentinels.length > 0) {
      moves.push({
        kind: 'sentinel-failover', master: m.pod, replica: away[0].pod, replicaNode: away[0].p?.nodeName ?? '',
        masterName: o.sentinels.find((s) => s.master)?.masterName ?? 'mymaster', sentinels,
        demote: replicas.filter((x) => avoid.has(x.p?.nodeName ?? '')).map((x) => x.pod).sort(),
        others: away.map((x) => x.pod),
      });
    } else if (away[0]) {
      moves.push({ kind: 'stuck', master: m.pod, reason: 'no sentinel answers to fail it over through (the operator elects its master)' });
    } else if (replicas.some((x) => avoid.has(x.p?.nodeName ?? ''))) {
      const here = replicas.filter((x) => avoid.has(x.p?.nodeName ?? '')).sort(byOffsetThenName);
      moves.push({ kind: 'relocate-replica', master: m.pod, replica: here[0].pod });
    } else {
      moves.push({ kind: 'stuck', master: m.pod, reason: replicas.length === 0 ? 'it has no replica' : 'its replicas are not in sync' });
    }
  }
  return moves;
}

/**
 * How each Redis master on `node` leaves it, given a fresh observation of its target. Empty: none is left.
 * `alsoDraining`: the other nodes of the same batch (--max-unavailable > 1), never a failover target either.
 */
export function masterMoves(o: Observed, node: string, alsoDraining: readonly string[] = []): MasterMove[] {
  const avoid = new Set([node, ...alsoDraining]);
  switch (o.target.topology) {
    case 'cluster': return clusterMoves(o, node, avoid);
    case 'sentinel':
    case 'replication': return replicationMoves(o, node, avoid);
    default: {
      const here = o.redis.filter((r) => r.reachable && podOf(o, r.pod)?.nodeName === node);
      return here.map((r) => ({ kind: 'stuck' as const, master: r.pod, reason: 'a standalone Redis has nobody to fail over to' }));
    }
  }
}

/** One sentence per move, for progress and the dry-run plan. */
export function describeMove(m: MasterMove, target: string): string {
  switch (m.kind) {
    case 'cluster-failover': return `${target}: CLUSTER FAILOVER of master ${m.master} to its replica ${m.replica} on ${m.replicaNode}`;
    case 'sentinel-failover': return `${target}: SENTINEL FAILOVER of master ${m.master} to replica ${m.replica} on ${m.replicaNode}${m.demote.length ? ` (replicas on the node ${m.demote.join(', ')} get replica-priority 0)` : ''}`;
    case 'relocate-replica': return `${target}: every replica of master ${m.master} is on a node being drained: evict replica ${m.replica} first, then fail over to it`;
    case 'stuck': return `${target}: master ${m.master} cannot be moved (${m.reason}); evicting it costs a failover`;
  }
}

/** Offsets the sentinel way waits for: every other replica has at least the master's offset. */
export function caughtUp(masterOffset: number, replicaOffsets: ReadonlyArray<number | undefined>): boolean {
  return replicaOffsets.length > 0 && replicaOffsets.every((o) => o !== undefined && o >= masterOffset);
}
