// A target: one Redis deployment as an operator or chart made it. Plain data that the rest of the product reads;
// only src/targets knows how an operator names, labels and pauses things.
import type { KubeObject, KubeReader, ResourceRef } from '../kube/types.js';
import type { PauseMechanism } from './pause.js';

export type SystemName = 'ot' | 'spotahome' | 'freshworks' | 'ucloud' | 'bitnami' | 'kubedb';
export type Topology = 'cluster' | 'sentinel' | 'replication' | 'standalone';

export interface Target {
  system: SystemName;
  /** Kind as the API names it: RedisCluster, RedisFailover, DistributedRedisCluster, StatefulSet... */
  kind: string;
  name: string;
  namespace: string;
  /** How a user names it on the command line: `rediscluster/orders`. */
  ref: string;
  /** Other names that resolve to it after the same kind (Bitnami replication: `sts/<fullname>-replicas`). */
  otherNames?: string[];
  topology: Topology;
  resource: ResourceRef;
  object: KubeObject;
  statefulSets: string[];
  redisSelector: string;
  sentinelSelector?: string;
  /** Bitnami sentinel: a sentinel container in every Redis pod. */
  sentinelInRedisPods?: boolean;
  pdbNames: string[];
  passwordSecret?: { name: string; key: string };
  /** The sentinels' own password (Bitnami auth.sentinel: the sentinel container's REDIS_PASSWORD); none: no password. */
  sentinelPasswordSecret?: { name: string; key: string };
  /** the Secret with the CA and, where the deployment has one, the certificate and key its clients present */
  tlsSecret?: { name: string; caKey: string; certKey?: string; keyKey?: string };
  redisPort: number;
  sentinelPort: number;
  sentinelMasterName?: string;
  expected: { masters?: number; replicasPerMaster?: number; sentinels?: number };
  roleLabel?: { key: string; master: string; replica: string };
}

export interface OperatorInfo {
  present: boolean;
  running: boolean;
  /** namespace/name of its Deployment */
  deployment?: string;
  replicas?: number;
  readyReplicas?: number;
  image?: string;
  version?: string;
  /** for RedisFailover: which operator actually runs (upstream spotahome or the freshworks fork) */
  system?: SystemName;
}

export interface TargetAdapter {
  system: SystemName;
  kind: string;
  /** what a user may type before the slash: `rediscluster`, `redisclusters`, `rediscluster.redis.redis.opstreelabs.in` */
  aliases: string[];
  resource: ResourceRef;
  /** instances in one namespace, or all (undefined); a CRD that is not installed yields []. */
  discover(reader: KubeReader, namespace: string | undefined): Promise<Target[]>;
  /** how its operator (at this version) pauses reconciliation */
  pauseMechanism(target: Target, operator: OperatorInfo): PauseMechanism;
  /** image names of its operator, to find the operator Deployment; empty = no operator */
  operatorImages: RegExp[];
}
