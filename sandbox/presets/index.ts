// Presets: what `sandbox up --preset NAME` puts in the first cluster, returning once every workload is Ready and
// its Redis healthy (clusters formed and covering every slot, sentinels agreeing on a master with its replicas),
// with some data loaded. `demo` is SANDBOX.md's: namespace redis with OT RedisCluster orders, spotahome
// RedisFailover sessions and the Bitnami redis-cluster cache. Every other cluster gets the same operators and CRDs
// (a migration needs them on both sides) but no Redis.
import { Cluster, Redis } from 'ioredis';
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { CRD_KEY, ensureObject, installCrd, podIP, podsOf, redisCall, redisText, secretValue, until, type Endpoint } from '../operators/kit.js';
import { OT_DEPLOYMENT, OT_GROUP, OT_NAMESPACE, otApiVersions, otCrds } from '../operators/ot.js';
import { FRESHWORKS_GROUP_LABEL, RF_KEY, rfCrd, SPOTAHOME_DEPLOYMENT, SPOTAHOME_NAMESPACE } from '../operators/spotahome.js';
import { DRC_KEY, drcCrd, UCLOUD_DEPLOYMENT, UCLOUD_NAMESPACE } from '../operators/ucloud.js';
import {
  applyObjects, bootstrapBitnamiCluster, bootstrapBitnamiReplication, bootstrapBitnamiSentinel, bitnamiClusterObjects, bitnamiReplicationObjects, bitnamiSentinelObjects,
} from './bitnami.js';
import { isPodReady } from '../controllers/util.js';

export const OT_IMAGE = 'quay.io/opstree/redis-operator:v0.21.0';
export const OT_OLD_IMAGE = 'quay.io/opstree/redis-operator:v0.18.0';
export const SPOTAHOME_IMAGE = 'quay.io/spotahome/redis-operator:v1.3.0-rc1';
export const FRESHWORKS_IMAGE = 'ghcr.io/freshworks-oss/redis-operator:v3.3.5';
export const UCLOUD_IMAGE = 'fishu/redis-cluster-operator:latest';
export const FRESHWORKS_GROUP = 'sandbox';

type Workload =
  | { kind: 'ot-cluster'; name: string; size?: number }
  | { kind: 'ot-replication'; name: string; sentinel?: string }
  | { kind: 'ot-standalone'; name: string }
  | { kind: 'rf'; name: string; group?: string }
  | { kind: 'drc'; name: string }
  | { kind: 'bitnami-cluster'; name: string }
  | { kind: 'bitnami-sentinel'; name: string }
  | { kind: 'bitnami-replication'; name: string; replicas?: number };

interface Preset {
  namespace: string;
  operators: { ot?: string; spotahome?: string; ucloud?: string };
  workloads: Workload[];
}

const PRESETS: Record<string, Preset> = {
  demo: {
    namespace: 'redis',
    operators: { ot: OT_IMAGE, spotahome: SPOTAHOME_IMAGE },
    workloads: [{ kind: 'ot-cluster', name: 'orders' }, { kind: 'rf', name: 'sessions' }, { kind: 'bitnami-cluster', name: 'cache' }],
  },
  'ot-cluster': { namespace: 'redis', operators: { ot: OT_IMAGE }, workloads: [{ kind: 'ot-cluster', name: 'orders' }] },
  // two Redis Clusters and a Sentinel set, for drain-reboot --max-unavailable auto on 6 nodes (issue 22)
  'two-clusters-sentinel': {
    namespace: 'redis',
    operators: { ot: OT_IMAGE, spotahome: SPOTAHOME_IMAGE },
    workloads: [{ kind: 'ot-cluster', name: 'orders' }, { kind: 'ot-cluster', name: 'carts' }, { kind: 'rf', name: 'sessions' }],
  },
  'ot-old': { namespace: 'redis', operators: { ot: OT_OLD_IMAGE }, workloads: [{ kind: 'ot-cluster', name: 'orders' }] },
  'ot-replication': { namespace: 'redis', operators: { ot: OT_IMAGE }, workloads: [{ kind: 'ot-replication', name: 'queue', sentinel: 'queue-sentinel' }, { kind: 'ot-standalone', name: 'scratch' }] },
  spotahome: { namespace: 'redis', operators: { spotahome: SPOTAHOME_IMAGE }, workloads: [{ kind: 'rf', name: 'sessions' }] },
  freshworks: { namespace: 'redis', operators: { spotahome: FRESHWORKS_IMAGE }, workloads: [{ kind: 'rf', name: 'sessions', group: FRESHWORKS_GROUP }] },
  ucloud: { namespace: 'redis', operators: { ucloud: UCLOUD_IMAGE }, workloads: [{ kind: 'drc', name: 'ledger' }] },
  'bitnami-cluster': { namespace: 'redis', operators: {}, workloads: [{ kind: 'bitnami-cluster', name: 'cache' }] },
  'bitnami-sentinel': { namespace: 'redis', operators: {}, workloads: [{ kind: 'bitnami-sentinel', name: 'queue' }] },
  'bitnami-replication': { namespace: 'redis', operators: {}, workloads: [{ kind: 'bitnami-replication', name: 'store', replicas: 2 }] },
};

