// diagnose: what is wrong with a target, as findings. Pure: the same Observed always gives the same findings, in the
// same order. Redis Cluster rules follow redis-cli --cluster check (coverage, open slots, config agreement); the
// picture of the cluster it builds (who is who, who owns which slot) is exported for plan to decide on.
import { CLUSTER_SLOTS } from '../redis/cluster-nodes.js';
import type { ClusterNodeEntry } from '../redis/types.js';
import {
  FINDING_KINDS,
  type Finding,
  type FindingKind,
  type Observed,
  type PdbFact,
  type PodFact,
  type RedisNodeFact,
  type SentinelFact,
  type Severity,
} from './types.js';

// ---------------------------------------------------------------- small helpers

const uniqSorted = (xs: Iterable<string>): string[] => [...new Set(xs)].filter((x) => x !== '').sort();
export const short = (id: string): string => id.slice(0, 8);
export const addressOf = (e: Pick<ClusterNodeEntry, 'ip' | 'port'>): string => `${e.ip}:${e.port}`;

/** Sorted slot numbers -> inclusive ranges. */
export function toRanges(slots: Iterable<number>): Array<[number, number]> {
  const sorted = [...new Set(slots)].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s === last[1] + 1) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}

export function rangesText(ranges: ReadonlyArray<readonly [number, number]>, max = 6): string {
  const parts = ranges.slice(0, max).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
  return ranges.length > max ? `${parts.join(',')},…` : parts.join(',');
}

export function countSlots(ranges: ReadonlyArray<readonly [number, number]>): number {
  return ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
}

function* slotsIn(ranges: ReadonlyArray<readonly [number, number]> | undefined): Generator<number> {
  for (const [a, b] of ranges ?? []) {
    for (let s = Math.max(0, a); s <= Math.min(CLUSTER_SLOTS - 1, b); s++) yield s;
  }
}

/** Call `fn` for every slot of the ranges (a plain loop: this runs for every entry of every view). */
function eachSlot(ranges: ReadonlyArray<readonly [number, number]> | undefined, fn: (slot: number) => void): void {
  for (const [a, b] of ranges ?? []) {
    for (let s = Math.max(0, a); s <= Math.min(CLUSTER_SLOTS - 1, b); s++) fn(s);
  }
}

/** Keys a node holds in the given slots (COUNTKEYSINSLOT, collected only for slots that matter). */
export function keysIn(fact: RedisNodeFact | undefined, slots: Iterable<number>): number {
  let n = 0;
  for (const s of slots) n += fact?.keysBySlot?.[s] ?? 0;
  return n;
}

export function targetRef(o: Observed): string {
  return o.target.ref ?? `${o.target.kind.toLowerCase()}/${o.target.name}`;
}

function healFix(o: Observed, kind: FindingKind): string {
  return `kubectl redis heal ${targetRef(o)} -n ${o.target.namespace} --only ${kind}`;
}

interface Draft {
  kind: FindingKind;
  severity: Severity;
  message: string;
  pods?: Iterable<string>;
  nodes?: Iterable<string>;
  nodeIds?: Iterable<string>;
  objects?: Iterable<string>;
  slots?: Array<[number, number]>;
  evidence?: string[];
  fix?: string;
}

function finding(d: Draft): Finding {
  const f: Finding = {
    kind: d.kind,
    severity: d.severity,
    pods: uniqSorted(d.pods ?? []),
    nodes: uniqSorted(d.nodes ?? []),
    nodeIds: uniqSorted(d.nodeIds ?? []),
    objects: uniqSorted(d.objects ?? []),
    message: d.message,
    evidence: d.evidence ?? [],
  };
  if (d.slots && d.slots.length > 0) f.slots = d.slots;
  if (d.fix !== undefined) f.fix = d.fix;
  return f;
}

const KIND_ORDER = new Map<FindingKind, number>(FINDING_KINDS.map((k, i) => [k, i]));

function byKindThenPods(a: Finding, b: Finding): number {
  return (KIND_ORDER.get(a.kind) ?? 0) - (KIND_ORDER.get(b.kind) ?? 0)
    || a.pods.join(',').localeCompare(b.pods.join(','))
    || a.nodeIds.join(',').localeCompare(b.nodeIds.join(','))
    || a.message.localeCompare(b.message);
}

/** Tolerate partial observations (a fixture written by hand, a collector that gave up half way). */
export function normalize(o: Observed): Observed {
  const p = o as Partial<Observed>;
  return {
    target: p.target ?? { kind: 'Unknown', name: 'unknown', namespace: 'default', system: 'ot', topology: 'standalone' },
    observedAt: p.observedAt ?? '',
    pods: (p.pods ?? []).filter((x) => !!x && typeof x.name === 'string'),
    redis: (p.redis ?? []).filter((x) => !!x && typeof x.pod === 'string'),
    sentinels: (p.sentinels ?? []).filter((x) => !!x && typeof x.pod === 'string'),
    pause: p.pause ?? { paused: false, strategy: 'none' },
    operator: p.operator ?? { present: false, running: false },
    pdbs: (p.pdbs ?? []).filter((x) => !!x && typeof x.name === 'string'),
  };
}

export function podOf(o: Observed, name: string): PodFact | undefined {
  return o.pods.find((p) => p.name === name);
}

export function splitAddress(address: string): { host: string; port: number } {
  const colon = (address ?? '').lastIndexOf(':');
  return colon === -1 ? { host: address ?? '', port: 0 } : { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) || 0 };
}

/** The redis pod a host names: its IP, its name, or its DNS name under a headless Service (`pod.svc.ns...`). */
export function podForHost(o: Observed, host: string | undefined): PodFact | undefined {
  if (!host) return undefined;
  return o.pods.find((p) => p.component !== 'sentinel' && (p.ip === host || p.name === host || host.startsWith(`${p.name}.`)))
    ?? o.pods.find((p) => p.ip === host || p.name === host || host.startsWith(`${p.name}.`));
}

// ---------------------------------------------------------------- the cluster as its nodes see it

/** A pod whose Redis answered and said who it is (`myself` in its CLUSTER NODES). */
export interface Member {
  pod: string;
  id: string;
  ip: string;
  port: number;
  busPort: number;
  nodeName: string;
  self: ClusterNodeEntry;
  view: ClusterNodeEntry[];
  fact: RedisNodeFact;
}

