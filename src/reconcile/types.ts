// The data the reconcile library decides on: what was observed, what is wrong with it, and what to do about it.
// Everything here is plain JSON (fixtures are JSON files) so diagnose and plan stay pure and testable without a cluster.
import type { ClusterNodeEntry, ReplicationInfo } from '../redis/types.js';
import type { PauseFact } from '../targets/pause.js';
import type { SystemName, Topology } from '../targets/types.js';

export interface TargetFact {
  /** e.g. 'RedisCluster', 'RedisFailover', 'StatefulSet' */
  kind: string;
  name: string;
  namespace: string;
  system: SystemName;
  topology: Topology;
  expected?: { masters?: number; replicasPerMaster?: number; sentinels?: number };
  /** The target as the user names it on the command line, e.g. `rediscluster/orders`; used in suggested fixes. */
  ref?: string;
}

/** The role label the operator keeps on a pod, with the values it uses, so plan never needs to know the operator. */
export interface RoleLabelFact {
  key: string;
  value: string;
  masterValue: string;
  replicaValue: string;
}

export interface PodFact {
  name: string;
  ip: string;
  nodeName: string;
  ready: boolean;
  phase: string;
  deleting: boolean;
  component: 'redis' | 'sentinel';
  roleLabel?: RoleLabelFact;
  /** ucloud / OT: which shard (StatefulSet) the pod belongs to */
  shard?: string;
  ordinal?: number;
}

export interface ClusterInfoFact {
  state: 'ok' | 'fail';
  slotsAssigned: number;
  knownNodes: number;
  currentEpoch: number;
  myEpoch: number;
}

export interface RedisNodeFact {
  pod: string;
  /** ip:port */
  address: string;
  reachable: boolean;
  error?: string;
  /** the node's own CLUSTER NODES view */
  clusterNodes?: ClusterNodeEntry[];
  clusterInfo?: ClusterInfoFact;
  replication?: ReplicationInfo;
  /** INFO replication master_replid2 / second_repl_offset: the history a promoted replica came from. */
  replid2?: string;
  secondReplOffset?: number;
  /** COUNTKEYSINSLOT for the slots that matter (open, uncovered, contested); absent slots count 0. */
  keysBySlot?: Record<number, number>;
  dbsize?: number;
  /** INFO memory used_memory, bytes */
  usedMemory?: number;
  /** INFO memory maxmemory, bytes (0: no limit) */
  maxMemory?: number;
  /** INFO memory used_memory_dataset, bytes: what the keys take, without the server's overhead */
  datasetMemory?: number;
}

export interface SentinelMasterFact {
  ip: string;
  port: number;
  flags: string[];
  numSlaves: number;
  numOtherSentinels: number;
  quorum: number;
}

export interface SentinelFact {
  pod: string;
  reachable: boolean;
  error?: string;
  masterName: string;
  master?: SentinelMasterFact;
  /** ip:port of every replica it knows */
  knownReplicas: string[];
  /** ip:port of every other sentinel it knows */
  knownSentinels: string[];
}

export interface OperatorFact {
  present: boolean;
  running: boolean;
  replicas?: number;
  version?: string;
  deployment?: string;
}

export interface PdbFact {
  name: string;
  /** the pods its selector matches */
  pods: string[];
  maxUnavailable?: number | string;
  minAvailable?: number | string;
  disruptionsAllowed?: number;
}

export interface Observed {
  target: TargetFact;
  observedAt: string;
  pods: PodFact[];
  redis: RedisNodeFact[];
  sentinels: SentinelFact[];
  pause: PauseFact;
  operator: OperatorFact;
  pdbs: PdbFact[];
}