export const PRESET_NAMES = ['none', ...Object.keys(PRESETS)];

function namespace(name: string): KObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

function secret(ns: string, name: string, key: string, value: string): KObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'Opaque', data: { [key]: Buffer.from(value).toString('base64') } };
}

function operatorDeployment(ns: string, name: string, image: string, env: Record<string, string> = {}): KObject {
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': 'operator' };
  const container = { name: 'manager', image, args: ['--leader-elect'], ...(Object.keys(env).length > 0 ? { env: Object.entries(env).map(([n, value]) => ({ name: n, value })) } : {}) };
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, labels },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [container] } } },
  };
}

/** The operators (namespace, Deployment, CRDs) a preset needs; installed in every cluster. */
function installOperators(ctx: ClusterContext, ops: Preset['operators']): void {
  if (ops.ot) {
    for (const c of otCrds(ops.ot)) installCrd(ctx, c);
    applyObjects(ctx, [namespace(OT_NAMESPACE), operatorDeployment(OT_NAMESPACE, OT_DEPLOYMENT, ops.ot)]);
  }
  if (ops.spotahome) {
    installCrd(ctx, rfCrd());
    // the fork (>= v3.3.3) reconciles only RedisFailovers labelled with its OPERATOR_GROUP_ID
    const env = /freshworks/.test(ops.spotahome) ? { OPERATOR_GROUP_ID: FRESHWORKS_GROUP } : undefined;
    applyObjects(ctx, [namespace(SPOTAHOME_NAMESPACE), operatorDeployment(SPOTAHOME_NAMESPACE, SPOTAHOME_DEPLOYMENT, ops.spotahome, env)]);
  }
  if (ops.ucloud) {
    installCrd(ctx, drcCrd());
    applyObjects(ctx, [namespace(UCLOUD_NAMESPACE), operatorDeployment(UCLOUD_NAMESPACE, UCLOUD_DEPLOYMENT, ops.ucloud)]);
  }
}

/** Custom resources are created once their CRD is served (the API server registers CRDs from the store). */
function createCr(ctx: ClusterContext, key: string, cr: KObject): void {
  if (!ctx.store.list(CRD_KEY).items.some((c) => key === c.metadata.name)) throw new Error(`preset: CRD ${key} is not installed`);
  ensureObject(ctx, key, cr, undefined);
}

const PDB = { enabled: true, maxUnavailable: 1 };

/** OT served v1beta1 until v0.19.x, v1beta2 after (operators.md): a preset's CRs use its operator's newest. */
function otApiVersion(image: string | undefined): string {
  return `${OT_GROUP}/${otApiVersions(image).at(-1) ?? 'v1beta2'}`;
}