export interface ClusterPicture {
  /** sorted by pod */
  members: Member[];
  byId: Map<string, Member>;
  /** node id -> pod, for pods that do not answer, as the others know them (by address) */
  down: Map<string, string>;
  /** the agreed owner of each slot: its one live claimant, else the best claim in the views of a node that is not live */
  owner: Array<string | undefined>;
  /** slot -> ids of the live masters that each claim it in their own view */
  contested: Map<number, string[]>;
  /** every Redis pod answers and none is going away: a node id no pod claims is gone for good */
  accountedFor: boolean;
}

function memberOf(o: Observed, fact: RedisNodeFact): Member | undefined {
  if (!fact.reachable || !Array.isArray(fact.clusterNodes)) return undefined;
  const self = fact.clusterNodes.find((e) => e?.myself);
  if (!self || typeof self.id !== 'string') return undefined;
  const pod = podOf(o, fact.pod);
  const addr = splitAddress(fact.address);
  const ip = pod?.ip || addr.host || self.ip;
  const port = addr.port || self.port;
  return {
    pod: fact.pod, id: self.id, ip, port, busPort: self.busPort || port + 10000, nodeName: pod?.nodeName ?? '',
    self, view: fact.clusterNodes.filter((e) => !!e && typeof e.id === 'string'), fact,
  };
}

function downNodes(o: Observed, members: Member[], byId: Map<string, Member>): Map<string, string> {
  const down = new Map<string, string>();
  const ipToDownPod = new Map<string, string>();
  for (const r of o.redis) {
    if (r.reachable) continue;
    const ip = podOf(o, r.pod)?.ip || splitAddress(r.address).host;
    if (ip) ipToDownPod.set(ip, r.pod);
  }
  for (const m of members) {
    for (const e of m.view) {
      const pod = ipToDownPod.get(e.ip);
      if (pod && !byId.has(e.id) && !e.handshake) down.set(e.id, pod);
    }
  }
  return down;
}

function masterClaims(e: ClusterNodeEntry): boolean {
  return e.role === 'master' && !e.handshake;
}

/** Best claim per slot among entries of nodes that are not live, by config epoch as Redis itself decides. */
function viewClaims(members: Member[], byId: Map<string, Member>): Array<{ id: string; epoch: number } | undefined> {
  const best: Array<{ id: string; epoch: number } | undefined> = new Array(CLUSTER_SLOTS);
  for (const m of members) {
    for (const e of m.view) {
      if (e.myself || byId.has(e.id) || !masterClaims(e)) continue;
      const claim = { id: e.id, epoch: e.configEpoch };
      eachSlot(e.slots, (s) => {
        const cur = best[s];
        if (!cur || claim.epoch > cur.epoch || (claim.epoch === cur.epoch && claim.id < cur.id)) best[s] = claim;
      });
    }
  }
  return best;
}

function slotOwners(members: Member[], byId: Map<string, Member>): Pick<ClusterPicture, 'owner' | 'contested'> {
  const owner: Array<string | undefined> = new Array(CLUSTER_SLOTS);
  const contested = new Map<number, string[]>();
  for (const m of members) {
    if (!masterClaims(m.self)) continue;
    eachSlot(m.self.slots, (s) => {
      const rivals = contested.get(s);
      if (rivals) rivals.push(m.id);
      else if (owner[s] === undefined || owner[s] === m.id) owner[s] = m.id;
      else {
        contested.set(s, [owner[s]!, m.id]);
        owner[s] = undefined;
      }
    });
  }
  for (const ids of contested.values()) ids.sort();
  const derived = viewClaims(members, byId);
  for (let s = 0; s < CLUSTER_SLOTS; s++) if (owner[s] === undefined && !contested.has(s)) owner[s] = derived[s]?.id;
  return { owner, contested };
}

function expectedPodCount(o: Observed): number | undefined {
  const e = o.target.expected;
  if (e?.masters === undefined || e.replicasPerMaster === undefined) return undefined;
  return e.masters * (1 + e.replicasPerMaster);
}

export function clusterPicture(observed: Observed): ClusterPicture {
  const o = normalize(observed);
  const members = o.redis.map((r) => memberOf(o, r)).filter((m): m is Member => !!m).sort((a, b) => a.pod.localeCompare(b.pod));
  const byId = new Map<string, Member>();
  for (const m of members) if (!byId.has(m.id)) byId.set(m.id, m);
  const redisPods = o.pods.filter((p) => p.component === 'redis');
  const accountedFor = o.redis.every((r) => r.reachable) && !redisPods.some((p) => p.deleting)
    && o.redis.length >= (expectedPodCount(o) ?? 0);
  return { members, byId, down: downNodes(o, members, byId), ...slotOwners(members, byId), accountedFor };
}

export function slotsOfMember(m: Member): number {
  return m.self.role === 'master' ? countSlots(m.self.slots ?? []) : 0;
}

/** Replicas per master the target should have: what it declares, else what most masters have now. */
export function desiredReplicas(o: Observed, pic: ClusterPicture): number {
  const declared = o.target.expected?.replicasPerMaster;
  if (declared !== undefined) return declared;
  const masters = pic.members.filter((m) => slotsOfMember(m) > 0).length;
  const replicas = pic.members.filter((m) => m.self.role === 'replica').length;
  return masters === 0 ? 0 : Math.floor(replicas / masters);
}

/** A live replica whose master is neither a live master nor a pod that is merely down. */
export function isOrphan(m: Member, pic: ClusterPicture): boolean {
  if (m.self.role !== 'replica') return false;
  const master = m.self.masterId ? pic.byId.get(m.self.masterId) : undefined;
  if (master) return master.self.role !== 'master';
  return !m.self.masterId || !pic.down.has(m.self.masterId);
}

/** A live master with no slots and no replica role while the target already has all the masters it declares. */
export function isExtraMaster(o: Observed, m: Member, pic: ClusterPicture): boolean {
  const declared = o.target.expected?.masters;
  if (declared === undefined || m.self.role !== 'master' || slotsOfMember(m) > 0) return false;
  return pic.members.filter((x) => slotsOfMember(x) > 0).length >= declared;
}

// ---------------------------------------------------------------- cluster membership

interface EntrySighting {
  observers: string[];
  entry: ClusterNodeEntry;
}

