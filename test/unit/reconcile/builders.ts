// Small in-memory models of a Redis Cluster and of a sentinel/replication group, the Observed they look like, and a
// simulation of every plan action on them (with gossip settling the cluster views), for diagnose and plan tests.
import { CLUSTER_SLOTS } from '../../../src/redis/cluster-nodes.js';
import type { ClusterNodeEntry, ReplicationInfo } from '../../../src/redis/types.js';
import type { Action, Observed, PodFact, RedisNodeFact, SentinelFact, TargetFact } from '../../../src/reconcile/types.js';

export const ROLE_KEY = 'redis-role';

// ---------------------------------------------------------------- Redis Cluster model

export interface CNode {
  pod: string;
  ip: string;
  port: number;
  k8sNode: string;
  id: string;
  up: boolean;
  /** id of its master; null for a master */
  master: string | null;
  epoch: number;
  /** slot -> owner, as this node sees it */
  table: Array<string | null>;
  /** other node id -> ip:port, as this node knows it */
  knows: Map<string, string>;
  banned: Set<string>;
  migrating: Map<number, string>;
  importing: Map<number, string>;
  keys: Map<number, number>;
  offset: number;
  /** role label value, when the target keeps one */
  label?: string;
}

/** What the others remember of a node that no pod is any more. */
export interface Ghost {
  master: string | null;
  epoch: number;
}

export interface ClusterModel {
  nodes: CNode[];
  ghosts: Map<string, Ghost>;
  expected: { masters: number; replicasPerMaster: number };
  labels: boolean;
}

export const nodeId = (n: number): string => n.toString(16).padStart(4, '0').repeat(10);

const addr = (n: CNode) => `${n.ip}:${n.port}`;

/** A healthy cluster: `masters` masters with `replicas` replicas each, every pod on its own spot of k8s nodes. */
export function clusterModel(masters: number, replicas: number, opts: { labels?: boolean } = {}): ClusterModel {
  const k = Math.max(masters, replicas + 1, 3);
  const nodes: CNode[] = [];
  const per = Math.floor(CLUSTER_SLOTS / masters);
  for (let i = 0; i < masters * (1 + replicas); i++) {
    const shard = i % masters;
    const replicaNo = Math.floor(i / masters);
    nodes.push({
      pod: `redis-${i}`, ip: `10.0.0.${10 + i}`, port: 6379, k8sNode: `node-${(shard + replicaNo) % k}`, id: nodeId(i + 1), up: true,
      master: replicaNo === 0 ? null : nodeId(shard + 1), epoch: replicaNo === 0 ? shard + 1 : shard + 1,
      table: new Array(CLUSTER_SLOTS).fill(null), knows: new Map(), banned: new Set(), migrating: new Map(), importing: new Map(),
      keys: new Map(), offset: 1000,
    });
  }
  const owners = Array.from({ length: masters }, (_, i) => nodeId(i + 1));
  const table = Array.from({ length: CLUSTER_SLOTS }, (_, s) => owners[Math.min(Math.floor(s / per), masters - 1)]);
  for (const n of nodes) {
    for (const o of nodes) if (o !== n) n.knows.set(o.id, addr(o));
    n.table = table.slice();
  }
  const model: ClusterModel = { nodes, ghosts: new Map(), expected: { masters, replicasPerMaster: replicas }, labels: opts.labels ?? false };
  if (model.labels) for (const n of nodes) n.label = n.master ? 'replica' : 'master';
  return model;
}

export function byPod(m: ClusterModel, pod: string): CNode {
  const n = m.nodes.find((x) => x.pod === pod);
  if (!n) throw new Error(`no node ${pod}`);
  return n;
}

function byId(m: ClusterModel, id: string): CNode | undefined {
  return m.nodes.find((x) => x.id === id);
}

function epochOf(m: ClusterModel, id: string): number {
  return byId(m, id)?.epoch ?? m.ghosts.get(id)?.epoch ?? 0;
}

function roleOf(m: ClusterModel, id: string): 'master' | 'replica' {
  const n = byId(m, id);
  return (n ? n.master : m.ghosts.get(id)?.master ?? null) === null ? 'master' : 'replica';
}

export function mastersOf(m: ClusterModel): CNode[] {
  return m.nodes.filter((n) => n.master === null && n.table.some((o) => o === n.id));
}

export function replicasOfNode(m: ClusterModel, master: CNode): CNode[] {
  return m.nodes.filter((n) => n.master === master.id);
}

function ranges(table: Array<string | null>, id: string): Array<[number, number]> {
  return rangesById(table).get(id) ?? [];
}

/** Every owner's slot ranges in one pass over a slot table. */
function rangesById(table: Array<string | null>): Map<string, Array<[number, number]>> {
  const out = new Map<string, Array<[number, number]>>();
  for (let s = 0; s < CLUSTER_SLOTS; s++) {
    const id = table[s];
    if (id === null) continue;
    const list = out.get(id) ?? [];
    const last = list[list.length - 1];
    if (last && last[1] === s - 1) last[1] = s;
    else list.push([s, s]);
    out.set(id, list);
  }
  return out;
}

function entry(m: ClusterModel, observer: CNode, id: string, address: string, owned: Map<string, Array<[number, number]>>): ClusterNodeEntry {
  const myself = id === observer.id;
  const n = byId(m, id);
  const [ip, port] = address.split(':');
  const reachable = !!n && n.up && addr(n) === address;
  const role = roleOf(m, id);
  const master = n ? n.master : m.ghosts.get(id)?.master ?? null;
  return {
    id, ip, port: Number(port), busPort: Number(port) + 10000, flags: [...(myself ? ['myself'] : []), role === 'master' ? 'master' : 'slave', ...(reachable || myself ? [] : ['fail'])],
    myself, role, masterId: master, pingSent: 0, pongRecv: 0, configEpoch: epochOf(m, id), linkState: reachable || myself ? 'connected' : 'disconnected',
    slots: owned.get(id) ?? [],
    migrating: myself ? [...observer.migrating.entries()].map(([slot, to]) => ({ slot, to })) : [],
    importing: myself ? [...observer.importing.entries()].map(([slot, from]) => ({ slot, from })) : [],
    failed: !reachable && !myself, pfail: false, handshake: false, noaddr: false,
  };
}