function createWorkload(ctx: ClusterContext, ns: string, w: Workload, otApi: string): void {
  const pw = `${w.name}-${Math.random().toString(36).slice(2, 10)}`;
  switch (w.kind) {
    case 'ot-cluster':
      applyObjects(ctx, [secret(ns, `${w.name}-redis`, 'password', pw)]);
      createCr(ctx, `redisclusters.${OT_GROUP}`, {
        apiVersion: otApi, kind: 'RedisCluster', metadata: { name: w.name, namespace: ns },
        spec: {
          clusterSize: w.size ?? 3, clusterVersion: 'v7', persistenceEnabled: true,
          kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.12', imagePullPolicy: 'IfNotPresent', redisSecret: { name: `${w.name}-redis`, key: 'password' } },
          redisLeader: { pdb: PDB }, redisFollower: { pdb: PDB },
          storage: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }, nodeConfVolume: true },
        },
      });
      return;
    case 'ot-replication':
      applyObjects(ctx, [secret(ns, `${w.name}-redis`, 'password', pw)]);
      createCr(ctx, `redisreplications.${OT_GROUP}`, {
        apiVersion: otApi, kind: 'RedisReplication', metadata: { name: w.name, namespace: ns },
        spec: { clusterSize: 3, kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.12', redisSecret: { name: `${w.name}-redis`, key: 'password' } }, pdb: PDB },
      });
      if (w.sentinel) {
        createCr(ctx, `redissentinels.${OT_GROUP}`, {
          apiVersion: otApi, kind: 'RedisSentinel', metadata: { name: w.sentinel, namespace: ns },
          spec: {
            clusterSize: 3, kubernetesConfig: { image: 'quay.io/opstree/redis-sentinel:v7.0.12', redisSecret: { name: `${w.name}-redis`, key: 'password' } },
            redisSentinelConfig: { redisReplicationName: w.name, masterGroupName: 'myMaster', quorum: '2' }, pdb: PDB,
          },
        });
      }
      return;
    case 'ot-standalone':
      applyObjects(ctx, [secret(ns, `${w.name}-redis`, 'password', pw)]);
      createCr(ctx, `redis.${OT_GROUP}`, {
        apiVersion: otApi, kind: 'Redis', metadata: { name: w.name, namespace: ns },
        spec: {
          kubernetesConfig: { image: 'quay.io/opstree/redis:v7.0.12', imagePullPolicy: 'IfNotPresent', redisSecret: { name: `${w.name}-redis`, key: 'password' } },
          storage: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } },
        },
      });
      return;
    case 'rf':
      applyObjects(ctx, [secret(ns, `${w.name}-auth`, 'password', pw)]);
      createCr(ctx, RF_KEY, {
        apiVersion: 'databases.spotahome.com/v1', kind: 'RedisFailover',
        metadata: { name: w.name, namespace: ns, ...(w.group ? { labels: { [FRESHWORKS_GROUP_LABEL]: w.group } } : {}) },
        spec: { sentinel: { replicas: 3 }, redis: { replicas: 3 }, auth: { secretPath: `${w.name}-auth` } },
      });
      return;
    case 'drc':
      applyObjects(ctx, [secret(ns, `${w.name}-auth`, 'password', pw)]);
      createCr(ctx, DRC_KEY, {
        apiVersion: 'redis.kun/v1alpha1', kind: 'DistributedRedisCluster', metadata: { name: w.name, namespace: ns, annotations: { 'redis.kun/scope': 'cluster-scoped' } },
        spec: { image: 'redis:7.0', masterSize: 3, clusterReplicas: 1, passwordSecret: { name: `${w.name}-auth` } },
      });
      return;
    case 'bitnami-cluster':
      applyObjects(ctx, bitnamiClusterObjects(ns, w.name, pw));
      return;
    case 'bitnami-sentinel':
      applyObjects(ctx, bitnamiSentinelObjects(ns, w.name, pw));
      return;
    case 'bitnami-replication':
      applyObjects(ctx, bitnamiReplicationObjects(ns, w.name, pw, w.replicas));
  }
}