function sight(map: Map<string, EntrySighting>, key: string, observer: string, entry: ClusterNodeEntry): void {
  const s = map.get(key);
  if (s) s.observers.push(observer);
  else map.set(key, { observers: [observer], entry });
}

function classifyEntries(pic: ClusterPicture) {
  const stale = new Map<string, EntrySighting>();
  const failed = new Map<string, EntrySighting>();
  const unknown = new Map<string, EntrySighting>();
  const handshake = new Map<string, EntrySighting>();
  for (const m of pic.members) {
    for (const e of m.view) {
      if (e.myself) continue;
      const live = pic.byId.get(e.id);
      if (e.handshake) sight(handshake, addressOf(e), m.pod, e);
      else if (live && addressOf(e) !== `${live.ip}:${live.port}`) sight(stale, e.id, m.pod, e);
      else if (live && (e.failed || e.pfail)) sight(failed, e.id, m.pod, e);
      else if (!live && !pic.down.has(e.id)) sight(unknown, e.id, m.pod, e);
    }
  }
  return { stale, failed, unknown, handshake };
}

function membershipFindings(o: Observed, pic: ClusterPicture): Finding[] {
  const { stale, failed, unknown, handshake } = classifyEntries(pic);
  const out: Finding[] = [];
  for (const [id, s] of stale) {
    const live = pic.byId.get(id)!;
    out.push(finding({
      kind: 'stale-ip', severity: 'critical', pods: [live.pod, ...s.observers], nodeIds: [id], nodes: [live.nodeName],
      message: `${live.pod} (${short(id)}) answers at ${live.ip}:${live.port} but ${s.observers.length} node(s) still know it at its old address ${addressOf(s.entry)}`,
      evidence: s.observers.map((p) => `${p} knows ${short(id)} at an old address`), fix: healFix(o, 'stale-ip'),
    }));
  }
  for (const [id, s] of unknown) {
    const slots = countSlots(s.entry.slots ?? []);
    out.push(finding({
      kind: 'unknown-node', severity: slots > 0 ? 'critical' : 'warning', pods: s.observers, nodeIds: [id],
      message: pic.accountedFor
        ? `node ${short(id)} (${addressOf(s.entry) || 'no address'}${slots > 0 ? `, ${slots} slots` : ''}) is known to ${s.observers.length} node(s) but no pod is that node any more`
        : `node ${short(id)} (${addressOf(s.entry) || 'no address'}) is known to ${s.observers.length} node(s) and no answering pod is it; it may be one of the pods that do not answer`,
      evidence: s.observers.map((p) => `${p} knows ${short(id)} with flags ${s.entry.flags.join(',') || 'none'}`), fix: healFix(o, 'unknown-node'),
    }));
  }
  for (const [id, s] of failed) {
    const live = pic.byId.get(id)!;
    out.push(finding({
      kind: 'node-failed', severity: 'warning', pods: [live.pod, ...s.observers], nodeIds: [id], nodes: [live.nodeName],
      message: `${live.pod} answers but ${s.observers.length} node(s) flag it ${s.entry.failed ? 'fail' : 'fail?'}; their cluster bus link to it is broken`,
      evidence: s.observers.map((p) => `${p} flags ${short(id)} ${s.entry.flags.join(',')}`),
    }));
  }
  for (const [address, s] of handshake) {
    out.push(finding({
      kind: 'node-failed', severity: 'info', pods: s.observers, nodeIds: [s.entry.id],
      message: `a cluster handshake with ${address} is pending on ${s.observers.length} node(s); it clears itself within cluster-node-timeout`,
      evidence: s.observers.map((p) => `${p} is in handshake with ${address}`),
    }));
  }
  return [...out, ...outsiderFindings(o, pic), ...forgottenFindings(o, pic)];
}

/** Live members of the main group some of its other members do not know at all: CLUSTER FORGET of a node that is
 * still there (gossip never brings it back by itself when nobody else knows it, and a forgotten master's slots are
 * uncovered in the views of the nodes that forgot it). A forgotten replica is invisible to redis-cli --cluster check. */
export function forgetters(pic: ClusterPicture, x: Member): Member[] {
  const main = memberGroups(pic)[0] ?? [];
  if (!main.includes(x)) return [];
  return main.filter((m) => m !== x && m.id !== x.id && !knownIds(m).has(x.id));
}

// memberGroups and knownIds are asked once per member by diagnose and plan: each answer is kept with the (never
// changed) picture or member it was computed from, so a 300-node cluster is not walked 300 times over.
const groupsOf = new WeakMap<ClusterPicture, Member[][]>();
const idsOf = new WeakMap<Member, Set<string>>();

/** The node ids in a member's own CLUSTER NODES. */
function knownIds(m: Member): Set<string> {
  let ids = idsOf.get(m);
  if (!ids) idsOf.set(m, (ids = new Set(m.view.map((e) => e.id))));
  return ids;
}

function forgottenFindings(o: Observed, pic: ClusterPicture): Finding[] {
  return (memberGroups(pic)[0] ?? []).flatMap((x) => {
    const strangers = forgetters(pic, x);
    if (strangers.length === 0) return [];
    const slots = slotsOfMember(x);
    return [finding({
      kind: 'node-forgotten', severity: slots > 0 ? 'critical' : 'warning', pods: [x.pod, ...strangers.map((m) => m.pod)], nodeIds: [x.id], nodes: [x.nodeName],
      message: `${x.pod} (${short(x.id)}, ${x.self.role}${slots > 0 ? `, ${slots} slots` : ''}) is in the cluster but ${strangers.length} node(s) do not know it: ${strangers.map((m) => m.pod).join(', ')}${slots > 0 ? '; its slots are uncovered in their views' : ''}`,
      evidence: [`${x.pod} knows ${x.view.length - 1} other node(s)`, ...strangers.map((m) => `${m.pod} has no entry for ${short(x.id)}`)],
      fix: healFix(o, 'node-forgotten'),
    })];
  });
}