function replicationOf(m: ClusterModel, n: CNode): ReplicationInfo {
  if (n.master === null) {
    return { role: 'master', connectedReplicas: replicasOfNode(m, n).map((r) => ({ ip: r.ip, port: r.port, state: 'online', offset: r.offset, lag: 0 })), masterReplid: `replid-${n.id.slice(0, 4)}`, masterReplOffset: n.offset };
  }
  const master = byId(m, n.master);
  const host = master?.ip ?? n.knows.get(n.master)?.split(':')[0] ?? '';
  return {
    role: 'replica', masterHost: host, masterPort: 6379, masterLinkStatus: master?.up ? 'up' : 'down', slaveReplOffset: n.offset,
    connectedReplicas: [], masterReplid: `replid-${n.master.slice(0, 4)}`, masterReplOffset: n.offset,
  };
}

function redisFact(m: ClusterModel, n: CNode): RedisNodeFact {
  if (!n.up) return { pod: n.pod, address: addr(n), reachable: false, error: 'connect ECONNREFUSED' };
  const owned = rangesById(n.table);
  const view = [entry(m, n, n.id, addr(n), owned), ...[...n.knows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([id, a]) => entry(m, n, id, a, owned))];
  const keys = [...n.keys.values()].reduce((a, b) => a + b, 0);
  const fact: RedisNodeFact = {
    pod: n.pod, address: addr(n), reachable: true, clusterNodes: view,
    clusterInfo: { state: 'ok', slotsAssigned: n.table.filter(Boolean).length, knownNodes: n.knows.size + 1, currentEpoch: Math.max(...m.nodes.map((x) => x.epoch)), myEpoch: n.epoch },
    replication: replicationOf(m, n), dbsize: keys,
  };
  if (n.master === null) fact.keysBySlot = Object.fromEntries([...n.keys.entries()].filter(([, c]) => c > 0));
  return fact;
}

function podFact(n: { pod: string; ip: string; k8sNode: string; up: boolean; label?: string }, component: 'redis' | 'sentinel', labels: boolean): PodFact {
  const p: PodFact = { name: n.pod, ip: n.ip, nodeName: n.k8sNode, ready: n.up, phase: n.up ? 'Running' : 'Running', deleting: false, component };
  if (labels && component === 'redis') p.roleLabel = { key: ROLE_KEY, value: n.label ?? '', masterValue: 'master', replicaValue: 'replica' };
  return p;
}

function safeTarget(topology: TargetFact['topology'], expected: TargetFact['expected']): TargetFact {
  return { kind: 'RedisCluster', name: 'orders', namespace: 'shop', system: 'ot', topology, expected, ref: 'rediscluster/orders' };
}

/** The Observed a model looks like, with a PDB that allows one pod at a time and an operator that runs. */
export function observeCluster(m: ClusterModel): Observed {
  const nodes = [...m.nodes].sort((a, b) => a.pod.localeCompare(b.pod));
  return {
    target: safeTarget('cluster', { ...m.expected }),
    observedAt: '2026-03-01T10:00:00.000Z',
    pods: nodes.map((n) => podFact(n, 'redis', m.labels)),
    redis: nodes.map((n) => redisFact(m, n)),
    sentinels: [],
    pause: { paused: false, strategy: 'annotation' },
    operator: { present: true, running: true, replicas: 1 },
    pdbs: [{ name: 'orders-pdb', pods: nodes.map((n) => n.pod), maxUnavailable: 1 }],
  };
}

/** Gossip until every view settles: nodes introduce the nodes they know, and slot claims win by config epoch. */
export function settle(m: ClusterModel): void {
  for (let round = 0; round < 50; round++) {
    let changed = false;
    const claims = new Map(m.nodes.map((n) => [n.id, n.master === null ? ranges(n.table, n.id) : []]));
    for (const a of m.nodes.filter((x) => x.up)) {
      for (const [id, address] of [...a.knows.entries()]) {
        const b = byId(m, id);
        if (!b || !b.up || addr(b) !== address) continue;
        changed = introduce(m, a, b) || changed;
        changed = learnClaims(m, a, b, claims.get(b.id) ?? []) || changed;
      }
    }
    if (!changed) return;
  }
}

function introduce(m: ClusterModel, a: CNode, b: CNode): boolean {
  let changed = false;
  for (const [id, address] of b.knows) {
    const n = byId(m, id);
    if (id === a.id || a.knows.has(id) || a.banned.has(id) || !n || !n.up || addr(n) !== address) continue;
    a.knows.set(id, address);
    changed = true;
  }
  if (!b.knows.has(a.id) && !b.banned.has(a.id)) {
    b.knows.set(a.id, addr(a));
    changed = true;
  }
  return changed;
}

function learnClaims(m: ClusterModel, a: CNode, b: CNode, claimed: Array<[number, number]>): boolean {
  let changed = false;
  const hadSlots = a.master === null && a.table.some((o) => o === a.id);
  for (const [first, last] of claimed) {
    for (let s = first; s <= last; s++) {
      const cur = a.table[s];
      if (cur === b.id) continue;
      if (cur === null || epochOf(m, cur) < b.epoch) {
        a.table[s] = b.id;
        changed = true;
      }
    }
  }
  // a master that lost its last slot to a claim with a higher epoch becomes a replica of the claimant (a full
  // resync: its keys are the master's from then on)
  if (changed && hadSlots && !a.table.some((o) => o === a.id)) {
    a.master = b.id;
    a.keys = new Map();
  }
  return changed;
}

function fail(why: string): never {
  throw new Error(`simulated Redis refused: ${why}`);
}

