// rebalance, the pure part: which pods join and as what, which slots move where (as redis-cli's
// `--cluster rebalance` decides it), whether the receivers have the memory for them, and the moves cut into the
// chunks the engine applies. No I/O: the workflow (workflows/rebalance) feeds it an observation and runs its result.
//
// The slot spread follows redis/redis src/redis-cli.c, clusterManagerCommandRebalance (7.0/7.2, unchanged since 5.0):
// - every master takes part with weight 1 unless --weight says otherwise; a master without slots takes part only
//   with --use-empty-masters (there: `if (!use_empty && n->slots_count == 0) { n->weight = 0; continue; }`). Masters
//   this run joined take part as if --use-empty-masters were given: they were joined to take slots.
// - expected = (int)((float)16384 / total_weight * weight); balance = slots - expected.
// - nothing moves unless a master is over the threshold: |100 - 100 * expected / slots| > threshold, or a master
//   with no slots expects more than 1.
// - rounding: while the balances sum above 0, each master with balance <= 0 takes one more (balance--).
// - masters sorted by balance; the most negative takes from the most positive min(|db|, |sb|) slots, the source's
//   lowest-numbered slots first (clusterManagerComputeReshardTable with one source), until the indexes meet.
// --drain POD is weight 0 for that master, as `redis-cli --cluster rebalance --cluster-weight <id>=0` empties one.
import { CLUSTER_SLOTS } from '../redis/cluster-nodes.js';

export interface BalanceMaster {
  pod: string;
  id: string;
  /** slots it owns, ascending */
  slots: number[];
  /** joined as a master by this run (takes part even without slots) */
  joined?: boolean;
}

export interface BalanceInput {
  masters: BalanceMaster[];
  /** pod -> weight (>= 0); masters not named weigh 1 */
  weights?: Record<string, number>;
  /** masters to empty (weight 0) */
  drain?: string[];
  useEmptyMasters?: boolean;
  /** percent, as redis-cli's --cluster-threshold (default 2) */
  threshold: number;
}

export interface SlotMove {
  slot: number;
  fromPod: string;
  fromId: string;
  toPod: string;
  toId: string;
}

export interface BalanceShare {
  pod: string;
  id: string;
  weight: number;
  slots: number;
  expected: number;
  /** slots after the plan */
  after: number;
}

export type BalanceResult =
  | { outcome: 'moves'; moves: SlotMove[]; shares: BalanceShare[]; totalWeight: number; needed: boolean }
  | { outcome: 'refused'; reason: 'usage' | 'refused'; message: string };

/** redis-cli computes in single precision: (int)(((float)CLUSTER_MANAGER_SLOTS / total_weight) * n->weight). */
function expectedSlots(totalWeight: number, weight: number): number {
  return Math.trunc(Math.fround(Math.fround(CLUSTER_SLOTS / totalWeight) * weight));
}

export function overThreshold(slots: number, expected: number, threshold: number): boolean {
  if (threshold <= 0) return false;
  if (slots > 0) return Math.abs(100 - (100 * expected) / slots) > threshold;
  return expected > 1;
}