/** Groups of members that know each other (directly or through one another), the main group first. */
export function memberGroups(pic: ClusterPicture): Member[][] {
  const kept = groupsOf.get(pic);
  if (kept) return kept;
  const parent = new Map(pic.members.map((m) => [m.pod, m.pod]));
  const find = (p: string): string => {
    let r = p;
    while (parent.get(r) !== r) r = parent.get(r)!;
    // path compression: every node on the way now points at the root
    for (let c = p; c !== r; ) {
      const next = parent.get(c)!;
      parent.set(c, r);
      c = next;
    }
    return r;
  };
  for (const m of pic.members) {
    for (const e of m.view) {
      const other = pic.byId.get(e.id);
      if (other && !e.handshake) {
        const a = find(m.pod);
        const b = find(other.pod);
        if (a !== b) parent.set(a, b);
      }
    }
  }
  const groups = new Map<string, Member[]>();
  for (const m of pic.members) {
    const root = find(m.pod);
    const g = groups.get(root);
    if (g) g.push(m);
    else groups.set(root, [m]);
  }
  const slots = (g: Member[]) => g.reduce((n, m) => n + slotsOfMember(m), 0);
  const known = (g: Member[]) => g.reduce((n, m) => n + m.view.length, 0);
  const sorted = [...groups.values()].sort((a, b) => b.length - a.length || known(b) - known(a) || slots(b) - slots(a) || a[0].pod.localeCompare(b[0].pod));
  groupsOf.set(pic, sorted);
  return sorted;
}

function outsiderFindings(o: Observed, pic: ClusterPicture): Finding[] {
  const [, ...others] = memberGroups(pic);
  return others.flat().map((m) => {
    const holds = slotsOfMember(m) > 0 || (m.fact.dbsize ?? 0) > 0;
    return finding({
      kind: 'pod-not-in-cluster', severity: holds ? 'critical' : 'warning', pods: [m.pod], nodeIds: [m.id], nodes: [m.nodeName],
      message: `${m.pod} (${short(m.id)}) is not part of the cluster: no node of the main group knows it${holds ? ', and it holds slots or keys of its own' : ''}`,
      evidence: [`${m.pod} knows ${m.view.length - 1} other node(s)`, `${m.pod} serves ${slotsOfMember(m)} slots and holds ${m.fact.dbsize ?? 0} keys`],
      fix: holds ? undefined : healFix(o, 'pod-not-in-cluster'),
    });
  });
}

// ---------------------------------------------------------------- slots

function keyHolders(o: Observed, slots: Array<[number, number]>): string[] {
  const list = [...slotsIn(slots)];
  return o.redis.filter((r) => keysIn(r, list) > 0).map((r) => `${r.pod} holds ${keysIn(r, list)} keys there`);
}

function uncoveredFinding(o: Observed, pic: ClusterPicture): Finding[] {
  if (pic.members.length === 0) return [];
  const free: number[] = [];
  for (let s = 0; s < CLUSTER_SLOTS; s++) if (pic.owner[s] === undefined && !pic.contested.has(s)) free.push(s);
  if (free.length === 0) return [];
  const ranges = toRanges(free);
  return [finding({
    kind: 'slots-uncovered', severity: 'critical', pods: pic.members.map((m) => m.pod), slots: ranges,
    message: `${free.length} slot(s) (${rangesText(ranges)}) are served by no node: commands on their keys fail`,
    evidence: keyHolders(o, ranges), fix: healFix(o, 'slots-uncovered'),
  })];
}

function openSlotFindings(o: Observed, pic: ClusterPicture): Finding[] {
  const bySlot = new Map<number, { pods: string[]; ids: string[]; evidence: string[] }>();
  const note = (slot: number, m: Member, peer: string, text: string) => {
    const f = bySlot.get(slot) ?? { pods: [], ids: [], evidence: [] };
    f.pods.push(m.pod);
    f.ids.push(m.id, peer);
    f.evidence.push(text);
    bySlot.set(slot, f);
  };
  for (const m of pic.members) {
    for (const x of m.self.migrating ?? []) note(x.slot, m, x.to, `${m.pod} is migrating slot ${x.slot} to ${short(x.to)}`);
    for (const x of m.self.importing ?? []) note(x.slot, m, x.from, `${m.pod} is importing slot ${x.slot} from ${short(x.from)}`);
  }
  return [...bySlot.entries()].sort(([a], [b]) => a - b).map(([slot, f]) => finding({
    kind: 'open-slot', severity: 'warning', pods: f.pods, nodeIds: f.ids, slots: [[slot, slot]],
    message: `slot ${slot} is left open (migrating/importing) on ${uniqSorted(f.pods).join(', ')}`,
    evidence: [...f.evidence, ...keyHolders(o, [[slot, slot]])], fix: healFix(o, 'open-slot'),
  }));
}

function contestedFindings(o: Observed, pic: ClusterPicture): Finding[] {
  const bySet = new Map<string, number[]>();
  for (const [slot, ids] of pic.contested) bySet.set(ids.join(','), [...(bySet.get(ids.join(',')) ?? []), slot]);
  return [...bySet.entries()].map(([key, slots]) => {
    const ids = key.split(',');
    const ranges = toRanges(slots);
    const owners = ids.map((id) => pic.byId.get(id)!).filter(Boolean);
    return finding({
      kind: 'slot-multiple-owners', severity: 'critical', pods: owners.map((m) => m.pod), nodeIds: ids, slots: ranges,
      message: `${slots.length} slot(s) (${rangesText(ranges)}) are claimed by ${owners.length} masters at once: ${owners.map((m) => m.pod).join(', ')}`,
      evidence: owners.map((m) => `${m.pod} (${short(m.id)}) claims them with config epoch ${m.self.configEpoch} and holds ${keysIn(m.fact, slots)} keys there`),
      fix: healFix(o, 'slot-multiple-owners'),
    });
  });
}

/** The owner of every slot as one member's CLUSTER NODES shows it. */
function viewOwners(m: Member): Array<string | undefined> {
  const owners: Array<string | undefined> = new Array(CLUSTER_SLOTS);
  for (const e of m.view) {
    if (masterClaims(e)) eachSlot(e.slots, (s) => (owners[s] = e.id));
  }
  return owners;
}

/**
 * What a view says of slot ownership, as text: two members with the same signature see the same owner for every
 * slot. Each node lists the others in its own order, so the claims are sorted; a view in which two entries claim
 * one slot (the later one wins in viewOwners) has no signature and is worked out on its own.
 */
function claimSignature(m: Member): string | undefined {
  const claims: Array<{ a: number; b: number; id: string }> = [];
  for (const e of m.view) if (masterClaims(e)) for (const [a, b] of e.slots) claims.push({ a, b, id: e.id });
  claims.sort((x, y) => x.a - y.a);
  for (let i = 1; i < claims.length; i++) if (claims[i].a <= claims[i - 1].b) return undefined;
  return claims.map((c) => `${c.a}-${c.b}:${c.id}`).join(' ');
}

