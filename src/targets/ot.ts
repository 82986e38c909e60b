// OT-CONTAINER-KIT redis-operator: Redis (standalone), RedisCluster, RedisReplication, RedisSentinel
// (redis.redis.opstreelabs.in).
// Pause: `<kind>.opstreelabs.in/skip-reconcile`; v0.15.0–v0.19.0 pause on the key's presence (so "false" pauses too
// and resume must delete it), later versions only on "true" (operators.md, OT PR #1202).
import type { KubeObject, KubeReader, ResourceRef } from '../kube/types.js';
import type { PauseMechanism } from './pause.js';
import { compareVersions, num } from './common.js';
import type { OperatorInfo, Target, TargetAdapter } from './types.js';

const GROUP = 'redis.redis.opstreelabs.in';
const OPERATOR_IMAGES = [/(opstree|ot-container-kit)[^:]*\/redis-operator/i];
const ROLE_LABEL = { key: 'redis-role', master: 'master', replica: 'slave' };

function ref(plural: string, kind: string, version: string): ResourceRef {
  return { group: GROUP, version, plural, kind, namespaced: true };
}

/** v1beta2 since v0.20; older operators serve v1beta1 only. */
async function listBothVersions(reader: KubeReader, plural: string, kind: string, namespace: string | undefined): Promise<KubeObject[]> {
  const v2 = await reader.list(ref(plural, kind, 'v1beta2'), namespace);
  return v2.length > 0 ? v2 : reader.list(ref(plural, kind, 'v1beta1'), namespace);
}

function otPause(key: string): (t: Target, op: OperatorInfo) => PauseMechanism {
  return (_t, op) => {
    const v = op.version;
    if (v && compareVersions(v, '0.15.0') < 0) {
      return { type: 'none', why: `OT redis-operator ${v} has no skip-reconcile annotation (it came in v0.15.0)`, fallback: 'scale-operator' };
    }
    return { type: 'annotation', key, value: 'true', presenceOnly: v !== undefined && compareVersions(v, '0.19.1') < 0 };
  };
}

interface OtSpec {
  clusterSize?: number;
  redisLeader?: { replicas?: number };
  redisFollower?: { replicas?: number };
  kubernetesConfig?: { redisSecret?: { name?: string; key?: string } };
  /** api/common/v1beta2/common_types.go TLSConfig: key names ca, cert, key in the Secret (defaults ca.crt, tls.crt, tls.key) */
  TLS?: { ca?: string; cert?: string; key?: string; secret?: { secretName?: string } };
  redisSentinelConfig?: { redisReplicationName?: string; masterGroupName?: string };
  clusterReplicas?: number;
  /** RedisCluster only (api/rediscluster/v1beta2/rediscluster_types.go: `Port *int`, kubebuilder default 6379) */
  port?: number;
  size?: number;
}

function secretOf(spec: OtSpec): Target['passwordSecret'] {
  const s = spec.kubernetesConfig?.redisSecret;
  return s?.name ? { name: s.name, key: s.key ?? 'password' } : undefined;
}

function tlsOf(spec: OtSpec): Target['tlsSecret'] {
  return spec.TLS?.secret?.secretName ? { name: spec.TLS.secret.secretName, caKey: spec.TLS.ca ?? 'ca.crt', certKey: spec.TLS.cert ?? 'tls.crt', keyKey: spec.TLS.key ?? 'tls.key' } : undefined;
}

function base(o: KubeObject, kind: string, alias: string, plural: string) {
  return {
    system: 'ot' as const, kind, name: o.metadata.name, namespace: o.metadata.namespace ?? 'default', ref: `${alias}/${o.metadata.name}`,
    resource: ref(plural, kind, (o.apiVersion ?? `${GROUP}/v1beta2`).split('/')[1]), object: o, redisPort: 6379, sentinelPort: 26379,
  };
}

/** A standalone Redis (kind Redis, plural `redis`): StatefulSet <n> with one pod, no role label. */
export const otRedis: TargetAdapter = {
  system: 'ot', kind: 'Redis',
  aliases: ['redis', `redis.${GROUP}`],
  resource: ref('redis', 'Redis', 'v1beta2'),
  operatorImages: OPERATOR_IMAGES,
  async discover(reader, namespace) {
    return (await listBothVersions(reader, 'redis', 'Redis', namespace)).map((o): Target => {
      const spec = (o.spec ?? {}) as OtSpec;
      const n = o.metadata.name;
      return {
        ...base(o, 'Redis', 'redis', 'redis'), topology: 'standalone',
        statefulSets: [n], redisSelector: `app=${n},redis_setup_type=standalone`, pdbNames: [],
        passwordSecret: secretOf(spec), tlsSecret: tlsOf(spec), expected: { masters: 1, replicasPerMaster: 0 },
      };
    });
  },
  pauseMechanism: otPause('redis.opstreelabs.in/skip-reconcile'),
};

