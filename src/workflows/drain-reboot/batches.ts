// --max-unavailable auto: the largest sets of nodes that can be drained and rebooted at once, from the topology.
// Pure: the observations of every Redis target in, "disruption groups" out (sets of pods of which at most maxDown
// may be down at once), then batches of nodes such that no batch takes more than maxDown members of any group:
//   - a shard (a Redis Cluster master and its replicas, or a replication set: master and replicas): 1 copy at a time;
//   - the sentinels of a target: enough must stay up for the quorum and for the majority that authorises a failover;
//   - a PodDisruptionBudget: its disruptionsAllowed.
// A node that alone holds more than a group allows is named in a warning (drain-reboot moves masters and evicts a
// co-located replica first, but the plan cannot count on it), and batched only with nodes holding none of that group.
// Greedy first fit, most constrained nodes first. The run plans again before each batch: evicted pods come back on
// other nodes, so the layout after a batch is not the one before it.
import type { Observed } from '../../reconcile/types.js';

export interface DisruptionGroup {
  /** what it is, for the plan: 'shard orders/3f2a1c (orders-leader-0, orders-follower-0)' */
  what: string;
  /** pod -> node, one entry per member */
  members: Array<{ pod: string; node: string }>;
  maxDown: number;
}

export interface AutoBatches {
  batches: string[][];
  /** why a node is not in an earlier batch: one sentence per node that had to wait */
  reasons: string[];
  warnings: string[];
}

function selfEntry(r: Observed['redis'][number]) {
  return r.clusterNodes?.find((e) => e.myself);
}

/** The groups one target imposes. */
export function disruptionGroups(o: Observed): DisruptionGroup[] {
  const ref = `${o.target.namespace}/${o.target.ref}`;
  const nodeOf = new Map(o.pods.map((p) => [p.name, p.nodeName]));
  const out: DisruptionGroup[] = [];
  const redisPods = o.pods.filter((p) => p.component === 'redis' && p.nodeName);
  if (o.target.topology === 'cluster') {
    const shards = new Map<string, string[]>();
    for (const r of o.redis) {
      const me = r.reachable ? selfEntry(r) : undefined;
      if (!me || !nodeOf.get(r.pod)) continue;
      const shard = me.role === 'master' ? me.id : me.masterId;
      if (!shard) continue;
      shards.set(shard, [...(shards.get(shard) ?? []), r.pod]);
    }
    for (const [id, pods] of [...shards.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
      if (pods.length < 2) continue;
      pods.sort();
      out.push({ what: `shard ${ref}/${id.slice(0, 6)} (${pods.join(', ')})`, members: pods.map((pod) => ({ pod, node: nodeOf.get(pod)! })), maxDown: 1 });
    }
  } else if ((o.target.topology === 'sentinel' || o.target.topology === 'replication') && redisPods.length > 1) {
    const pods = redisPods.map((p) => p.name).sort();
    out.push({ what: `the replication set ${ref} (${pods.join(', ')})`, members: pods.map((pod) => ({ pod, node: nodeOf.get(pod)! })), maxDown: 1 });
  }
  const sentinels = o.pods.filter((p) => p.component === 'sentinel' && p.nodeName);
  if (sentinels.length > 0) {
    const quorum = Math.max(0, ...o.sentinels.map((s) => s.master?.quorum ?? 0));
    const majority = Math.floor(sentinels.length / 2) + 1;
    const mustStay = Math.max(quorum, majority);
    out.push({
      what: `the sentinels of ${ref} (${sentinels.length}, quorum ${quorum || '?'}: ${mustStay} must stay up)`,
      members: sentinels.map((p) => ({ pod: p.name, node: p.nodeName })),
      maxDown: Math.max(0, sentinels.length - mustStay),
    });
  }
  for (const pdb of o.pdbs) {
    if (pdb.disruptionsAllowed === undefined) continue;
    const members = pdb.pods.filter((p) => nodeOf.get(p)).map((pod) => ({ pod, node: nodeOf.get(pod)! }));
    if (members.length === 0) continue;
    out.push({ what: `PodDisruptionBudget ${o.target.namespace}/${pdb.name} (${pdb.disruptionsAllowed} disruption${pdb.disruptionsAllowed === 1 ? '' : 's'} allowed)`, members, maxDown: pdb.disruptionsAllowed });
  }
  return out;
}

function downIn(g: DisruptionGroup, nodes: ReadonlySet<string>): DisruptionGroup['members'] {
  return g.members.filter((m) => nodes.has(m.node));
}

/**
 * The first group a set of nodes would break, or undefined when it may go at once. A group may lose maxDown members,
 * or as many as one node of the set holds by itself (that node takes them down whatever it is batched with): a
 * batch never takes more of a group than its worst node alone would.
 */
export function brokenGroup(nodes: ReadonlySet<string>, groups: readonly DisruptionGroup[]): { group: DisruptionGroup; down: DisruptionGroup['members'] } | undefined {
  if (nodes.size <= 1) return undefined;
  for (const g of groups) {
    const down = downIn(g, nodes);
    const alone = Math.max(0, ...[...nodes].map((n) => down.filter((m) => m.node === n).length));
    if (down.length > Math.max(g.maxDown, alone)) return { group: g, down };
  }
  return undefined;
}

export function autoBatches(nodes: readonly string[], groups: readonly DisruptionGroup[]): AutoBatches {
  const warnings: string[] = [];
  const reasons: string[] = [];
  for (const n of nodes) {
    for (const g of groups) {
      const here = g.members.filter((m) => m.node === n);
      if (here.length > g.maxDown) warnings.push(`${n} alone holds ${here.length} of ${g.what} (${g.maxDown} may be down): rebooting it takes ${here.map((m) => m.pod).join(', ')} down together`);
    }
  }
  const weight = (n: string) => groups.reduce((s, g) => s + g.members.filter((m) => m.node === n).length, 0);
  const order = [...new Set(nodes)].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b));
  const out: Array<Set<string>> = [];
  for (const n of order) {
    const why: string[] = [];
    let placed = false;
    for (const [i, b] of out.entries()) {
      const broken = brokenGroup(new Set([...b, n]), groups);
      if (!broken) {
        b.add(n);
        placed = true;
        break;
      }
      why.push(`not with batch ${i + 1}: ${broken.group.what} would have ${broken.down.length} down (${broken.down.map((m) => `${m.pod} on ${m.node}`).join(', ')})`);
    }
    if (!placed) out.push(new Set([n]));
    if (why.length) reasons.push(`${n}: ${why.join('; ')}`);
  }
  // batches in the order the nodes were given, each in that order too
  const pos = new Map(nodes.map((n, i) => [n, i]));
  const batches = out.map((b) => [...b].sort((a, z) => pos.get(a)! - pos.get(z)!));
  return { batches, reasons, warnings };
}
