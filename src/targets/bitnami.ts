// Bitnami charts: plain StatefulSets, no controller (nothing to pause). redis-cluster: one STS <fullname>;
// redis with sentinel: STS <fullname>-node with a sentinel container beside Redis and an isMaster label.
// A StatefulSet owned by an operator is never claimed here.
import type { KubeObject } from '../kube/types.js';
import { containerNames, ownedByController, passwordSecretFromEnv, STATEFULSETS } from './common.js';
import type { Target, TargetAdapter } from './types.js';

const label = (o: KubeObject, k: string) => o.metadata.labels?.[k];
const NO_PAUSE = { type: 'none' as const, why: 'a Bitnami chart has no controller', fallback: 'nothing-to-pause' as const };

function selectorOf(sts: KubeObject): string {
  const ml = ((sts.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector?.matchLabels) ?? {};
  return Object.entries(ml).map(([k, v]) => `${k}=${v}`).join(',');
}

function tlsOf(sts: KubeObject): Target['tlsSecret'] {
  const vols = ((sts.spec as { template?: { spec?: { volumes?: Array<{ name: string; secret?: { secretName?: string } }> } } } | undefined)?.template?.spec?.volumes) ?? [];
  const v = vols.find((x) => /tls|cert/.test(x.name) && x.secret?.secretName);
  return v?.secret?.secretName ? { name: v.secret.secretName, caKey: 'ca.crt' } : undefined;
}

export const bitnamiCluster: TargetAdapter = {
  system: 'bitnami', kind: 'StatefulSet',
  aliases: ['sts', 'statefulset', 'statefulsets', 'statefulset.apps'],
  resource: STATEFULSETS,
  operatorImages: [],
  async discover(reader, namespace) {
    return (await reader.list(STATEFULSETS, namespace, { labelSelector: 'app.kubernetes.io/name=redis-cluster' }))
      .filter((s) => !ownedByController(s))
      .map((s): Target => ({
        system: 'bitnami', kind: 'StatefulSet', name: s.metadata.name, namespace: s.metadata.namespace ?? 'default', ref: `sts/${s.metadata.name}`,
        topology: 'cluster', resource: STATEFULSETS, object: s, statefulSets: [s.metadata.name],
        redisSelector: selectorOf(s), pdbNames: [s.metadata.name],
        passwordSecret: passwordSecretFromEnv(s, ['REDIS_PASSWORD']) ?? { name: s.metadata.name, key: 'redis-password' },
        tlsSecret: tlsOf(s), redisPort: 6379, sentinelPort: 26379, expected: {},
      }));
  },
  pauseMechanism: () => NO_PAUSE,
};

export const bitnamiSentinel: TargetAdapter = {
  system: 'bitnami', kind: 'StatefulSet',
  aliases: ['sts', 'statefulset', 'statefulsets', 'statefulset.apps'],
  resource: STATEFULSETS,
  operatorImages: [],
  async discover(reader, namespace) {
    return (await reader.list(STATEFULSETS, namespace, { labelSelector: 'app.kubernetes.io/name=redis' }))
      .filter((s) => !ownedByController(s) && containerNames(s).includes('sentinel') && label(s, 'app.kubernetes.io/component') === 'node')
      .map((s): Target => ({
        system: 'bitnami', kind: 'StatefulSet', name: s.metadata.name, namespace: s.metadata.namespace ?? 'default', ref: `sts/${s.metadata.name}`,
        topology: 'sentinel', resource: STATEFULSETS, object: s, statefulSets: [s.metadata.name],
        redisSelector: selectorOf(s), sentinelInRedisPods: true, pdbNames: [s.metadata.name.replace(/-node$/, '')],
        passwordSecret: passwordSecretFromEnv(s, ['REDIS_PASSWORD']) ?? { name: s.metadata.name.replace(/-node$/, ''), key: 'redis-password' },
        tlsSecret: tlsOf(s), redisPort: 6379, sentinelPort: 26379, sentinelMasterName: 'mymaster',
        expected: { masters: 1, sentinels: Number((s.spec as { replicas?: number } | undefined)?.replicas ?? 3) },
        roleLabel: { key: 'isMaster', master: 'true', replica: 'false' },
      }));
  },
  pauseMechanism: () => NO_PAUSE,
};