export function balancePlan(input: BalanceInput): BalanceResult {
  const byPod = new Map(input.masters.map((m) => [m.pod, m]));
  for (const pod of Object.keys(input.weights ?? {})) {
    if (!byPod.has(pod)) return { outcome: 'refused', reason: 'usage', message: `--weight names pod "${pod}", which is not a master of the target (masters: ${[...byPod.keys()].sort().join(', ')})` };
    const w = input.weights![pod];
    if (!Number.isFinite(w) || w < 0) return { outcome: 'refused', reason: 'usage', message: `--weight ${pod}=${w}: a weight is a number of 0 or more` };
  }
  const drain = new Set(input.drain ?? []);
  for (const pod of drain) {
    if (!byPod.has(pod)) return { outcome: 'refused', reason: 'usage', message: `--drain names pod "${pod}", which is not a master of the target (masters: ${[...byPod.keys()].sort().join(', ')})` };
    if (input.weights?.[pod] !== undefined && input.weights[pod] !== 0) return { outcome: 'refused', reason: 'usage', message: `--drain ${pod} and --weight ${pod}=${input.weights[pod]} contradict each other: a drained master weighs 0` };
  }
  const weightOf = (m: BalanceMaster): number => (drain.has(m.pod) ? 0 : input.weights?.[m.pod] ?? 1);
  // as redis-cli: empty masters stay out unless --use-empty-masters (or joined by this run)
  const involved = input.masters
    .filter((m) => m.slots.length > 0 || input.useEmptyMasters || m.joined)
    .sort((a, b) => a.pod.localeCompare(b.pod, undefined, { numeric: true }));
  const totalWeight = involved.reduce((n, m) => n + weightOf(m), 0);
  if (totalWeight <= 0) {
    const which = drain.size > 0 ? `--drain ${[...drain].sort().join(', ')} would leave no master to hold the slots` : 'every master taking part weighs 0';
    return { outcome: 'refused', reason: 'refused', message: `${which}; keep at least one master with a weight above 0 (add a master first, then drain)` };
  }
  const balance = new Map<string, number>();
  const expected = new Map<string, number>();
  let total = 0;
  let needed = false;
  for (const m of involved) {
    const e = expectedSlots(totalWeight, weightOf(m));
    expected.set(m.pod, e);
    balance.set(m.pod, m.slots.length - e);
    total += m.slots.length - e;
    if (overThreshold(m.slots.length, e, input.threshold)) needed = true;
  }
  // a drained master is emptied whatever the threshold (its expected share is 0; redis-cli counts it over too)
  if (involved.some((m) => drain.has(m.pod) && m.slots.length > 0)) needed = true;
  const shares = (after: Map<string, number>): BalanceShare[] => involved.map((m) => ({
    pod: m.pod, id: m.id, weight: weightOf(m), slots: m.slots.length, expected: expected.get(m.pod)!, after: after.get(m.pod) ?? m.slots.length,
  }));
  if (!needed) return { outcome: 'moves', moves: [], shares: shares(new Map()), totalWeight, needed: false };
  // Rounding: masters with balance <= 0 take one more each until the balances sum to 0. When every balance is
  // above 0 (possible with odd weights; redis-cli would loop forever), the lowest takes it.
  while (total > 0) {
    let gave = false;
    for (const m of involved) {
      if (total > 0 && balance.get(m.pod)! <= 0 && weightOf(m) > 0) {
        balance.set(m.pod, balance.get(m.pod)! - 1);
        total--;
        gave = true;
      }
    }
    if (!gave) {
      const low = involved.filter((m) => weightOf(m) > 0).sort((a, b) => balance.get(a.pod)! - balance.get(b.pod)!)[0];
      balance.set(low.pod, balance.get(low.pod)! - 1);
      total--;
    }
  }
  const sorted = [...involved].sort((a, b) => balance.get(a.pod)! - balance.get(b.pod)! || a.pod.localeCompare(b.pod, undefined, { numeric: true }));
  const left = new Map(involved.map((m) => [m.pod, [...m.slots].sort((a, b) => a - b)]));
  const count = new Map(involved.map((m) => [m.pod, m.slots.length]));
  const moves: SlotMove[] = [];
  let dst = 0;
  let src = sorted.length - 1;
  while (dst < src) {
    const d = sorted[dst];
    const s = sorted[src];
    const n = Math.min(Math.abs(balance.get(d.pod)!), Math.abs(balance.get(s.pod)!));
    if (n > 0) {
      const from = left.get(s.pod)!;
      for (const slot of from.splice(0, n)) moves.push({ slot, fromPod: s.pod, fromId: s.id, toPod: d.pod, toId: d.id });
      count.set(s.pod, count.get(s.pod)! - n);
      count.set(d.pod, count.get(d.pod)! + n);
    }
    balance.set(d.pod, balance.get(d.pod)! + n);
    balance.set(s.pod, balance.get(s.pod)! - n);
    if (balance.get(d.pod) === 0) dst++;
    if (balance.get(s.pod) === 0) src--;
    if (n === 0 && balance.get(d.pod) !== 0 && balance.get(s.pod) !== 0) break; // both signs the same: done
  }
  return { outcome: 'moves', moves, shares: shares(count), totalWeight, needed: true };
}

// ------------------------------------------------------------------ joining new pods

export interface JoinPod {
  pod: string;
  /** Kubernetes node */
  node: string;
}

export interface JoinMaster {
  pod: string;
  id: string;
  node: string;
  /** Kubernetes nodes of its replicas */
  replicaNodes: string[];
}

export type JoinStep = { pod: string; as: 'master' } | { pod: string; as: 'replica'; of: string };

