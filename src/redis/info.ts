// INFO and CLUSTER INFO text -> typed records. Pure. Unknown lines and fields are ignored; text that lacks the
// one field a parser cannot do without (role, cluster_state) is an Error naming it.
import type { ReplicationInfo } from './types.js';

/** Section name (lower case, `replication`) -> field -> value. Fields before any `# Section` header go under ''. */
export type InfoSections = Record<string, Record<string, string>>;

export function parseInfo(text: string): InfoSections {
  const sections: InfoSections = {};
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      current = line.slice(1).trim().toLowerCase();
      sections[current] ??= {};
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || line.startsWith('__proto__:')) continue;
    (sections[current] ??= {})[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return sections;
}

/** All fields of every section in one map (INFO sections never share a field name). */
export function infoFields(text: string | InfoSections): Record<string, string> {
  const sections = typeof text === 'string' ? parseInfo(text) : text;
  return Object.assign({}, ...Object.values(sections)) as Record<string, string>;
}

/** `ip=10.0.0.5,port=6379,state=online` -> { ip: '10.0.0.5', ... } */
export function parseInfoValueList(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && !pair.startsWith('__proto__=')) out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function int(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?\d+$/.test(value.trim())) return undefined;
  return Number(value);
}

export function parseReplicationInfo(text: string | InfoSections): ReplicationInfo {
  const f = infoFields(text);
  const roleText = f.role;
  if (roleText !== 'master' && roleText !== 'slave' && roleText !== 'replica') {
    throw new Error(`not INFO replication output: role is ${roleText === undefined ? 'missing' : `"${roleText}"`}`);
  }
  const info: ReplicationInfo = {
    role: roleText === 'master' ? 'master' : 'replica',
    connectedReplicas: [],
    masterReplid: f.master_replid ?? '',
    masterReplOffset: int(f.master_repl_offset) ?? 0,
  };
  // a replid2 of forty zeros and offset -1 mean "no previous history"
  if (f.master_replid2 && !/^0+$/.test(f.master_replid2)) {
    info.masterReplid2 = f.master_replid2;
    info.secondReplOffset = int(f.second_repl_offset);
  }
  if (info.role === 'replica') {
    info.masterHost = f.master_host;
    info.masterPort = int(f.master_port);
    if (f.master_link_status === 'up' || f.master_link_status === 'down') info.masterLinkStatus = f.master_link_status;
    info.masterLastIoSecondsAgo = int(f.master_last_io_seconds_ago);
    if (f.master_sync_in_progress !== undefined) info.masterSyncInProgress = f.master_sync_in_progress === '1';
    info.slaveReplOffset = int(f.slave_repl_offset);
    info.masterLinkDownSinceSeconds = int(f.master_link_down_since_seconds);
    info.replicaPriority = int(f.replica_priority ?? f.slave_priority);
  }
  // slave0, slave1, ... in index order (a master lists replicas of any role it has, cascading ones included).
  const replicaKeys = Object.keys(f)
    .filter((k) => /^slave\d+$/.test(k))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  for (const key of replicaKeys) {
    const v = parseInfoValueList(f[key]);
    const port = int(v.port);
    if (v.ip === undefined || port === undefined) continue;
    info.connectedReplicas.push({ ip: v.ip, port, state: v.state ?? '', offset: int(v.offset) ?? 0, lag: int(v.lag) ?? 0 });
  }
  for (const k of Object.keys(info) as Array<keyof ReplicationInfo>) if (info[k] === undefined) delete info[k];
  return info;
}

export interface ClusterInfo {
  state: 'ok' | 'fail';
  slotsAssigned: number;
  slotsOk: number;
  slotsPfail: number;
  slotsFail: number;
  knownNodes: number;
  /** Masters that serve at least one slot. */
  size: number;
  currentEpoch: number;
  myEpoch: number;
}

export function parseClusterInfo(text: string): ClusterInfo {
  const f = infoFields(text);
  const state = f.cluster_state;
  if (state !== 'ok' && state !== 'fail') {
    throw new Error(`not CLUSTER INFO output: cluster_state is ${state === undefined ? 'missing' : `"${state}"`}`);
  }
  return {
    state,
    slotsAssigned: int(f.cluster_slots_assigned) ?? 0,
    slotsOk: int(f.cluster_slots_ok) ?? 0,
    slotsPfail: int(f.cluster_slots_pfail) ?? 0,
    slotsFail: int(f.cluster_slots_fail) ?? 0,
    knownNodes: int(f.cluster_known_nodes) ?? 0,
    size: int(f.cluster_size) ?? 0,
    currentEpoch: int(f.cluster_current_epoch) ?? 0,
    myEpoch: int(f.cluster_my_epoch) ?? 0,
  };
}

export interface MemoryInfo {
  usedMemory: number;
  usedMemoryHuman: string;
  /** 0 means no limit. */
  maxmemory?: number;
  maxmemoryPolicy?: string;
  /** used_memory_dataset: used_memory without the server's own overhead (what keys take) */
  usedMemoryDataset?: number;
}

export function parseMemoryInfo(text: string | InfoSections): MemoryInfo {
  const f = infoFields(text);
  const usedMemory = int(f.used_memory);
  if (usedMemory === undefined) throw new Error('not INFO memory output: used_memory is missing');
  const memory: MemoryInfo = { usedMemory, usedMemoryHuman: f.used_memory_human ?? `${usedMemory}B` };
  const max = int(f.maxmemory);
  if (max !== undefined) memory.maxmemory = max;
  if (f.maxmemory_policy !== undefined) memory.maxmemoryPolicy = f.maxmemory_policy;
  const dataset = int(f.used_memory_dataset);
  if (dataset !== undefined) memory.usedMemoryDataset = dataset;
  return memory;
}

export interface KeyspaceDb {
  db: number;
  keys: number;
  expires: number;
  avgTtl: number;
}

/** `db0:keys=1,expires=0,avg_ttl=0` lines, sorted by db number. An empty keyspace is []. */
export function parseKeyspace(text: string | InfoSections): KeyspaceDb[] {
  const f = infoFields(text);
  const dbs: KeyspaceDb[] = [];
  for (const [key, value] of Object.entries(f)) {
    const m = /^db(\d+)$/.exec(key);
    if (!m) continue;
    const v = parseInfoValueList(value);
    dbs.push({ db: Number(m[1]), keys: int(v.keys) ?? 0, expires: int(v.expires) ?? 0, avgTtl: int(v.avg_ttl) ?? 0 });
  }
  return dbs.sort((a, b) => a.db - b.db);
}

/** Total keys over every db. */
export function totalKeys(text: string | InfoSections): number {
  return parseKeyspace(text).reduce((n, db) => n + db.keys, 0);
}
