// Parsed shapes of what Redis says about itself. Produced by the parsers in src/redis, consumed by src/reconcile.
// Pure data: no ioredis types leak past src/redis.

/** One line of CLUSTER NODES, as one node sees another (or itself, `myself`). */
export interface ClusterNodeEntry {
  id: string;
  /** '' when the node has no address yet (`:0`, `noaddr`). */
  ip: string;
  port: number;
  busPort: number;
  /** Redis 7 `ip:port@bus,hostname`; undefined when absent or empty. */
  hostname?: string;
  flags: string[];
  myself: boolean;
  role: 'master' | 'replica' | 'unknown';
  /** The id of the master this node replicates; null for masters (`-`). */
  masterId: string | null;
  pingSent: number;
  pongRecv: number;
  configEpoch: number;
  linkState: 'connected' | 'disconnected';
  /** Served slot ranges, inclusive on both ends, sorted. */
  slots: Array<[number, number]>;
  /** `[slot->-nodeid]`: this node is moving `slot` to node `to`. */
  migrating: Array<{ slot: number; to: string }>;
  /** `[slot-<-nodeid]`: this node is receiving `slot` from node `from`. */
  importing: Array<{ slot: number; from: string }>;
  /** `fail` flag: the cluster agreed the node is down. */
  failed: boolean;
  /** `fail?` flag: this observer alone suspects it. */
  pfail: boolean;
  handshake: boolean;
  noaddr: boolean;
}

/** INFO replication, the fields the reconcile library uses. */
export interface ReplicationInfo {
  role: 'master' | 'replica';
  /** replica only */
  masterHost?: string;
  masterPort?: number;
  masterLinkStatus?: 'up' | 'down';
  masterLastIoSecondsAgo?: number;
  masterSyncInProgress?: boolean;
  slaveReplOffset?: number;
  /** replica only: seconds since the link went down (-1 when it never came up). */
  masterLinkDownSinceSeconds?: number;
  /** replica only: replica-priority; 0 means Sentinel/failover never promotes it. */
  replicaPriority?: number;
  /** master only: its connected replicas */
  connectedReplicas: Array<{ ip: string; port: number; state: string; offset: number; lag: number }>;
  masterReplid: string;
  masterReplOffset: number;
  /** master_replid2 / second_repl_offset: the history a promoted replica came from (absent: none). */
  masterReplid2?: string;
  secondReplOffset?: number;
}

/** One entry of SENTINEL MASTERS / SENTINEL REPLICAS / SENTINEL SENTINELS: the flat field map Redis returns. */
export type SentinelRecord = Record<string, string>;

/** Parsed reply of ROLE. */
export type RoleReply =
  | { role: 'master'; offset: number; replicas: Array<{ ip: string; port: number; offset: number }> }
  | { role: 'replica'; masterIp: string; masterPort: number; state: string; offset: number }
  | { role: 'sentinel'; masters: string[] };

/** A local address that reaches a pod's port (a port-forward, or the pod IP itself with --direct). */
export interface LocalEndpoint {
  host: string;
  port: number;
  close(): Promise<void>;
  /** Through a port-forward: how many connections the far side failed so far, and the last reason it gave
   * (the local socket always connects, so only this tells "nothing listens in the pod" from "Redis hung up"). */
  readonly forwardFailures?: { count: number; last?: string };
}

/** Opens a way to a pod's port. src/kube/portforward.ts implements it over the API server; direct mode uses the pod IP. */
export interface PodDialer {
  /**
   * `podIp`: the pod's IP as the caller just read it from the pod list (observe has every pod's), so a direct dial
   * need not GET the pod again; a port-forward does not need it.
   */
  open(namespace: string, pod: string, port: number, podIp?: string): Promise<LocalEndpoint>;
  /** Closes every endpoint it opened. */
  closeAll(): Promise<void>;
}