/**
 * New pods in StatefulSet order: each becomes a replica of the master with the fewest replicas on other Kubernetes
 * nodes than its own while some master has fewer than `replicasPerMaster` (one on another node than the new pod is
 * preferred), else a master. Pods that became masters count as masters for the pods after them.
 */
export function joinPlan(newPods: JoinPod[], masters: JoinMaster[], replicasPerMaster: number): JoinStep[] {
  const ms = masters.map((m) => ({ ...m, replicaNodes: [...m.replicaNodes] }));
  const steps: JoinStep[] = [];
  const order = [...newPods].sort((a, b) => a.pod.localeCompare(b.pod, undefined, { numeric: true }));
  for (const p of order) {
    const apart = (m: (typeof ms)[number]) => m.replicaNodes.filter((n) => n !== m.node).length;
    const short = ms.filter((m) => m.replicaNodes.length < replicasPerMaster);
    if (short.length === 0) {
      steps.push({ pod: p.pod, as: 'master' });
      ms.push({ pod: p.pod, id: '', node: p.node, replicaNodes: [] });
      continue;
    }
    const pick = short.sort((a, b) => Number(a.node === p.node) - Number(b.node === p.node) || apart(a) - apart(b) || a.replicaNodes.length - b.replicaNodes.length || a.pod.localeCompare(b.pod, undefined, { numeric: true }))[0];
    steps.push({ pod: p.pod, as: 'replica', of: pick.pod });
    pick.replicaNodes.push(p.node);
  }
  return steps;
}

// ------------------------------------------------------------------ memory

export interface MemoryFact {
  pod: string;
  usedMemory?: number;
  /** 0 or undefined: no limit set */
  maxMemory?: number;
}

export interface MemoryRefusal {
  pod: string;
  usedMemory: number;
  incoming: number;
  limit: number;
  maxMemory: number;
  message: string;
}

const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;

/** The bytes a receiver may hold: maxmemory × percent / 100; undefined when it has no maxmemory. */
export function memoryLimit(f: MemoryFact | undefined, percent: number): number | undefined {
  if (!f?.maxMemory || f.maxMemory <= 0) return undefined;
  return Math.floor((f.maxMemory * percent) / 100);
}

/**
 * The first receiver the moves would fill beyond its limit, counted over the whole plan (a slot's size is
 * `slotBytes(slot)`, the source's bytes per key times the slot's keys), or undefined when every receiver has room.
 */
export function memoryCheck(moves: SlotMove[], facts: MemoryFact[], slotBytes: (m: SlotMove) => number, percent: number): MemoryRefusal | undefined {
  const incoming = new Map<string, number>();
  for (const m of moves) incoming.set(m.toPod, (incoming.get(m.toPod) ?? 0) + slotBytes(m));
  for (const [pod, bytes] of [...incoming].sort((a, b) => a[0].localeCompare(b[0]))) {
    const f = facts.find((x) => x.pod === pod);
    const limit = memoryLimit(f, percent);
    if (limit === undefined || f?.usedMemory === undefined) continue;
    if (f.usedMemory + bytes > limit) {
      return {
        pod, usedMemory: f.usedMemory, incoming: bytes, limit, maxMemory: f.maxMemory!,
        message: `master ${pod} would hold ${mib(f.usedMemory + bytes)} after the moves (${mib(f.usedMemory)} used now + ${mib(bytes)} of slots), over ${percent}% of its maxmemory ${mib(f.maxMemory!)} (${mib(limit)}); raise its maxmemory, give it a lower --weight, or pass --max-memory-percent`,
      };
    }
  }
  return undefined;
}

// ------------------------------------------------------------------ chunks

export interface MoveChunk {
  fromPod: string;
  fromId: string;
  toPod: string;
  toId: string;
  slots: number[];
}

/** Consecutive moves between the same two masters, at most `size` slots each: one action and one journal step each. */
export function chunkMoves(moves: SlotMove[], size: number): MoveChunk[] {
  const out: MoveChunk[] = [];
  for (const m of moves) {
    const last = out[out.length - 1];
    if (last && last.fromId === m.fromId && last.toId === m.toId && last.slots.length < size) last.slots.push(m.slot);
    else out.push({ fromPod: m.fromPod, fromId: m.fromId, toPod: m.toPod, toId: m.toId, slots: [m.slot] });
  }
  return out;
}

/** "2%", "2", "0.5%" -> 2, 2, 0.5; anything else undefined. */
export function parsePercent(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) && n <= 100 ? n : undefined;
}
