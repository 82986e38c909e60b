// spotahome redis-operator RedisFailover (databases.spotahome.com/v1), and the freshworks fork, which runs the same
// CRD. Upstream has no pause (issue #704 / PR #696 closed unmerged): fall back to scaling the operator down.
// The fork >= v3.3.2 skips reconcile on `redis-failover.freshworks.com/skip-reconcile: "true"` exactly.
import type { ResourceRef } from '../kube/types.js';
import { compareVersions, num } from './common.js';
import type { Target, TargetAdapter } from './types.js';

export const FRESHWORKS_IMAGES = [/freshworks[^:]*\/redis-operator/i];
const UPSTREAM_IMAGES = [/spotahome\/redis-operator/i];
const RESOURCE: ResourceRef = { group: 'databases.spotahome.com', version: 'v1', plural: 'redisfailovers', kind: 'RedisFailover', namespaced: true };

interface RfSpec {
  redis?: { replicas?: number; port?: number };
  sentinel?: { replicas?: number };
  auth?: { secretPath?: string };
}

export const spotahomeFailover: TargetAdapter = {
  system: 'spotahome', kind: 'RedisFailover',
  aliases: ['rf', 'redisfailover', 'redisfailovers', 'redisfailover.databases.spotahome.com'],
  resource: RESOURCE,
  // Both operators reconcile this CRD; the fork is tried first because its image name also says redis-operator.
  operatorImages: [...FRESHWORKS_IMAGES, ...UPSTREAM_IMAGES],
  async discover(reader, namespace) {
    return (await reader.list(RESOURCE, namespace)).map((o): Target => {
      const spec = (o.spec ?? {}) as RfSpec;
      const n = o.metadata.name;
      return {
        system: 'spotahome', kind: 'RedisFailover', name: n, namespace: o.metadata.namespace ?? 'default', ref: `rf/${n}`,
        topology: 'sentinel', resource: RESOURCE, object: o,
        statefulSets: [`rfr-${n}`],
        redisSelector: `app.kubernetes.io/name=${n},app.kubernetes.io/component=redis,app.kubernetes.io/part-of=redis-failover`,
        sentinelSelector: `app.kubernetes.io/name=${n},app.kubernetes.io/component=sentinel,app.kubernetes.io/part-of=redis-failover`,
        pdbNames: [`rfr-${n}`, `rfs-${n}`],
        passwordSecret: spec.auth?.secretPath ? { name: spec.auth.secretPath, key: 'password' } : undefined,
        redisPort: num(spec.redis?.port) ?? 6379, sentinelPort: 26379, sentinelMasterName: 'mymaster',
        expected: { masters: 1, replicasPerMaster: (num(spec.redis?.replicas) ?? 3) - 1, sentinels: num(spec.sentinel?.replicas) ?? 3 },
        roleLabel: { key: 'redisfailovers-role', master: 'master', replica: 'slave' },
      };
    });
  },
  pauseMechanism(_t, op) {
    const fork = op.image !== undefined && FRESHWORKS_IMAGES.some((re) => re.test(op.image ?? ''));
    if (fork && (op.version === undefined || compareVersions(op.version, '3.3.2') >= 0)) {
      return { type: 'annotation', key: 'redis-failover.freshworks.com/skip-reconcile', value: 'true', presenceOnly: false };
    }
    const why = fork
      ? `the freshworks redis-operator ${op.version} has no skip-reconcile annotation (it came in v3.3.2)`
      : 'the spotahome redis-operator has no pause annotation (skip-reconcile was proposed in #704 and never merged)';
    return { type: 'none', why, fallback: 'scale-operator' };
  },
};