export const otRedisCluster: TargetAdapter = {
  system: 'ot', kind: 'RedisCluster',
  aliases: ['rediscluster', 'redisclusters', `rediscluster.${GROUP}`, `redisclusters.${GROUP}`],
  resource: ref('redisclusters', 'RedisCluster', 'v1beta2'),
  operatorImages: OPERATOR_IMAGES,
  async discover(reader, namespace) {
    return (await listBothVersions(reader, 'redisclusters', 'RedisCluster', namespace)).map((o): Target => {
      const spec = (o.spec ?? {}) as OtSpec;
      const n = o.metadata.name;
      const masters = num(spec.clusterSize) ?? num(spec.redisLeader?.replicas);
      const followers = num(spec.redisFollower?.replicas) ?? masters;
      return {
        ...base(o, 'RedisCluster', 'rediscluster', 'redisclusters'), topology: 'cluster', redisPort: num(spec.port) ?? 6379,
        statefulSets: [`${n}-leader`, `${n}-follower`],
        redisSelector: `app in (${n}-leader,${n}-follower)`,
        pdbNames: [`${n}-leader`, `${n}-follower`],
        passwordSecret: secretOf(spec), tlsSecret: tlsOf(spec),
        expected: { masters, replicasPerMaster: masters && followers !== undefined ? Math.floor(followers / masters) : undefined },
        roleLabel: ROLE_LABEL,
      };
    });
  },
  pauseMechanism: otPause('rediscluster.opstreelabs.in/skip-reconcile'),
};

export const otRedisReplication: TargetAdapter = {
  system: 'ot', kind: 'RedisReplication',
  aliases: ['redisreplication', 'redisreplications', `redisreplication.${GROUP}`],
  resource: ref('redisreplications', 'RedisReplication', 'v1beta2'),
  operatorImages: OPERATOR_IMAGES,
  async discover(reader, namespace) {
    return (await listBothVersions(reader, 'redisreplications', 'RedisReplication', namespace)).map((o): Target => {
      const spec = (o.spec ?? {}) as OtSpec;
      const n = o.metadata.name;
      const size = num(spec.clusterSize) ?? num(spec.size);
      return {
        ...base(o, 'RedisReplication', 'redisreplication', 'redisreplications'), topology: 'replication',
        statefulSets: [n], redisSelector: `app=${n},redis_setup_type=replication`, pdbNames: [`${n}-replication`],
        passwordSecret: secretOf(spec), tlsSecret: tlsOf(spec),
        expected: { masters: 1, replicasPerMaster: size !== undefined ? size - 1 : undefined }, roleLabel: ROLE_LABEL,
      };
    });
  },
  pauseMechanism: otPause('redisreplication.opstreelabs.in/skip-reconcile'),
};

/** A RedisSentinel watches a RedisReplication: the target is the sentinels plus the replication's Redis pods. */
export const otRedisSentinel: TargetAdapter = {
  system: 'ot', kind: 'RedisSentinel',
  aliases: ['redissentinel', 'redissentinels', `redissentinel.${GROUP}`],
  resource: ref('redissentinels', 'RedisSentinel', 'v1beta2'),
  operatorImages: OPERATOR_IMAGES,
  async discover(reader, namespace) {
    return (await listBothVersions(reader, 'redissentinels', 'RedisSentinel', namespace)).map((o): Target => {
      const spec = (o.spec ?? {}) as OtSpec;
      const n = o.metadata.name;
      const replication = spec.redisSentinelConfig?.redisReplicationName ?? '';
      return {
        ...base(o, 'RedisSentinel', 'redissentinel', 'redissentinels'), topology: 'sentinel',
        statefulSets: [`${n}-sentinel`],
        redisSelector: `app=${replication},redis_setup_type=replication`,
        sentinelSelector: `app=${n}-sentinel`,
        pdbNames: [`${n}-sentinel`],
        passwordSecret: secretOf(spec), tlsSecret: tlsOf(spec),
        sentinelMasterName: spec.redisSentinelConfig?.masterGroupName ?? 'myMaster',
        expected: { masters: 1, sentinels: num(spec.clusterSize) }, roleLabel: ROLE_LABEL,
      };
    });
  },
  pauseMechanism: otPause('redissentinel.opstreelabs.in/skip-reconcile'),
};