export const FINDING_KINDS = [
  // Redis Cluster
  'node-unreachable',
  'node-failed',
  'stale-ip',
  'unknown-node',
  'pod-not-in-cluster',
  'node-forgotten',
  'slots-uncovered',
  'open-slot',
  'slot-multiple-owners',
  'views-disagree',
  'epoch-collision',
  'orphan-replica',
  'master-without-replica',
  'master-replica-same-node',
  'masters-same-node',
  // Sentinel / replication
  'no-master',
  'multiple-masters',
  'sentinels-disagree',
  'sentinel-unknown-master',
  'sentinel-stale-entries',
  'sentinel-quorum-unreachable',
  'replica-link-down',
  'replica-wrong-master',
  // Everywhere
  'role-label-mismatch',
  'pod-not-ready',
  'pdb-missing',
  'pdb-unsafe',
  'reconcile-paused',
  'operator-not-running',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** Findings about Kubernetes objects and the operator, not Redis topology: heal never makes them go away. */
export const NON_TOPOLOGY_KINDS: readonly FindingKind[] = [
  'reconcile-paused',
  'operator-not-running',
  'pdb-missing',
  'pdb-unsafe',
  'pod-not-ready',
];

export type Severity = 'critical' | 'warning' | 'info';

export interface Finding {
  kind: FindingKind;
  severity: Severity;
  /** pods involved */
  pods: string[];
  /** Kubernetes nodes involved */
  nodes: string[];
  /** Redis Cluster node ids involved */
  nodeIds: string[];
  /** other objects (PDBs, Deployments), as kind/name */
  objects: string[];
  /** slot ranges involved, inclusive */
  slots?: Array<[number, number]>;
  /** one human sentence */
  message: string;
  /** which node said what */
  evidence: string[];
  /** a command that fixes it */
  fix?: string;
}

/** What an action needs before it runs and waits for after: data that apply checks against a fresh observation. */
export type Condition =
  | { type: 'role'; pod: string; equals: 'master' | 'replica' }
  | { type: 'replicaOf'; pod: string; masterId: string }
  | { type: 'replicaOfAddress'; pod: string; host: string; port: number }
  | { type: 'slotOwner'; slot: number; nodeId: string; observerPod?: string }
  | { type: 'slotsOwned'; pod: string; ranges: Array<[number, number]> }
  | { type: 'slotUnassigned'; pod: string; slot: number }
  | { type: 'slotStable'; pod: string; slot: number }
  /** every slot of the ranges is stable (neither migrating nor importing) on the pod */
  | { type: 'slotsStable'; pod: string; ranges: Array<[number, number]> }
  /** as the observer sees it, every slot of the ranges is owned by one of the nodes */
  | { type: 'slotsOwnedBy'; observerPod: string; ranges: Array<[number, number]>; nodeIds: string[] }
  /** the pod's used memory plus `bytes` stays within `percent` of its maxmemory (always true without maxmemory) */
  | { type: 'memoryRoom'; pod: string; bytes: number; percent: number }
  | { type: 'slotState'; pod: string; slot: number; state: 'migrating' | 'importing'; peerId: string }
  | { type: 'keysInSlot'; pod: string; slot: number; min?: number; max?: number }
  | { type: 'nodeKnown'; observerPod: string; nodeId: string; address: string }
  | { type: 'nodeNotKnown'; observerPod: string; nodeId: string }
  | { type: 'uniqueConfigEpoch'; pod: string }
  | { type: 'reachable'; pod: string }
  /** CLUSTER INFO cluster_state:ok on the pod (a node that just joined serves nothing until it is) */
  | { type: 'clusterOk'; pod: string }
  | { type: 'sentinelMaster'; pod: string; masterName: string; address: string }
  | { type: 'sentinelKnowsOnly'; pod: string; addresses: string[] }
  | { type: 'podLabel'; pod: string; key: string; value: string }
  | { type: 'podGone'; pod: string }
  | { type: 'annotation'; object: string; key: string; value: string | null }
  | { type: 'deploymentReplicas'; name: string; replicas: number }
  /** the replica's link to `masterPod` is up and it is at most `maxLagBytes` behind it */
  | { type: 'inSync'; pod: string; masterPod: string; maxLagBytes: number }
  /** the replica replicates `masterPod` (by IP or by the hostname it announces) with the link up */
  | { type: 'replicaOfPod'; pod: string; masterPod: string }
  /** every reachable cluster node sees node `nodeId` as master, or as a replica of `masterId` */
  | { type: 'clusterRoleAgreed'; nodeId: string; role: 'master' | 'replica'; masterId?: string }
  /** sentinel `pod` names `masterPod` (by IP or hostname) as the master */
  | { type: 'sentinelMasterPod'; pod: string; masterPod: string }
  /** the pod's Redis has this cluster node id (a restarted pod kept its nodes.conf) */
  | { type: 'nodeId'; pod: string; id: string };

interface ActionBase {
  /** stable within one plan: `<seq>-<kind>` */
  id: string;
  /** where it runs (for a grouped FORGET: the first of `pods`) */
  pod: string;
  description: string;
  /** the finding it fixes, or planned maintenance (failover, restart) */
  why: FindingKind | 'maintenance';
  precondition: Condition[];
  postcondition: Condition[];
  risk: 'safe' | 'data-loss';
}

export type ClusterAction =
  | (ActionBase & { kind: 'clusterMeet'; ip: string; port: number; busPort: number })
  /** FORGET on every pod in `pods` back to back, inside the 60 s ban window, or gossip brings the node back. */
  | (ActionBase & { kind: 'clusterForget'; pods: string[]; nodeId: string })
  | (ActionBase & { kind: 'setSlotStable'; slot: number })
  | (ActionBase & { kind: 'setSlotNode'; slot: number; nodeId: string })
  | (ActionBase & { kind: 'setSlotMigrating'; slot: number; nodeId: string })
  | (ActionBase & { kind: 'setSlotImporting'; slot: number; nodeId: string })
  | (ActionBase & { kind: 'delSlots'; ranges: Array<[number, number]> })
  | (ActionBase & { kind: 'addSlots'; ranges: Array<[number, number]> })
  /** MIGRATE every key of `slot` from `pod` to the node `toNodeId` at `toAddress` */
  | (ActionBase & { kind: 'migrateKeys'; slot: number; toNodeId: string; toPod: string; toAddress: string })
  /**
   * Move slots from `pod` (the master owning them) to `toPod`, as redis-cli's clusterManagerMoveSlot: SETSLOT
   * IMPORTING on the receiver, MIGRATING on the source, MIGRATE the keys `pipeline` at a time, SETSLOT NODE on the
   * receiver, the source, then every other master of `masters`. Re-running it finishes a move it left half-done.
   */
  | (ActionBase & { kind: 'moveSlots'; slots: number[]; fromNodeId: string; toPod: string; toNodeId: string; toAddress: string; masters: string[]; pipeline: number })
  | (ActionBase & { kind: 'clusterReplicate'; masterId: string })
  | (ActionBase & { kind: 'clusterFailover'; mode: 'default' | 'force' | 'takeover' })
  | (ActionBase & { kind: 'bumpEpoch' });

export type SentinelAction =
  | (ActionBase & { kind: 'sentinelReset'; pattern: string })
  | (ActionBase & { kind: 'sentinelFailover'; masterName: string })
  | (ActionBase & { kind: 'sentinelRemove'; masterName: string })
  | (ActionBase & { kind: 'sentinelMonitor'; masterName: string; ip: string; port: number; quorum: number })
  | (ActionBase & { kind: 'replicaOf'; host: string; port: number })
  | (ActionBase & { kind: 'replicaOfNoOne' });

export type KubeAction =
  | (ActionBase & { kind: 'patchPodLabel'; key: string; value: string })
  | (ActionBase & { kind: 'deletePod' })
  | (ActionBase & { kind: 'patchAnnotation'; object: string; key: string; value: string | null })
  | (ActionBase & { kind: 'scaleDeployment'; name: string; replicas: number });

/**
 * A coordinated failover from `fromPod` to the replica `pod` (reconcile/failover.ts plans and executes it):
 * cluster: CLUSTER FAILOVER on the replica; sentinel: SENTINEL FAILOVER with the other replicas' replica-priority
 * set to 0 while it runs (restored after); replication without Sentinel: writes paused on the master, the replica
 * promoted once caught up, the others (old master included) re-pointed. Role labels follow in every case.
 */
export type FailoverAction = ActionBase & {
  kind: 'failover';
  method: 'cluster' | 'sentinel' | 'replication';
  fromPod: string;
  mode: 'default' | 'force' | 'takeover';
  /** ip and port other pods re-point to (replication) */
  toHost: string;
  toPort: number;
  /** sentinel: the master name and the sentinel asked */
  masterName?: string;
  sentinelPod?: string;
  /** sentinel: the other replicas and their replica-priority, set to 0 while steering and restored after */
  steer?: Array<{ pod: string; priority: number }>;
  /** replication: the pods re-pointed at the new master (the old master included) */
  repoint?: string[];
  /** the role label to move, when the operator or chart keeps one (its master Service selects on it) */
  label?: { key: string; masterValue: string; replicaValue: string };
};

export type Action = ClusterAction | SentinelAction | KubeAction | FailoverAction;
export type ActionKind = Action['kind'];

/** An action before plan numbers it. */
export type DraftAction = Action extends infer A ? (A extends Action ? Omit<A, 'id'> : never) : never;

export type Intent =
  | { kind: 'heal'; only?: FindingKind[]; prefer?: string }
  /** annotations the target adapter says pause (or resume) the operator; value null deletes the key */
  | { kind: 'pause' | 'resume'; object: string; annotations: Record<string, string | null> };

export interface RefusalCandidate {
  pod: string;
  address: string;
  replid: string;
  offset: number;
  dbsize?: number;
}

/** A finding heal leaves alone, and why (it clears by itself, needs a human, or lies outside Redis). */
export interface Unfixed {
  kind: FindingKind;
  pods: string[];
  reason: string;
}

export type PlanResult =
  | { outcome: 'actions'; actions: Action[]; unfixed?: Unfixed[] }
  | { outcome: 'refused'; message: string; candidates: RefusalCandidate[] };

/** Where a long operation (drain-reboot, migrate) tells its progress: numbered steps, notes and warnings on stderr. */
export interface Reporter {
  step(index: number, total: number, title: string): void;
  info(message: string): void;
  warn(message: string): void;
}

/**
 * One row of a plan as the dry run and the confirmation list it: heal (numbered, per pod, with why and risk),
 * drain-reboot (per Kubernetes node) and migrate (numbered, with the journal's state of each step).
 */
export interface PlanRow {
  n?: number;
  /** the Kubernetes node a drain-reboot step acts on */
  node?: string;
  /** the pod a heal step acts on */
  pod?: string;
  step: string;
  state?: 'done' | 'to do' | 'in progress';
  action: string;
  why?: string;
  risk?: string;
}