function disagreementFindings(o: Observed, pic: ClusterPicture): Finding[] {
  const out: Finding[] = [];
  // Every node of a healthy cluster shows the same claims: the slots a view gets wrong are worked out once per
  // distinct view, not 16384 slots for each of hundreds of nodes.
  const wrongBySignature = new Map<string, { seen: Array<string | undefined>; wrong: number[]; owners: Set<string> }>();
  // A node outside the main group sees nothing of it; pod-not-in-cluster says so.
  for (const m of memberGroups(pic)[0] ?? []) {
    const signature = claimSignature(m);
    let verdict = signature === undefined ? undefined : wrongBySignature.get(signature);
    if (!verdict) {
      const seen = viewOwners(m);
      const wrong: number[] = [];
      const owners = new Set<string>();
      for (let s = 0; s < CLUSTER_SLOTS; s++) {
        const truth = pic.owner[s];
        if (truth !== undefined && seen[s] !== truth) {
          wrong.push(s);
          owners.add(truth);
        }
      }
      verdict = { seen, wrong, owners };
      if (signature !== undefined) wrongBySignature.set(signature, verdict);
    }
    const { seen, wrong, owners } = verdict;
    if (wrong.length === 0) continue;
    const ranges = toRanges(wrong);
    out.push(finding({
      kind: 'views-disagree', severity: 'warning', pods: [m.pod], nodeIds: owners, slots: ranges,
      message: `${m.pod} sees another owner than the one that claims it for ${wrong.length} slot(s) (${rangesText(ranges)})`,
      evidence: ranges.slice(0, 6).map(([a, b]) => `${m.pod} sees ${seen[a] ? short(seen[a]!) : 'no owner'} for ${a}-${b}, owned by ${short(pic.owner[a]!)}`),
      fix: healFix(o, 'views-disagree'),
    }));
  }
  return out;
}

function epochFindings(o: Observed, pic: ClusterPicture): Finding[] {
  const byEpoch = new Map<number, Member[]>();
  for (const m of pic.members) {
    if (slotsOfMember(m) === 0) continue;
    byEpoch.set(m.self.configEpoch, [...(byEpoch.get(m.self.configEpoch) ?? []), m]);
  }
  return [...byEpoch.entries()].filter(([, ms]) => ms.length > 1).map(([epoch, ms]) => finding({
    kind: 'epoch-collision', severity: 'warning', pods: ms.map((m) => m.pod), nodeIds: ms.map((m) => m.id),
    message: `${ms.map((m) => m.pod).join(', ')} share config epoch ${epoch}: a slot conflict between them cannot be settled`,
    evidence: ms.map((m) => `${m.pod} (${short(m.id)}) has config epoch ${epoch}`), fix: healFix(o, 'epoch-collision'),
  }));
}

// ---------------------------------------------------------------- cluster replicas and placement

export function replicasOf(pic: ClusterPicture, masterId: string): Member[] {
  return pic.members.filter((m) => m.self.role === 'replica' && m.self.masterId === masterId);
}

function orphanFindings(o: Observed, pic: ClusterPicture): Finding[] {
  const out: Finding[] = [];
  for (const m of pic.members) {
    if (isOrphan(m, pic)) {
      out.push(finding({
        kind: 'orphan-replica', severity: 'warning', pods: [m.pod], nodeIds: [m.id, m.self.masterId ?? ''], nodes: [m.nodeName],
        message: `${m.pod} replicates ${m.self.masterId ? short(m.self.masterId) : 'nothing'}, which is not a live master`,
        evidence: [`${m.pod} is a replica of ${m.self.masterId ?? '-'}`], fix: healFix(o, 'orphan-replica'),
      }));
    } else if (isExtraMaster(o, m, pic)) {
      out.push(finding({
        kind: 'orphan-replica', severity: 'warning', pods: [m.pod], nodeIds: [m.id], nodes: [m.nodeName],
        message: `${m.pod} is a master without slots while the target has all its ${o.target.expected?.masters} masters; it should be a replica`,
        evidence: [`${m.pod} serves 0 slots and holds ${m.fact.dbsize ?? 0} keys`], fix: healFix(o, 'orphan-replica'),
      }));
    }
  }
  return out;
}

function replicaCountFindings(o: Observed, pic: ClusterPicture): Finding[] {
  const want = desiredReplicas(o, pic);
  if (want === 0) return [];
  return pic.members.filter((m) => slotsOfMember(m) > 0).flatMap((m) => {
    const have = replicasOf(pic, m.id).length;
    if (have >= want) return [];
    return [finding({
      kind: 'master-without-replica', severity: have === 0 ? 'warning' : 'info', pods: [m.pod], nodeIds: [m.id], nodes: [m.nodeName],
      message: `${m.pod} has ${have} live replica(s) of the ${want} it should have${have === 0 ? ': losing it loses its slots' : ''}`,
      evidence: [`${m.pod} serves ${slotsOfMember(m)} slots`], fix: healFix(o, 'master-without-replica'),
    })];
  });
}

function placementFindings(o: Observed, pic: ClusterPicture): Finding[] {
  const out: Finding[] = [];
  const masters = pic.members.filter((m) => slotsOfMember(m) > 0);
  for (const m of masters) {
    const together = replicasOf(pic, m.id).filter((r) => r.nodeName !== '' && r.nodeName === m.nodeName);
    if (together.length === 0) continue;
    out.push(finding({
      kind: 'master-replica-same-node', severity: 'warning', pods: [m.pod, ...together.map((r) => r.pod)], nodeIds: [m.id], nodes: [m.nodeName],
      message: `${m.pod} and its replica ${together.map((r) => r.pod).join(', ')} run on the same Kubernetes node ${m.nodeName}: losing it loses the shard`,
      evidence: [m, ...together].map((x) => `${x.pod} runs on ${x.nodeName}`), fix: healFix(o, 'master-replica-same-node'),
    }));
  }
  const byNode = new Map<string, Member[]>();
  for (const m of masters) if (m.nodeName) byNode.set(m.nodeName, [...(byNode.get(m.nodeName) ?? []), m]);
  for (const [node, ms] of byNode) {
    if (ms.length < 2) continue;
    out.push(finding({
      kind: 'masters-same-node', severity: 'warning', pods: ms.map((m) => m.pod), nodeIds: ms.map((m) => m.id), nodes: [node],
      message: `${ms.length} masters (${ms.map((m) => m.pod).join(', ')}) run on Kubernetes node ${node}: losing it fails them over together`,
      evidence: ms.map((m) => `${m.pod} serves ${slotsOfMember(m)} slots on ${node}`), fix: healFix(o, 'masters-same-node'),
    }));
  }
  return out;
}

