// ucloud redis-cluster-operator DistributedRedisCluster (redis.kun/v1alpha1): one StatefulSet per shard,
// drc-<name>-<i>, no role labels, no pause (only scaling the operator down stops it).
import type { ResourceRef } from '../kube/types.js';
import { num } from './common.js';
import type { Target, TargetAdapter } from './types.js';

const RESOURCE: ResourceRef = { group: 'redis.kun', version: 'v1alpha1', plural: 'distributedredisclusters', kind: 'DistributedRedisCluster', namespaced: true };

interface DrcSpec {
  masterSize?: number;
  clusterReplicas?: number;
  passwordSecret?: { name?: string };
}

export const ucloudDrc: TargetAdapter = {
  system: 'ucloud', kind: 'DistributedRedisCluster',
  aliases: ['drc', 'distributedrediscluster', 'distributedredisclusters', 'distributedrediscluster.redis.kun'],
  resource: RESOURCE,
  operatorImages: [/redis-cluster-operator/i],
  async discover(reader, namespace) {
    return (await reader.list(RESOURCE, namespace)).map((o): Target => {
      const spec = (o.spec ?? {}) as DrcSpec;
      const n = o.metadata.name;
      const shards = num(spec.masterSize) ?? 3;
      const sts = Array.from({ length: shards }, (_, i) => `drc-${n}-${i}`);
      return {
        system: 'ucloud', kind: 'DistributedRedisCluster', name: n, namespace: o.metadata.namespace ?? 'default', ref: `drc/${n}`,
        topology: 'cluster', resource: RESOURCE, object: o, statefulSets: sts,
        redisSelector: `redis.kun/name=${n}`, pdbNames: sts,
        passwordSecret: spec.passwordSecret?.name ? { name: spec.passwordSecret.name, key: 'password' } : undefined,
        redisPort: 6379, sentinelPort: 26379,
        expected: { masters: shards, replicasPerMaster: num(spec.clusterReplicas) ?? 1 },
      };
    });
  },
  pauseMechanism: () => ({ type: 'none', why: 'the ucloud redis-cluster-operator has no pause annotation', fallback: 'scale-operator' }),
};