function maxEpoch(m: ClusterModel): number {
  return Math.max(0, ...m.nodes.map((n) => n.epoch), ...[...m.ghosts.values()].map((g) => g.epoch));
}

function slotsIn(ranges: Array<[number, number]>): number[] {
  return ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
}

/** Do what one action does to the model, as Redis would (errors where Redis errors), then let gossip settle. */
export function applyToCluster(m: ClusterModel, a: Action): void {
  const n = byPod(m, a.pod);
  switch (a.kind) {
    case 'clusterMeet': {
      const other = m.nodes.find((x) => x.ip === a.ip && x.port === a.port && x.up) ?? fail(`nothing at ${a.ip}:${a.port}`);
      n.knows.set(other.id, addr(other));
      other.knows.set(n.id, addr(n));
      break;
    }
    case 'clusterForget':
      for (const pod of a.pods) forget(byPod(m, pod), a.nodeId);
      break;
    case 'setSlotStable':
      n.migrating.delete(a.slot);
      n.importing.delete(a.slot);
      break;
    case 'setSlotNode':
      setSlotNode(m, n, a.slot, a.nodeId);
      break;
    case 'setSlotMigrating':
      if (n.table[a.slot] !== n.id) fail(`I'm not the owner of hash slot ${a.slot}`);
      n.migrating.set(a.slot, a.nodeId);
      break;
    case 'setSlotImporting':
      if (n.table[a.slot] === n.id) fail(`I'm already the owner of hash slot ${a.slot}`);
      n.importing.set(a.slot, a.nodeId);
      break;
    case 'delSlots':
      for (const s of slotsIn(a.ranges)) {
        if (n.table[s] === null) fail(`Slot ${s} is already unassigned`);
        n.table[s] = null;
      }
      break;
    case 'addSlots':
      for (const s of slotsIn(a.ranges)) {
        if (n.table[s] !== null) fail(`Slot ${s} is already busy`);
        n.table[s] = n.id;
        n.importing.delete(s);
      }
      break;
    case 'migrateKeys': {
      const to = byPod(m, a.toPod);
      to.keys.set(a.slot, (to.keys.get(a.slot) ?? 0) + (n.keys.get(a.slot) ?? 0));
      n.keys.delete(a.slot);
      break;
    }
    case 'clusterReplicate':
      replicate(m, n, a.masterId);
      break;
    case 'clusterFailover':
      failover(m, n, a.mode);
      break;
    case 'bumpEpoch':
      n.epoch = maxEpoch(m) + 1;
      break;
    case 'patchPodLabel':
      n.label = a.value;
      break;
    default:
      throw new Error(`the cluster model does not do ${a.kind}`);
  }
  settle(m);
}

function forget(n: CNode, id: string): void {
  if (id === n.id) fail(`I tried hard but I can't forget myself...`);
  if (n.master === id) fail(`Can't forget my master!`);
  n.knows.delete(id);
  n.banned.add(id);
  for (let s = 0; s < CLUSTER_SLOTS; s++) if (n.table[s] === id) n.table[s] = null;
}

function setSlotNode(m: ClusterModel, n: CNode, slot: number, id: string): void {
  if (n.table[slot] === n.id && id !== n.id && (n.keys.get(slot) ?? 0) > 0) fail(`I still hold keys of slot ${slot}`);
  if (id === n.id) {
    if (n.importing.has(slot)) n.epoch = maxEpoch(m) + 1;
    n.importing.delete(slot);
  } else if ((n.keys.get(slot) ?? 0) === 0) {
    n.migrating.delete(slot);
  }
  n.table[slot] = id;
}

function replicate(m: ClusterModel, n: CNode, masterId: string): void {
  const master = byId(m, masterId) ?? fail(`Unknown node ${masterId}`);
  if (!n.knows.has(masterId)) fail(`Unknown node ${masterId}`);
  if (master.master !== null) fail('I can only replicate a master, not a replica.');
  if (n.master === null && (n.table.some((o) => o === n.id) || [...n.keys.values()].some((c) => c > 0))) {
    fail('To set a master the node must be empty and without assigned slots.');
  }
  n.master = masterId;
}

function failover(m: ClusterModel, n: CNode, mode: 'default' | 'force' | 'takeover'): void {
  const oldId = n.master ?? fail("You should send CLUSTER FAILOVER to a replica");
  const old = byId(m, oldId);
  if (mode === 'default' && !old?.up) fail('Master is down or failed, please use CLUSTER FAILOVER FORCE');
  n.master = null;
  n.epoch = maxEpoch(m) + 1;
  for (let s = 0; s < CLUSTER_SLOTS; s++) if (n.table[s] === oldId) n.table[s] = n.id;
  if (old) old.master = n.id;
  for (const r of m.nodes) if (r.master === oldId && r !== old) r.master = n.id;
}

// ---------------------------------------------------------------- cluster faults (each keeps the model settled)

export function restartOnNewIp(m: ClusterModel, pod: string): void {
  const n = byPod(m, pod);
  n.ip = `10.1.0.${m.nodes.indexOf(n) + 10}`;
}

export function openSlot(m: ClusterModel, slot: number, mode: 'both' | 'migrating' | 'importing', keys: [number, number]): void {
  const from = m.nodes.find((n) => n.master === null && n.table[slot] === n.id);
  if (!from) return;
  const to = mastersOf(m).find((n) => n !== from);
  if (keys[0] > 0) from.keys.set(slot, keys[0]);
  if (!to) return;
  if (mode !== 'importing') from.migrating.set(slot, to.id);
  if (mode !== 'migrating') to.importing.set(slot, from.id);
  if (keys[1] > 0) to.keys.set(slot, keys[1]);
}

export function uncover(m: ClusterModel, first: number, last: number, keysOnFormerOwner = 0): void {
  const owner = byId(m, m.nodes[0].table[first]!);
  for (const n of m.nodes) for (let s = first; s <= last; s++) n.table[s] = null;
  if (owner && keysOnFormerOwner > 0) owner.keys.set(first, keysOnFormerOwner);
}