function linkFinding(r: RedisNodeFact, masterPod: string): Finding[] {
  const rep = r.replication;
  if (rep?.role !== 'replica') return [];
  if (rep.masterLinkStatus === 'down') {
    return [finding({
      kind: 'replica-link-down', severity: rep.masterSyncInProgress ? 'info' : 'warning', pods: [r.pod, masterPod],
      message: rep.masterSyncInProgress
        ? `${r.pod} is still syncing from its master ${masterPod}`
        : `${r.pod}'s replication link to its master ${masterPod} is down${rep.masterLinkDownSinceSeconds !== undefined && rep.masterLinkDownSinceSeconds >= 0 ? ` for ${rep.masterLinkDownSinceSeconds}s` : ''}`,
      evidence: [`${r.pod}: master_link_status:down`, `check masterauth and the network between ${r.pod} and ${masterPod}`],
    })];
  }
  if ((rep.masterLastIoSecondsAgo ?? 0) > 60) {
    return [finding({
      kind: 'replica-link-down', severity: 'info', pods: [r.pod, masterPod],
      message: `${r.pod} has heard nothing from its master ${masterPod} for ${rep.masterLastIoSecondsAgo}s: the link looks stalled`,
      evidence: [`${r.pod}: master_last_io_seconds_ago:${rep.masterLastIoSecondsAgo}`],
    })];
  }
  return [];
}

function clusterLinkFindings(pic: ClusterPicture): Finding[] {
  return pic.members.flatMap((m) => {
    const master = m.self.role === 'replica' && m.self.masterId ? pic.byId.get(m.self.masterId) : undefined;
    return master ? linkFinding(m.fact, master.pod) : [];
  });
}

function clusterFindings(o: Observed, pic: ClusterPicture): Finding[] {
  return [
    ...membershipFindings(o, pic),
    ...uncoveredFinding(o, pic),
    ...openSlotFindings(o, pic),
    ...contestedFindings(o, pic),
    ...disagreementFindings(o, pic),
    ...epochFindings(o, pic),
    ...orphanFindings(o, pic),
    ...replicaCountFindings(o, pic),
    ...placementFindings(o, pic),
    ...clusterLinkFindings(pic),
  ];
}

// ---------------------------------------------------------------- sentinel and replication

export interface ReplicationPicture {
  /** answering Redis pods that report INFO replication, sorted by pod */
  up: RedisNodeFact[];
  masters: RedisNodeFact[];
  replicas: RedisNodeFact[];
}

export function replicationPicture(observed: Observed): ReplicationPicture {
  const o = normalize(observed);
  const up = o.redis.filter((r) => r.reachable && r.replication).sort((a, b) => a.pod.localeCompare(b.pod));
  return { up, masters: up.filter((r) => r.replication?.role === 'master'), replicas: up.filter((r) => r.replication?.role === 'replica') };
}

/** ip:port a sentinel or replica should name for a Redis pod. */
export function redisAddress(o: Observed, r: RedisNodeFact): { host: string; port: number } {
  const a = splitAddress(r.address);
  return { host: podOf(o, r.pod)?.ip || a.host, port: a.port || 6379 };
}

/** Does `host:port` (as a replica or sentinel names it) point at this Redis pod? */
export function pointsAt(o: Observed, host: string | undefined, port: number | undefined, r: RedisNodeFact): boolean {
  return podForHost(o, host)?.name === r.pod && (port === undefined || port === redisAddress(o, r).port);
}

function masterFindings(o: Observed, rp: ReplicationPicture): Finding[] {
  if (rp.up.length === 0) return [];
  if (rp.masters.length === 0) {
    return [finding({
      kind: 'no-master', severity: 'critical', pods: rp.replicas.map((r) => r.pod),
      message: `no answering Redis pod is a master: writes fail`,
      evidence: rp.replicas.map((r) => `${r.pod} replicates ${r.replication?.masterHost}:${r.replication?.masterPort} (link ${r.replication?.masterLinkStatus ?? '?'})`),
      fix: healFix(o, 'no-master'),
    })];
  }
  if (rp.masters.length === 1) return [];
  return [finding({
    kind: 'multiple-masters', severity: 'critical', pods: rp.masters.map((r) => r.pod),
    message: `${rp.masters.length} Redis pods say they are master (${rp.masters.map((r) => r.pod).join(', ')}): split brain, writes diverge`,
    evidence: rp.masters.map((r) => `${r.pod} replid ${r.replication?.masterReplid} offset ${r.replication?.masterReplOffset} keys ${r.dbsize ?? '?'}`),
    fix: healFix(o, 'multiple-masters'),
  })];
}

function replicaFindings(o: Observed, rp: ReplicationPicture): Finding[] {
  const master = rp.masters.length === 1 ? rp.masters[0] : undefined;
  if (!master) return [];
  const { host, port } = redisAddress(o, master);
  return rp.replicas.flatMap((r) => {
    const rep = r.replication!;
    if (pointsAt(o, rep.masterHost, rep.masterPort, master)) return linkFinding(r, master.pod);
    return [finding({
      kind: 'replica-wrong-master', severity: 'critical', pods: [r.pod, master.pod],
      message: `${r.pod} replicates ${rep.masterHost}:${rep.masterPort}, not the master ${master.pod} (${host}:${port})`,
      evidence: [`${r.pod}: master_host:${rep.masterHost} master_port:${rep.masterPort}`], fix: healFix(o, 'replica-wrong-master'),
    })];
  });
}

function sentinelAddress(s: SentinelFact): string | undefined {
  return s.master ? `${s.master.ip}:${s.master.port}` : undefined;
}