interface Shape {
  selector: string;
  pods: number;
  secret: { name: string; key: string };
  mode: 'cluster' | 'sentinel' | 'replication' | 'standalone';
  sentinelSelector?: string;
  masterName?: string;
}

function shapeOf(ns: string, w: Workload): Shape {
  switch (w.kind) {
    case 'ot-cluster':
      return { selector: `app in (${w.name}-leader,${w.name}-follower)`, pods: (w.size ?? 3) * 2, secret: { name: `${w.name}-redis`, key: 'password' }, mode: 'cluster' };
    case 'ot-replication':
      return { selector: `app=${w.name},redis_setup_type=replication`, pods: 3, secret: { name: `${w.name}-redis`, key: 'password' }, mode: 'sentinel', sentinelSelector: w.sentinel ? `app=${w.sentinel}-sentinel` : undefined, masterName: 'myMaster' };
    case 'ot-standalone':
      return { selector: `app=${w.name},redis_setup_type=standalone`, pods: 1, secret: { name: `${w.name}-redis`, key: 'password' }, mode: 'standalone' };
    case 'bitnami-replication':
      return { selector: `app.kubernetes.io/name=redis,app.kubernetes.io/instance=${w.name}`, pods: 1 + (w.replicas ?? 3), secret: { name: w.name, key: 'redis-password' }, mode: 'replication' };
    case 'rf':
      return { selector: `app.kubernetes.io/name=${w.name},app.kubernetes.io/component=redis`, pods: 3, secret: { name: `${w.name}-auth`, key: 'password' }, mode: 'sentinel', sentinelSelector: `app.kubernetes.io/name=${w.name},app.kubernetes.io/component=sentinel`, masterName: 'mymaster' };
    case 'drc':
      return { selector: `redis.kun/name=${w.name}`, pods: 6, secret: { name: `${w.name}-auth`, key: 'password' }, mode: 'cluster' };
    case 'bitnami-cluster':
      return { selector: `app.kubernetes.io/name=redis-cluster,app.kubernetes.io/instance=${w.name}`, pods: 6, secret: { name: w.name, key: 'redis-password' }, mode: 'cluster' };
    case 'bitnami-sentinel': {
      const selector = `app.kubernetes.io/name=redis,app.kubernetes.io/instance=${w.name}`;
      return { selector, pods: 3, secret: { name: w.name, key: 'redis-password' }, mode: 'sentinel', sentinelSelector: selector, masterName: 'mymaster' };
    }
  }
  void ns;
}