/** The pod came back with an empty disk: a new node id, known to nobody; the others remember the old one. */
export function loseNodesConf(m: ClusterModel, pod: string, freshId: string): void {
  const n = byPod(m, pod);
  m.ghosts.set(n.id, { master: n.master, epoch: n.epoch });
  const oldId = n.id;
  n.id = freshId;
  n.master = null;
  n.epoch = 0;
  n.table = new Array(CLUSTER_SLOTS).fill(null);
  n.knows = new Map();
  n.keys = new Map();
  n.migrating = new Map();
  n.importing = new Map();
  if (n.label !== undefined) n.label = n.label === 'master' ? 'master' : 'replica';
  for (const o of m.nodes) if (o !== n) o.knows.set(oldId, o.knows.get(oldId) ?? addr(n));
}

export function moveToK8sNode(m: ClusterModel, pod: string, k8sNode: string): void {
  byPod(m, pod).k8sNode = k8sNode;
}

export function collideEpochs(m: ClusterModel, a: string, b: string): void {
  byPod(m, b).epoch = byPod(m, a).epoch;
}

/** `observer` believes `stale` (a master with a higher epoch) owns some of `owner`'s slots. */
export function staleView(m: ClusterModel, observer: string, owner: string, stale: string, count: number): boolean {
  const o = byPod(m, observer);
  const x = byPod(m, owner);
  const y = byPod(m, stale);
  const slots = ranges(x.table, x.id).flatMap(([a, b]) => slotsIn([[a, b]])).slice(0, count);
  if (slots.length === 0 || o === x || o === y || x === y) return false;
  y.epoch = maxEpoch(m) + 1;
  for (const s of slots) o.table[s] = y.id;
  return true;
}

/** `rival` claims some of `owner`'s slots in its own view with the same epoch (gossip cannot settle it). */
export function contest(m: ClusterModel, owner: string, rival: string, count: number, keys: { owner?: number; rival?: number } = {}): number[] {
  const x = byPod(m, owner);
  const y = byPod(m, rival);
  const slots = ranges(x.table, x.id).flatMap(([a, b]) => slotsIn([[a, b]])).slice(0, count);
  y.epoch = x.epoch;
  for (const s of slots) y.table[s] = y.id;
  if (keys.owner) x.keys.set(slots[0], keys.owner);
  if (keys.rival) y.keys.set(slots[0], keys.rival);
  return slots;
}

/**
 * CLUSTER FORGET of a live node on every other node that may (its own replicas may not: "Can't forget my master!").
 * The node itself still knows them all; the forgetters ban its id, so gossip does not bring it back.
 */
export function forgetNode(m: ClusterModel, pod: string): void {
  const x = byPod(m, pod);
  for (const n of m.nodes) if (n !== x && n.master !== x.id) forget(n, x.id);
}

/**
 * A partition kept apart by FORGET: `pod` (a master) forgets every other node, its replica takes its slots over
 * with a higher config epoch (CLUSTER FAILOVER TAKEOVER while it was frozen), and every other node forgets it. The
 * two never compare claims again. Keys of the first slot: `keys.old` on the old master, `keys.new` on the new one.
 */
export function partitionTakeover(m: ClusterModel, pod: string, keys: { old?: number; new?: number } = {}): CNode {
  const a = byPod(m, pod);
  const b = replicasOfNode(m, a)[0] ?? fail(`${pod} has no replica`);
  const first = a.table.indexOf(a.id);
  for (const n of m.nodes) if (n !== a) forget(a, n.id);
  b.master = null;
  b.epoch = maxEpoch(m) + 1;
  for (const n of m.nodes) {
    if (n === a) continue;
    for (let s = 0; s < CLUSTER_SLOTS; s++) if (n.table[s] === a.id) n.table[s] = b.id;
    forget(n, a.id);
  }
  if (keys.old) a.keys.set(first, keys.old);
  if (keys.new) b.keys.set(first, keys.new);
  return b;
}

/** A new empty pod on its own k8s node that nobody has met. */
export function addStranger(m: ClusterModel, pod: string, id: string): void {
  const n: CNode = {
    pod, ip: `10.2.0.${m.nodes.length}`, port: 6379, k8sNode: 'node-new', id, up: true, master: null, epoch: 0, table: new Array(CLUSTER_SLOTS).fill(null),
    knows: new Map(), banned: new Set(), migrating: new Map(), importing: new Map(), keys: new Map(), offset: 0,
  };
  if (m.labels) n.label = 'master';
  m.nodes.push(n);
}

// ---------------------------------------------------------------- sentinel / replication model

export interface RNode {
  pod: string;
  ip: string;
  k8sNode: string;
  up: boolean;
  /** ip of its master; null for a master */
  masterIp: string | null;
  replid: string;
  replid2?: string;
  secondOffset?: number;
  offset: number;
  dbsize: number;
  label?: string;
}

export interface SNode {
  pod: string;
  ip: string;
  k8sNode: string;
  up: boolean;
  masterIp: string | null;
  knownReplicas: string[];
  knownSentinels: string[];
  quorum: number;
}

export interface GroupModel {
  topology: 'sentinel' | 'replication';
  redis: RNode[];
  sentinels: SNode[];
  labels: boolean;
}