function quorumFinding(o: Observed): Finding[] {
  if (o.sentinels.length === 0) return [];
  const total = Math.max(o.target.expected?.sentinels ?? 0, o.sentinels.length);
  const up = o.sentinels.filter((s) => s.reachable);
  const quorum = Math.max(0, ...up.map((s) => s.master?.quorum ?? 0));
  const needed = Math.max(quorum, Math.floor(total / 2) + 1);
  if (up.length >= needed) return [];
  return [finding({
    kind: 'sentinel-quorum-unreachable', severity: 'critical', pods: o.sentinels.filter((s) => !s.reachable).map((s) => s.pod),
    message: `${up.length} of ${total} sentinels answer; a failover needs ${needed}: if the master fails now nobody promotes a replica`,
    evidence: o.sentinels.map((s) => `${s.pod} ${s.reachable ? 'answers' : `does not answer${s.error ? `: ${s.error}` : ''}`}`),
  })];
}

function sentinelMasterFindings(o: Observed, rp: ReplicationPicture): Finding[] {
  const up = o.sentinels.filter((s) => s.reachable);
  const out: Finding[] = [];
  const named = new Set(up.map(sentinelAddress).filter((a): a is string => !!a));
  if (named.size > 1) {
    out.push(finding({
      kind: 'sentinels-disagree', severity: 'critical', pods: up.map((s) => s.pod),
      message: `sentinels name ${named.size} different masters (${[...named].sort().join(', ')})`,
      evidence: up.map((s) => `${s.pod} names ${sentinelAddress(s) ?? 'no master'}`), fix: healFix(o, 'sentinels-disagree'),
    }));
  }
  const master = rp.masters.length === 1 ? rp.masters[0] : undefined;
  for (const s of up) {
    const target = s.master ? podForHost(o, s.master.ip) : undefined;
    const right = s.master && (master ? pointsAt(o, s.master.ip, s.master.port, master) : target?.component === 'redis');
    if (right) continue;
    out.push(finding({
      kind: 'sentinel-unknown-master', severity: 'critical', pods: [s.pod, ...(master ? [master.pod] : [])],
      message: !s.master
        ? `sentinel ${s.pod} does not monitor ${s.masterName}`
        : `sentinel ${s.pod} names ${sentinelAddress(s)} master of ${s.masterName}${master ? `, but the master is ${master.pod}` : ', which is no Redis pod of the target'}`,
      evidence: [`${s.pod}: ${sentinelAddress(s) ?? 'no master'} flags ${s.master?.flags.join(',') ?? '-'}`], fix: healFix(o, 'sentinel-unknown-master'),
    }));
  }
  return out;
}

/** Replica and sentinel addresses a sentinel remembers that no pod has any more (or has twice). */
export function staleSentinelEntries(o: Observed, s: SentinelFact): string[] {
  const stale: string[] = [];
  const seen = new Set<string>();
  for (const a of s.knownReplicas ?? []) {
    const { host } = splitAddress(a);
    const pod = podForHost(o, host);
    if (!pod || pod.component !== 'redis' || seen.has(pod.name)) stale.push(a);
    if (pod) seen.add(pod.name);
  }
  const sentinelIps = new Set(o.sentinels.map((x) => podOf(o, x.pod)?.ip).filter(Boolean));
  for (const a of s.knownSentinels ?? []) {
    const { host } = splitAddress(a);
    if (!sentinelIps.has(host) && !podForHost(o, host)) stale.push(a);
  }
  return stale;
}

function sentinelStaleFindings(o: Observed): Finding[] {
  return o.sentinels.filter((s) => s.reachable).flatMap((s) => {
    const stale = staleSentinelEntries(o, s);
    if (stale.length === 0) return [];
    return [finding({
      kind: 'sentinel-stale-entries', severity: 'warning', pods: [s.pod],
      message: `sentinel ${s.pod} remembers ${stale.length} replica/sentinel address(es) no pod has: ${stale.slice(0, 4).join(', ')}${stale.length > 4 ? ', …' : ''}`,
      evidence: stale.map((a) => `${s.pod} knows ${a}`), fix: healFix(o, 'sentinel-stale-entries'),
    })];
  });
}

function replicationFindings(o: Observed): Finding[] {
  const rp = replicationPicture(o);
  return [
    ...masterFindings(o, rp),
    ...replicaFindings(o, rp),
    ...quorumFinding(o),
    ...sentinelMasterFindings(o, rp),
    ...sentinelStaleFindings(o),
  ];
}

// ---------------------------------------------------------------- everywhere

function unreachableFindings(o: Observed, pic: ClusterPicture | undefined): Finding[] {
  const redis = o.redis.filter((r) => !r.reachable).map((r) => {
    const ids = pic ? [...pic.down.entries()].filter(([, pod]) => pod === r.pod).map(([id]) => id) : [];
    const pod = podOf(o, r.pod);
    const wasMaster = (pod?.roleLabel !== undefined && pod.roleLabel.value === pod.roleLabel.masterValue) || ids.some((id) => pic?.owner.includes(id));
    return finding({
      kind: 'node-unreachable', severity: wasMaster || o.target.topology === 'standalone' ? 'critical' : 'warning', pods: [r.pod], nodeIds: ids, nodes: [pod?.nodeName ?? ''],
      message: `Redis in ${r.pod} does not answer${r.error ? `: ${r.error}` : ''}`,
      evidence: [`${r.pod} at ${r.address}`],
    });
  });
  const sentinels = o.sentinels.filter((s) => !s.reachable).map((s) => finding({
    kind: 'node-unreachable', severity: 'warning', pods: [s.pod],
    message: `sentinel in ${s.pod} does not answer${s.error ? `: ${s.error}` : ''}`, evidence: [],
  }));
  return [...redis, ...sentinels];
}

function expectedRole(r: RedisNodeFact): 'master' | 'replica' | undefined {
  return r.reachable ? r.replication?.role : undefined;
}

function labelFindings(o: Observed): Finding[] {
  return o.redis.flatMap((r) => {
    const pod = podOf(o, r.pod);
    const role = expectedRole(r);
    const label = pod?.roleLabel;
    if (!label || !role) return [];
    const want = role === 'master' ? label.masterValue : label.replicaValue;
    if (label.value === want) return [];
    return [finding({
      kind: 'role-label-mismatch', severity: 'warning', pods: [r.pod], objects: [`pod/${r.pod}`],
      message: `${r.pod} is a ${role} but is labelled ${label.key}=${label.value || '(none)'}; Services that select ${label.key}=${want} miss it`,
      evidence: [`${r.pod}: role:${role}`], fix: healFix(o, 'role-label-mismatch'),
    })];
  });
}

