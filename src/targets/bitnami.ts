// Bitnami charts: plain StatefulSets, no controller (nothing to pause). redis-cluster: one STS <fullname>;
// redis with sentinel: STS <fullname>-node with a sentinel container beside Redis and an isMaster label;
// redis with architecture=replication: STS <fullname>-master and <fullname>-replicas, one target named after the
// master's StatefulSet that `sts/<fullname>-replicas` and the release name also resolve to (standalone: the
// master's StatefulSet alone).
// A StatefulSet owned by an operator is never claimed here.
import type { KubeObject } from '../kube/types.js';
import { containerNames, declaredPort, envValue, num, ownedByController, passwordSecretFromEnv, STATEFULSETS } from './common.js';
import type { Target, TargetAdapter } from './types.js';

const label = (o: KubeObject, k: string) => o.metadata.labels?.[k];
const NO_PAUSE = { type: 'none' as const, why: 'a Bitnami chart has no controller', fallback: 'nothing-to-pause' as const };

function selectorOf(sts: KubeObject): string {
  const ml = ((sts.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector?.matchLabels) ?? {};
  return Object.entries(ml).map(([k, v]) => `${k}=${v}`).join(',');
}

// Ports as the charts declare them (bitnami/charts, redis-cluster templates/redis-statefulset.yaml: port `tcp-redis`
// from redis.containerPorts.redis, env REDIS_PORT_NUMBER; redis templates/{master,replicas,sentinel}/statefulset.yaml:
// port `redis` from *.containerPorts.redis with env REDIS_PORT or REDIS_TLS_PORT, sentinel port `redis-sentinel`
// from sentinel.containerPorts.sentinel with env REDIS_SENTINEL_PORT or REDIS_SENTINEL_TLS_PORT_NUMBER). 6379 and
// 26379 only when the StatefulSet declares none: what Redis and Sentinel listen on when nothing says otherwise.
const clusterPort = (s: KubeObject) => declaredPort(s, ['tcp-redis', 'redis'], ['REDIS_PORT_NUMBER', 'REDIS_TLS_PORT_NUMBER']) ?? 6379;
const redisPort = (s: KubeObject) => declaredPort(s, ['redis', 'tcp-redis'], ['REDIS_PORT', 'REDIS_TLS_PORT', 'REDIS_PORT_NUMBER']) ?? 6379;
const sentinelPort = (s: KubeObject) => declaredPort(s, ['redis-sentinel', 'sentinel'], ['REDIS_SENTINEL_PORT', 'REDIS_SENTINEL_TLS_PORT_NUMBER', 'REDIS_SENTINEL_PORT_NUMBER']) ?? 26379;

/**
 * The Secret mounted as the chart's certificates volume (redis-certificates), with the key of each file the env
 * points Redis at (REDIS_TLS_CERT_FILE=/opt/bitnami/redis/certs/tls.crt: key tls.crt, and so on; the chart's
 * tls.certFilename / certKeyFilename / certCAFilename). Its clients present the same certificate and key.
 */
function tlsOf(sts: KubeObject): Target['tlsSecret'] {
  const vols = ((sts.spec as { template?: { spec?: { volumes?: Array<{ name: string; secret?: { secretName?: string } }> } } } | undefined)?.template?.spec?.volumes) ?? [];
  const v = vols.find((x) => /tls|cert/.test(x.name) && x.secret?.secretName);
  if (!v?.secret?.secretName) return undefined;
  const file = (names: string[], fallback: string) => envValue(sts, names)?.split('/').pop() || fallback;
  return {
    name: v.secret.secretName,
    caKey: file(['REDIS_TLS_CA_FILE', 'REDIS_SENTINEL_TLS_CA_FILE'], 'ca.crt'),
    certKey: file(['REDIS_TLS_CERT_FILE', 'REDIS_SENTINEL_TLS_CERT_FILE'], 'tls.crt'),
    keyKey: file(['REDIS_TLS_KEY_FILE', 'REDIS_SENTINEL_TLS_KEY_FILE'], 'tls.key'),
  };
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
        tlsSecret: tlsOf(s), redisPort: clusterPort(s), sentinelPort: sentinelPort(s), expected: {},
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
        // no sentinelMasterName: the chart writes sentinel.masterSet into start-sentinel.sh, not into any field; the
        // sentinels say which master set they monitor (observe asks them).
        // start-sentinel.sh writes `requirepass $REDIS_PASSWORD` when auth.sentinel (the default) is on, and the chart
        // gives the sentinel container REDIS_PASSWORD only then (bitnami/charts bitnami/redis scripts-configmap.yaml)
        sentinelPasswordSecret: passwordSecretFromEnv(s, ['REDIS_PASSWORD'], 'sentinel'),
        tlsSecret: tlsOf(s), redisPort: redisPort(s), sentinelPort: sentinelPort(s),
        expected: { masters: 1, sentinels: Number((s.spec as { replicas?: number } | undefined)?.replicas ?? 3) },
        roleLabel: { key: 'isMaster', master: 'true', replica: 'false' },
      }));
  },
  pauseMechanism: () => NO_PAUSE,
};

export const bitnamiReplication: TargetAdapter = {
  system: 'bitnami', kind: 'StatefulSet',
  aliases: ['sts', 'statefulset', 'statefulsets', 'statefulset.apps'],
  resource: STATEFULSETS,
  operatorImages: [],
  async discover(reader, namespace) {
    const all = (await reader.list(STATEFULSETS, namespace, { labelSelector: 'app.kubernetes.io/name=redis' }))
      .filter((s) => !ownedByController(s) && !containerNames(s).includes('sentinel'));
    const instanceOf = (s: KubeObject) => label(s, 'app.kubernetes.io/instance');
    return all.filter((s) => label(s, 'app.kubernetes.io/component') === 'master' && instanceOf(s)).map((m): Target => {
      const ns = m.metadata.namespace ?? 'default';
      const release = instanceOf(m) ?? '';
      const fullname = m.metadata.name.replace(/-master$/, '');
      const r = all.find((s) => label(s, 'app.kubernetes.io/component') === 'replica' && instanceOf(s) === release && (s.metadata.namespace ?? 'default') === ns);
      const replicas = r ? num((r.spec as { replicas?: unknown } | undefined)?.replicas) : 0;
      return {
        system: 'bitnami', kind: 'StatefulSet', name: m.metadata.name, namespace: ns, ref: `sts/${m.metadata.name}`,
        otherNames: [...new Set([...(r ? [r.metadata.name] : []), fullname, release])].filter((x) => x !== m.metadata.name),
        topology: r ? 'replication' : 'standalone', resource: STATEFULSETS, object: m, statefulSets: r ? [m.metadata.name, r.metadata.name] : [m.metadata.name],
        redisSelector: `app.kubernetes.io/name=redis,app.kubernetes.io/instance=${release},app.kubernetes.io/component in (master,replica)`,
        pdbNames: r ? [`${fullname}-master`, `${fullname}-replicas`] : [`${fullname}-master`],
        passwordSecret: passwordSecretFromEnv(m, ['REDIS_PASSWORD']) ?? { name: fullname, key: 'redis-password' },
        tlsSecret: tlsOf(m), redisPort: redisPort(m), sentinelPort: sentinelPort(m),
        expected: { masters: 1, replicasPerMaster: replicas },
      };
    });
  },
  pauseMechanism: () => NO_PAUSE,
};