/** One master and `replicas` replicas, watched by `sentinels` sentinels (0: a plain replication group). */
export function groupModel(replicas: number, sentinels: number, opts: { labels?: boolean } = {}): GroupModel {
  const redis: RNode[] = Array.from({ length: replicas + 1 }, (_, i) => ({
    pod: `redis-${i}`, ip: `10.0.1.${10 + i}`, k8sNode: `node-${i % 3}`, up: true, masterIp: i === 0 ? null : '10.0.1.10',
    replid: 'r1', offset: 5000, dbsize: 100, label: opts.labels ? (i === 0 ? 'master' : 'replica') : undefined,
  }));
  const g: GroupModel = { topology: sentinels > 0 ? 'sentinel' : 'replication', redis, sentinels: [], labels: opts.labels ?? false };
  g.sentinels = Array.from({ length: sentinels }, (_, i) => ({
    pod: `sentinel-${i}`, ip: `10.0.2.${10 + i}`, k8sNode: `node-${i % 3}`, up: true, masterIp: '10.0.1.10',
    knownReplicas: redis.slice(1).map((r) => `${r.ip}:6379`), knownSentinels: [], quorum: Math.floor(sentinels / 2) + 1,
  }));
  for (const s of g.sentinels) s.knownSentinels = g.sentinels.filter((x) => x !== s).map((x) => `${x.ip}:26379`);
  return g;
}

export function rnode(g: GroupModel, pod: string): RNode {
  const n = g.redis.find((x) => x.pod === pod) ?? g.sentinels.find((x) => x.pod === pod);
  if (!n) throw new Error(`no pod ${pod}`);
  return n as RNode;
}

function groupReplication(g: GroupModel, n: RNode): ReplicationInfo {
  if (n.masterIp === null) {
    const replicas = g.redis.filter((r) => r.masterIp === n.ip && r.up);
    return { role: 'master', connectedReplicas: replicas.map((r) => ({ ip: r.ip, port: 6379, state: 'online', offset: r.offset, lag: 0 })), masterReplid: n.replid, masterReplOffset: n.offset };
  }
  const master = g.redis.find((r) => r.ip === n.masterIp && r.up && r.masterIp === null);
  return { role: 'replica', masterHost: n.masterIp, masterPort: 6379, masterLinkStatus: master ? 'up' : 'down', slaveReplOffset: n.offset, connectedReplicas: [], masterReplid: n.replid, masterReplOffset: n.offset };
}

function groupRedisFact(g: GroupModel, n: RNode): RedisNodeFact {
  if (!n.up) return { pod: n.pod, address: `${n.ip}:6379`, reachable: false, error: 'connect ECONNREFUSED' };
  const f: RedisNodeFact = { pod: n.pod, address: `${n.ip}:6379`, reachable: true, replication: groupReplication(g, n), dbsize: n.dbsize };
  if (n.replid2 !== undefined) f.replid2 = n.replid2;
  if (n.secondOffset !== undefined) f.secondReplOffset = n.secondOffset;
  return f;
}

function sentinelFact(g: GroupModel, s: SNode): SentinelFact {
  if (!s.up) return { pod: s.pod, reachable: false, error: 'connect ECONNREFUSED', masterName: 'mymaster', knownReplicas: [], knownSentinels: [] };
  const f: SentinelFact = { pod: s.pod, reachable: true, masterName: 'mymaster', knownReplicas: [...s.knownReplicas], knownSentinels: [...s.knownSentinels] };
  if (s.masterIp !== null) {
    f.master = { ip: s.masterIp, port: 6379, flags: ['master'], numSlaves: s.knownReplicas.length, numOtherSentinels: s.knownSentinels.length, quorum: s.quorum };
  }
  return f;
}

export function observeGroup(g: GroupModel): Observed {
  const expected = { masters: 1, replicasPerMaster: g.redis.length - 1, ...(g.sentinels.length > 0 ? { sentinels: g.sentinels.length } : {}) };
  return {
    target: { kind: 'RedisFailover', name: 'cache', namespace: 'shop', system: 'spotahome', topology: g.topology, expected, ref: 'redisfailover/cache' },
    observedAt: '2026-03-01T10:00:00.000Z',
    pods: [...g.redis.map((n) => podFact(n, 'redis', g.labels)), ...g.sentinels.map((s) => podFact(s, 'sentinel', false))],
    redis: g.redis.map((n) => groupRedisFact(g, n)),
    sentinels: g.sentinels.map((s) => sentinelFact(g, s)),
    pause: { paused: false, strategy: 'annotation' },
    operator: { present: true, running: true, replicas: 1 },
    pdbs: [{ name: 'cache-pdb', pods: [...g.redis, ...g.sentinels].map((n) => n.pod), maxUnavailable: 1 }],
  };
}

/** Do what one sentinel/replication action does to the model. */
export function applyToGroup(g: GroupModel, a: Action): void {
  switch (a.kind) {
    case 'replicaOfNoOne': {
      const n = rnode(g, a.pod);
      const master = g.redis.find((r) => r.ip === n.masterIp);
      n.replid2 = master?.replid ?? n.replid;
      n.secondOffset = n.offset + 1;
      n.replid = `${n.replid}-${n.pod}`;
      n.masterIp = null;
      break;
    }
    case 'replicaOf': {
      const n = rnode(g, a.pod);
      const master = g.redis.find((r) => r.ip === a.host) ?? fail(`nothing at ${a.host}`);
      n.masterIp = a.host;
      n.replid = master.replid;
      n.offset = master.offset;
      n.dbsize = master.dbsize;
      break;
    }
    case 'sentinelRemove':
      (rnode(g, a.pod) as unknown as SNode).masterIp = null;
      break;
    case 'sentinelMonitor': {
      const s = rnode(g, a.pod) as unknown as SNode;
      s.masterIp = a.ip;
      s.knownReplicas = g.redis.filter((r) => r.masterIp === a.ip).map((r) => `${r.ip}:6379`);
      break;
    }
    case 'sentinelReset': {
      const s = rnode(g, a.pod) as unknown as SNode;
      s.knownReplicas = g.redis.filter((r) => r.up && r.masterIp !== null && r.masterIp === s.masterIp).map((r) => `${r.ip}:6379`);
      s.knownSentinels = g.sentinels.filter((x) => x !== s && x.up).map((x) => `${x.ip}:26379`);
      break;
    }
    case 'patchPodLabel':
      rnode(g, a.pod).label = a.value;
      break;
    default:
      throw new Error(`the group model does not do ${a.kind}`);
  }
}

// ---------------------------------------------------------------- the table of faults