function readyFindings(o: Observed): Finding[] {
  return o.pods.filter((p) => !p.ready || p.deleting || p.phase !== 'Running').map((p) => finding({
    kind: 'pod-not-ready', severity: 'warning', pods: [p.name], nodes: [p.nodeName],
    message: `pod ${p.name} is ${p.deleting ? 'terminating' : p.phase !== 'Running' ? p.phase : 'not Ready'}`,
    evidence: [`phase ${p.phase}, ready ${p.ready}, deleting ${p.deleting}`],
  }));
}

/** Groups of Redis pods that hold the same data: a cluster shard, or the whole replication group. */
export function shardsOf(o: Observed, pic: ClusterPicture | undefined = o.target.topology === 'cluster' ? clusterPicture(o) : undefined): string[][] {
  const redisPods = o.pods.filter((p) => p.component === 'redis');
  if (redisPods.length > 0 && redisPods.every((p) => p.shard !== undefined)) {
    const byShard = new Map<string, string[]>();
    for (const p of redisPods) byShard.set(p.shard!, [...(byShard.get(p.shard!) ?? []), p.name]);
    return [...byShard.values()];
  }
  if (!pic) return redisPods.length > 0 ? [redisPods.map((p) => p.name)] : [];
  return pic.members.filter((m) => m.self.role === 'master').map((m) => [m.pod, ...replicasOf(pic, m.id).map((r) => r.pod)]);
}

/** How many of a PDB's pods it lets go at once, from its spec (status counts only pods healthy right now). */
export function pdbAllowance(pdb: PdbFact): number | undefined {
  const n = pdb.pods.length;
  const scaled = (v: number | string) => (typeof v === 'number' ? v : Math.ceil((parseFloat(v) / 100) * n));
  if (pdb.maxUnavailable !== undefined) return scaled(pdb.maxUnavailable);
  if (pdb.minAvailable !== undefined) return Math.max(0, n - scaled(pdb.minAvailable));
  return pdb.disruptionsAllowed;
}

function pdbFindings(o: Observed, pic: ClusterPicture | undefined): Finding[] {
  const redisPods = o.pods.filter((p) => p.component === 'redis').map((p) => p.name);
  if (redisPods.length < 2) return [];
  const out: Finding[] = [];
  const covered = new Set(o.pdbs.flatMap((p) => p.pods ?? []));
  const bare = redisPods.filter((p) => !covered.has(p));
  if (bare.length > 0) {
    out.push(finding({
      kind: 'pdb-missing', severity: 'warning', pods: bare,
      message: `no PodDisruptionBudget covers ${bare.length} Redis pod(s): a node drain may evict a master and its replicas together`,
      evidence: o.pdbs.map((p) => `PodDisruptionBudget/${p.name} covers ${(p.pods ?? []).join(', ') || 'no pod'}`),
    }));
  }
  const shards = shardsOf(o, pic);
  for (const pdb of o.pdbs) {
    const allowed = pdbAllowance(pdb);
    const exposed = shards.filter((s) => s.filter((p) => (pdb.pods ?? []).includes(p)).length >= 2);
    if (allowed === undefined || allowed < 2 || exposed.length === 0) continue;
    out.push(finding({
      kind: 'pdb-unsafe', severity: 'warning', pods: exposed.flat(), objects: [`PodDisruptionBudget/${pdb.name}`],
      message: `PodDisruptionBudget ${pdb.name} lets ${allowed} pods go at once, so two members of one shard (${exposed[0].join(', ')}) can be evicted together`,
      evidence: [`maxUnavailable ${pdb.maxUnavailable ?? '-'}, minAvailable ${pdb.minAvailable ?? '-'}, ${pdb.pods.length} pods`],
    }));
  }
  return out;
}

function pauseFindings(o: Observed): Finding[] {
  const p = o.pause;
  if (!p.paused) return [];
  const expired = !!p.until && !!o.observedAt && Date.parse(p.until) < Date.parse(o.observedAt);
  const who = `${p.by ? ` by ${p.by}` : ''}${p.at ? ` since ${p.at}` : ''}${p.reason ? ` (${p.reason})` : ''}`;
  return [finding({
    kind: 'reconcile-paused', severity: expired ? 'warning' : 'info', objects: [targetRef(o)],
    message: expired ? `reconcile is paused${who}, and its pause expired at ${p.until}` : `reconcile is paused${who}${p.until ? ` until ${p.until}` : ''}`,
    evidence: [`strategy ${p.strategy}`, ...(p.key ? [`${p.key}=${p.value ?? ''}`] : [])],
    fix: `kubectl redis resume ${targetRef(o)} -n ${o.target.namespace}`,
  })];
}

function operatorFindings(o: Observed): Finding[] {
  const op = o.operator;
  if (!op.present || op.running) return [];
  const byPause = o.pause.paused && o.pause.strategy === 'operator-scale-down';
  return [finding({
    kind: 'operator-not-running', severity: byPause ? 'info' : 'warning', objects: op.deployment ? [`deployment/${op.deployment}`] : [],
    message: byPause ? `the operator is scaled down by a pause` : `the operator${op.deployment ? ` (${op.deployment})` : ''} is not running: nothing repairs the target on its own`,
    evidence: [`replicas ${op.replicas ?? '?'}${op.version ? `, version ${op.version}` : ''}`],
  })];
}

// ---------------------------------------------------------------- entry point

function topologyFindings(o: Observed, pic: ClusterPicture | undefined): Finding[] {
  switch (o.target.topology) {
    case 'cluster': return pic ? clusterFindings(o, pic) : [];
    case 'sentinel':
    case 'replication': return replicationFindings(o);
    default: return [];
  }
}

export function diagnose(observed: Observed): Finding[] {
  const o = normalize(observed);
  const pic = o.target.topology === 'cluster' ? clusterPicture(o) : undefined;
  return [
    ...unreachableFindings(o, pic),
    ...topologyFindings(o, pic),
    ...labelFindings(o),
    ...readyFindings(o),
    ...pdbFindings(o, pic),
    ...pauseFindings(o),
    ...operatorFindings(o),
  ].sort(byKindThenPods);
}