async function healthy(ctx: ClusterContext, ns: string, s: Shape): Promise<boolean> {
  const pods = podsOf(ctx, ns, s.selector);
  const password = secretValue(ctx, ns, s.secret.name, s.secret.key);
  if (pods.length !== s.pods || pods.some((p) => !podIP(p))) return false;
  const eps: Endpoint[] = pods.map((p) => ({ ip: podIP(p) ?? '', port: 6379, password }));
  if (s.mode === 'cluster') {
    for (const ep of eps) {
      const i = await redisText(ep, ['CLUSTER', 'INFO']);
      if (!i.includes('cluster_state:ok') || !i.includes(`cluster_known_nodes:${s.pods}\r`) || !i.includes('cluster_slots_assigned:16384')) return false;
    }
    return true;
  }
  const roles = await Promise.all(eps.map((ep) => redisText(ep, ['INFO', 'replication'])));
  if (s.mode === 'standalone') return roles.every((r) => r.includes('role:master'));
  const masters = roles.filter((r) => r.includes('role:master'));
  if (masters.length !== 1 || !masters[0].includes(`connected_slaves:${s.pods - 1}`)) return false;
  if (roles.some((r) => r.includes('role:slave') && !r.includes('master_link_status:up'))) return false;
  if (!s.sentinelSelector) return true;
  const masterIp = pods[roles.findIndex((r) => r.includes('role:master'))];
  const sentinels = podsOf(ctx, ns, s.sentinelSelector);
  if (sentinels.length < 3) return false;
  for (const sp of sentinels) {
    const addr = (await redisCall({ ip: podIP(sp) ?? '', port: 26379 }, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', s.masterName ?? 'mymaster'])) as string[] | null;
    if (!addr || addr[0] !== podIP(masterIp)) return false;
  }
  return true;
}

/** A few hundred keys in each workload, so a lost write shows. */
async function loadData(ctx: ClusterContext, ns: string, w: Workload, s: Shape): Promise<void> {
  const password = secretValue(ctx, ns, s.secret.name, s.secret.key);
  const pods = podsOf(ctx, ns, s.selector);
  if (s.mode === 'cluster') {
    const c = new Cluster(pods.map((p) => ({ host: podIP(p) ?? '', port: 6379 })), { redisOptions: { password }, enableReadyCheck: true });
    c.on('error', () => undefined);
    try {
      await Promise.all(Array.from({ length: 300 }, (_, i) => c.set(`${w.name}:key:${i}`, `value-${i}`)));
    } finally {
      c.disconnect();
    }
    return;
  }
  for (const p of pods) {
    const r = new Redis({ host: podIP(p), port: 6379, password, lazyConnect: true, maxRetriesPerRequest: 1 });
    r.on('error', () => undefined);
    try {
      await r.connect();
      if (!(await r.info('replication')).includes('role:master')) continue;
      await Promise.all(Array.from({ length: 300 }, (_, i) => r.set(`${w.name}:key:${i}`, `value-${i}`)));
    } finally {
      r.disconnect();
    }
  }
}

export async function applyPreset(name: string, clusters: ClusterContext[]): Promise<void> {
  const preset = PRESETS[name];
  if (!preset) throw new Error(`unknown preset "${name}"; presets: ${PRESET_NAMES.join(', ')}`);
  const [first] = clusters;
  for (const ctx of clusters) installOperators(ctx, preset.operators);
  applyObjects(first, [namespace(preset.namespace)]);
  for (const w of preset.workloads) createWorkload(first, preset.namespace, w, otApiVersion(preset.operators.ot));
  const timeoutMs = Number(process.env.SANDBOX_PRESET_TIMEOUT_MS ?? 180_000);
  await Promise.all(preset.workloads.map(async (w) => {
    const s = shapeOf(preset.namespace, w);
    if (w.kind === 'bitnami-cluster') {
      await until(`${w.name}'s pods to answer`, timeoutMs, () => podsOf(first, preset.namespace, s.selector).filter((p) => podIP(p)).length === s.pods);
      await until(`${w.name} to be bootstrapped`, timeoutMs, async () => {
        await bootstrapBitnamiCluster(first, preset.namespace, w.name, secretValue(first, preset.namespace, s.secret.name, s.secret.key) ?? '');
        return true;
      }, 500);
    }
    if (w.kind === 'bitnami-replication') {
      await until(`${w.name}'s pods to answer`, timeoutMs, () => podsOf(first, preset.namespace, s.selector).filter((p) => podIP(p) && isPodReady(p)).length === s.pods);
      await until(`${w.name}'s replicas to follow the master`, timeoutMs, async () => {
        await bootstrapBitnamiReplication(first, preset.namespace, w.name, secretValue(first, preset.namespace, s.secret.name, s.secret.key) ?? '');
        return true;
      }, 500);
    }
    if (w.kind === 'bitnami-sentinel') {
      await until(`${w.name}'s pods to answer`, timeoutMs, () => podsOf(first, preset.namespace, s.selector).filter((p) => podIP(p) && isPodReady(p)).length === s.pods);
      await until(`${w.name} to be bootstrapped`, timeoutMs, async () => {
        await bootstrapBitnamiSentinel(first, preset.namespace, w.name, secretValue(first, preset.namespace, s.secret.name, s.secret.key) ?? '');
        return true;
      }, 500);
    }
    await until(`${preset.namespace}/${w.name} to be healthy`, timeoutMs, () => healthy(first, preset.namespace, s), 300);
    await loadData(first, preset.namespace, w, s);
    first.log(`preset ${name}: ${preset.namespace}/${w.name} is healthy`);
  }));
}