export type Scenario =
  | { kind: 'cluster'; model: ClusterModel }
  | { kind: 'group'; model: GroupModel }
  | { kind: 'observed'; observed: Observed };

export function observeScenario(s: Scenario): Observed {
  return s.kind === 'cluster' ? observeCluster(s.model) : s.kind === 'group' ? observeGroup(s.model) : s.observed;
}

export function applyToScenario(s: Scenario, a: Action): void {
  if (s.kind === 'cluster') applyToCluster(s.model, a);
  else if (s.kind === 'group') applyToGroup(s.model, a);
  else throw new Error('a fixed observation cannot be acted on');
}

export interface Case {
  name: string;
  build: () => Scenario;
  /** finding kinds diagnose reports, sorted */
  findings: string[];
  /** action kinds the plan holds (sorted, unique), or 'refused' */
  actions: string[] | 'refused';
  prefer?: string;
  only?: string[];
}

function cluster(masters: number, replicas: number, fault: (m: ClusterModel) => void, labels = false): () => Scenario {
  return () => {
    const m = clusterModel(masters, replicas, { labels });
    fault(m);
    settle(m);
    return { kind: 'cluster', model: m };
  };
}

function group(replicas: number, sentinels: number, fault: (g: GroupModel) => void, labels = false): () => Scenario {
  return () => {
    const g = groupModel(replicas, sentinels, { labels });
    fault(g);
    return { kind: 'group', model: g };
  };
}

function observed(base: () => Scenario, change: (o: Observed) => void): () => Scenario {
  return () => {
    const o = observeScenario(base());
    change(o);
    return { kind: 'observed', observed: o };
  };
}

const sentinel = (g: GroupModel, pod: string) => g.sentinels.find((s) => s.pod === pod)!;

export const CASES: Case[] = [
  { name: 'healthy 3 masters x 1 replica', build: cluster(3, 1, () => {}), findings: [], actions: [] },
  { name: 'healthy 5 x 2 with role labels', build: cluster(5, 2, () => {}, true), findings: [], actions: [] },
  { name: 'one master restarted on a new IP', build: cluster(3, 1, (m) => restartOnNewIp(m, 'redis-1')), findings: ['stale-ip'], actions: ['clusterMeet'] },
  {
    name: 'every pod restarted on a new IP', build: cluster(3, 1, (m) => m.nodes.forEach((n) => restartOnNewIp(m, n.pod))),
    findings: ['stale-ip'], actions: ['clusterMeet'],
  },
  { name: 'slot left migrating and importing, keys on both', build: cluster(3, 1, (m) => openSlot(m, 100, 'both', [5, 2])), findings: ['open-slot'], actions: ['migrateKeys', 'setSlotNode'] },
  { name: 'slot left migrating only', build: cluster(3, 1, (m) => openSlot(m, 100, 'migrating', [5, 0])), findings: ['open-slot'], actions: ['setSlotStable'] },
  { name: 'slot left importing, keys on the importer', build: cluster(3, 1, (m) => openSlot(m, 7000, 'importing', [0, 3])), findings: ['open-slot'], actions: ['migrateKeys', 'setSlotStable'] },
  { name: 'slot left importing, no keys', build: cluster(3, 0, (m) => openSlot(m, 7000, 'importing', [0, 0])), findings: ['open-slot'], actions: ['setSlotStable'] },
  { name: 'a range of slots uncovered, no keys', build: cluster(3, 1, (m) => uncover(m, 0, 99)), findings: ['slots-uncovered'], actions: ['addSlots'] },
  { name: 'uncovered slots, keys left on the former owner', build: cluster(3, 1, (m) => uncover(m, 5000, 5100, 7)), findings: ['slots-uncovered'], actions: ['addSlots'] },
  {
    name: 'an uncovered slot with keys on two masters',
    build: cluster(3, 1, (m) => {
      uncover(m, 5000, 5000, 7);
      byPod(m, 'redis-1').keys.set(5000, 2);
    }),
    findings: ['slots-uncovered'], actions: ['addSlots', 'migrateKeys', 'setSlotImporting', 'setSlotStable'],
  },
  {
    name: 'a master lost its disk (new node id); its replica takes over',
    build: cluster(3, 1, (m) => loseNodesConf(m, 'redis-1', nodeId(0xaa))),
    findings: ['orphan-replica', 'pod-not-in-cluster', 'unknown-node'], actions: ['clusterFailover', 'clusterForget', 'clusterMeet', 'clusterReplicate'],
  },
  {
    name: 'a master without replicas lost its disk; the new node takes its slots',
    build: cluster(3, 0, (m) => loseNodesConf(m, 'redis-2', nodeId(0xab))),
    findings: ['pod-not-in-cluster', 'unknown-node'], actions: ['addSlots', 'clusterForget', 'clusterMeet'],
  },
  {
    name: 'a replica lost its disk',
    build: cluster(3, 1, (m) => loseNodesConf(m, 'redis-4', nodeId(0xac))),
    findings: ['master-without-replica', 'orphan-replica', 'pod-not-in-cluster', 'unknown-node'], actions: ['clusterForget', 'clusterMeet', 'clusterReplicate'],
  },
  {
    name: 'a replica on its master\'s Kubernetes node',
    build: cluster(3, 1, (m) => moveToK8sNode(m, 'redis-3', 'node-0')),
    findings: ['master-replica-same-node'], actions: ['clusterReplicate'],
  },
  {
    name: 'two masters on one Kubernetes node (and a replica with one of them)',
    build: cluster(3, 1, (m) => moveToK8sNode(m, 'redis-2', 'node-0')),
    findings: ['master-replica-same-node', 'masters-same-node'], actions: ['clusterFailover', 'clusterReplicate'],
  },
  { name: 'two masters share a config epoch', build: cluster(3, 1, (m) => collideEpochs(m, 'redis-0', 'redis-1')), findings: ['epoch-collision'], actions: ['bumpEpoch'] },
  {
    name: 'a node sees a stale owner for some slots',
    build: cluster(3, 1, (m) => staleView(m, 'redis-2', 'redis-0', 'redis-1', 10)),
    findings: ['views-disagree'], actions: ['bumpEpoch'],
  },
  {
    name: 'two masters claim slots, keys only on one',
    build: cluster(3, 1, (m) => contest(m, 'redis-0', 'redis-1', 20, { owner: 4 })),
    findings: ['epoch-collision', 'slot-multiple-owners'], actions: ['bumpEpoch', 'delSlots'],
  },
  {
    name: 'two masters claim slots and both hold keys: refused',
    build: cluster(3, 1, (m) => contest(m, 'redis-0', 'redis-1', 20, { owner: 4, rival: 3 })),
    findings: ['epoch-collision', 'slot-multiple-owners'], actions: 'refused',
  },
  {
    name: 'two masters claim slots and both hold keys, --prefer the rival',
    build: cluster(3, 1, (m) => contest(m, 'redis-0', 'redis-1', 20, { owner: 4, rival: 3 })), prefer: 'redis-1',
    findings: ['epoch-collision', 'slot-multiple-owners'], actions: ['bumpEpoch', 'delSlots', 'migrateKeys', 'setSlotImporting', 'setSlotStable'],
  },
  {
    name: 'an empty pod nobody has met, the target already has its masters',
    build: cluster(3, 1, (m) => addStranger(m, 'redis-6', nodeId(0xad))),
    findings: ['orphan-replica', 'pod-not-in-cluster'], actions: ['clusterMeet', 'clusterReplicate'],
  },
  {
    name: 'a pod nobody has met holds keys: left alone',
    build: cluster(3, 1, (m) => {
      addStranger(m, 'redis-6', nodeId(0xae));
      byPod(m, 'redis-6').keys.set(1, 10);
    }),
    findings: ['orphan-replica', 'pod-not-in-cluster'], actions: [],
  },
  {
    name: 'a master does not answer',
    build: cluster(3, 1, (m) => {
      byPod(m, 'redis-0').up = false;
    }),
    findings: ['node-unreachable', 'pod-not-ready'], actions: [],
  },
  {
    name: 'an unknown node while another pod does not answer: not forgotten',
    build: cluster(3, 1, (m) => {
      loseNodesConf(m, 'redis-4', nodeId(0xaf));
      byPod(m, 'redis-5').up = false;
    }),
    findings: ['master-without-replica', 'node-unreachable', 'orphan-replica', 'pod-not-in-cluster', 'pod-not-ready', 'unknown-node'],
    actions: ['clusterMeet', 'clusterReplicate'],
  },
  {
    name: 'a replica of a forgotten-to-be master',
    build: cluster(3, 1, (m) => {
      const ghost = nodeId(0xb0);
      m.ghosts.set(ghost, { master: null, epoch: 0 });
      for (const n of m.nodes) n.knows.set(ghost, '10.9.0.1:6379');
      byPod(m, 'redis-3').master = ghost;
    }),
    findings: ['master-without-replica', 'orphan-replica', 'unknown-node'], actions: ['clusterForget', 'clusterReplicate'],
  },
  {
    name: 'a replica forgotten by every other node (CLUSTER FORGET): each of them MEETs it again',
    build: cluster(3, 1, (m) => forgetNode(m, 'redis-4')),
    findings: ['node-forgotten'], actions: ['clusterMeet'],
  },
  {
    name: 'a master forgotten by every node but its replica: its slots are uncovered in their views; MEET, no epoch bump',
    build: cluster(3, 1, (m) => forgetNode(m, 'redis-1')),
    findings: ['node-forgotten', 'views-disagree'], actions: ['clusterMeet'],
  },
  {
    name: 'a partition kept apart by FORGET: the old master and its promoted replica both claim its slots with keys: refused',
    build: cluster(3, 1, (m) => partitionTakeover(m, 'redis-0', { old: 5, new: 7 })),
    findings: ['master-without-replica', 'masters-same-node', 'pod-not-in-cluster', 'slot-multiple-owners'], actions: 'refused',
  },
  {
    name: 'a partition kept apart by FORGET, --prefer the promoted replica (higher epoch): the sides MEET, the old master becomes its replica',
    build: cluster(3, 1, (m) => partitionTakeover(m, 'redis-0', { old: 5, new: 7 })), prefer: 'redis-3',
    findings: ['master-without-replica', 'masters-same-node', 'pod-not-in-cluster', 'slot-multiple-owners'], actions: ['clusterFailover', 'clusterMeet'],
  },
  {
    name: 'a partition kept apart by FORGET, --prefer the old master (lower epoch): refused, MEET would drop its keys',
    build: cluster(3, 1, (m) => partitionTakeover(m, 'redis-0', { old: 5, new: 7 })), prefer: 'redis-0',
    findings: ['master-without-replica', 'masters-same-node', 'pod-not-in-cluster', 'slot-multiple-owners'], actions: 'refused',
  },
  {
    name: 'a partition kept apart by FORGET, keys only on the promoted replica: no --prefer needed',
    build: cluster(3, 1, (m) => partitionTakeover(m, 'redis-0', { new: 7 })),
    findings: ['master-without-replica', 'masters-same-node', 'pod-not-in-cluster', 'slot-multiple-owners'], actions: ['clusterFailover', 'clusterMeet'],
  },
  {
    // FC_SEED=1635942997: after the TAKEOVER the heir's own view still gave 5 slots to the other master, which
    // never claimed them; ADDSLOTS on it failed ("already busy"), SETSLOT NODE to itself takes them
    name: 'a stale view of a few slots, then their master loses its disk (2x1): the heir takes them with SETSLOT NODE',
    build: cluster(2, 1, (m) => {
      staleView(m, 'redis-2', 'redis-0', 'redis-1', 5);
      settle(m);
      loseNodesConf(m, 'redis-0', nodeId(0xf00));
    }),
    findings: ['orphan-replica', 'pod-not-in-cluster', 'unknown-node', 'views-disagree'], actions: ['clusterFailover', 'clusterForget', 'clusterMeet', 'clusterReplicate'],
  },
  {
    name: 'role label disagrees with the role',
    build: cluster(3, 1, (m) => {
      byPod(m, 'redis-0').label = 'replica';
    }, true),
    findings: ['role-label-mismatch'], actions: ['patchPodLabel'],
  },
  {
    name: '--only open-slot leaves the stale address alone',
    build: cluster(3, 1, (m) => {
      restartOnNewIp(m, 'redis-2');
      openSlot(m, 10, 'migrating', [0, 0]);
    }),
    only: ['open-slot'], findings: ['open-slot', 'stale-ip'], actions: ['setSlotStable'],
  },
  {
    name: 'paused past its until, operator down, PDB too permissive, one pod without PDB',
    build: observed(cluster(3, 1, () => {}), (o) => {
      o.pause = { paused: true, by: 'ann', at: '2026-03-01T08:00:00Z', until: '2026-03-01T09:00:00Z', reason: 'migration', strategy: 'annotation', key: 'k', value: 'true' };
      o.operator = { present: true, running: false, replicas: 0, deployment: 'redis-operator' };
      o.pdbs = [{ name: 'orders-pdb', pods: o.pods.slice(0, 5).map((p) => p.name), maxUnavailable: '50%' }];
    }),
    findings: ['operator-not-running', 'pdb-missing', 'pdb-unsafe', 'reconcile-paused'], actions: [],
  },
  {
    name: 'a pod is terminating',
    build: observed(cluster(3, 1, () => {}), (o) => {
      o.pods[2].deleting = true;
    }),
    findings: ['pod-not-ready'], actions: [],
  },
  {
    name: 'a replica link is down while its master answers',
    build: observed(cluster(3, 1, () => {}), (o) => {
      o.redis[3].replication!.masterLinkStatus = 'down';
    }),
    findings: ['replica-link-down'], actions: [],
  },
  // Sentinel and replication
  { name: 'healthy sentinel group', build: group(2, 3, () => {}, true), findings: [], actions: [] },
  { name: 'healthy replication group', build: group(2, 0, () => {}), findings: [], actions: [] },
  {
    name: 'the master is down and nobody promoted a replica',
    build: group(2, 3, (g) => {
      g.redis[0].up = false;
      g.redis[2].offset = 4900;
    }, true),
    findings: ['no-master', 'node-unreachable', 'pod-not-ready'], actions: ['patchPodLabel', 'replicaOf', 'replicaOfNoOne', 'sentinelMonitor', 'sentinelRemove'],
  },
  {
    name: 'replication group without a master',
    build: group(2, 0, (g) => {
      g.redis[0].up = false;
    }),
    findings: ['no-master', 'node-unreachable', 'pod-not-ready'], actions: ['replicaOf', 'replicaOfNoOne'],
  },
  {
    name: 'a promoted replica took writes, the old master none: it wins',
    build: group(2, 3, (g) => {
      Object.assign(g.redis[1], { masterIp: null, replid2: 'r1', secondOffset: 5001, replid: 'r2', offset: 5100 });
    }),
    findings: ['multiple-masters'], actions: ['replicaOf', 'sentinelMonitor', 'sentinelRemove'],
  },
  {
    name: 'two masters both took writes: refused',
    build: group(2, 3, (g) => {
      Object.assign(g.redis[1], { masterIp: null, replid2: 'r1', secondOffset: 4001, replid: 'r2', offset: 5100 });
    }),
    findings: ['multiple-masters'], actions: 'refused',
  },
  {
    name: 'two masters both took writes, --prefer the old one',
    build: group(2, 3, (g) => {
      Object.assign(g.redis[1], { masterIp: null, replid2: 'r1', secondOffset: 4001, replid: 'r2', offset: 5100 });
    }),
    prefer: 'redis-0', findings: ['multiple-masters'], actions: ['replicaOf'],
  },
  {
    name: 'the old master restarted empty beside the promoted replica',
    build: group(2, 0, (g) => {
      Object.assign(g.redis[0], { replid: 'r9', offset: 0, dbsize: 0 });
      Object.assign(g.redis[1], { masterIp: null, replid2: 'r1', secondOffset: 5001, replid: 'r2', offset: 5100 });
      g.redis[2].masterIp = g.redis[1].ip;
    }),
    findings: ['multiple-masters'], actions: ['replicaOf'],
  },
  {
    name: 'a replica follows an address nobody has',
    build: group(2, 3, (g) => {
      g.redis[2].masterIp = '10.9.9.9';
    }),
    findings: ['replica-wrong-master'], actions: ['replicaOf'],
  },
  {
    name: 'one sentinel names a replica master',
    build: group(2, 3, (g) => {
      sentinel(g, 'sentinel-1').masterIp = g.redis[1].ip;
    }),
    findings: ['sentinel-unknown-master', 'sentinels-disagree'], actions: ['sentinelMonitor', 'sentinelRemove'],
  },
  {
    name: 'a sentinel remembers a replica that is gone',
    build: group(2, 3, (g) => {
      sentinel(g, 'sentinel-0').knownReplicas.push('10.0.1.99:6379');
    }),
    findings: ['sentinel-stale-entries'], actions: ['sentinelReset'],
  },
  {
    name: 'two of three sentinels do not answer',
    build: group(2, 3, (g) => {
      g.sentinels[1].up = false;
      g.sentinels[2].up = false;
    }),
    findings: ['node-unreachable', 'pod-not-ready', 'sentinel-quorum-unreachable'], actions: [],
  },
  {
    name: 'labels not moved after a failover',
    build: group(2, 3, (g) => {
      g.redis[0].label = 'replica';
      g.redis[1].label = 'master';
    }, true),
    findings: ['role-label-mismatch'], actions: ['patchPodLabel'],
  },
];
