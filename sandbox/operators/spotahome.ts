// spotahome redis-operator (databases.spotahome.com/v1 RedisFailover) and its freshworks fork. Objects as the real
// generator makes them: ConfigMaps rfr-<n> (redis.conf starting as `slaveof 127.0.0.1 <port>`, i.e. of itself, so
// no pod is a master until the operator picks one) and rfs-<n>, StatefulSet rfr-<n>, sentinel Deployment rfs-<n>,
// Services rfs-<n>, rfrm-<n>, rfrs-<n>, PDBs. CheckAndHeal every 30 s: no master -> the oldest pod becomes master;
// one master -> every other pod replicates it; several masters -> "More than one master, fix manually" and nothing
// else (spotahome#600); sentinels monitor the master; role labels redisfailovers-role. Upstream has no pause; the
// fork >= v3.3.2 skips all of it on `redis-failover.freshworks.com/skip-reconcile: "true"`, and >= v3.3.3 sees only
// RedisFailovers labelled redis-failover.freshworks.com/operator-group=<its OPERATOR_GROUP_ID>.
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { isPodReady, recordEvent, startLoop, type Loop } from '../controllers/util.js';
import { allReady, crd, ensureObject, imageTag, info, operatorRunning, podIP, podsOf, redisCall, secretValue, setPodLabel, versionAtLeast, type Endpoint } from './kit.js';

export const RF_GROUP = 'databases.spotahome.com';
export const RF_KEY = `redisfailovers.${RF_GROUP}`;
export const SPOTAHOME_NAMESPACE = 'spotahome';
export const SPOTAHOME_DEPLOYMENT = 'redis-operator';
export const FRESHWORKS_PAUSE = 'redis-failover.freshworks.com/skip-reconcile';
export const FRESHWORKS_GROUP_LABEL = 'redis-failover.freshworks.com/operator-group';
const MASTER_NAME = 'mymaster';

export function rfCrd(): KObject {
  return crd(RF_GROUP, ['v1'], 'RedisFailover', 'redisfailovers', ['rf']);
}

interface RfSpec {
  redis?: { replicas?: number; port?: number; image?: string };
  sentinel?: { replicas?: number; image?: string };
  auth?: { secretPath?: string };
}

const isFork = (image: string | undefined): boolean => /freshworks/i.test(image ?? '');

/** Only the fork >= v3.3.2 knows the annotation (exactly "true"); upstream ignores it. */
export function rfPaused(cr: KObject, operatorImage: string | undefined): boolean {
  return isFork(operatorImage) && versionAtLeast(imageTag(operatorImage), '3.3.2') && cr.metadata.annotations?.[FRESHWORKS_PAUSE] === 'true';
}

/**
 * Whether the operator sees this RedisFailover at all: the fork >= v3.3.3 watches through the label selector
 * redis-failover.freshworks.com/operator-group=<OPERATOR_GROUP_ID> (its Deployment's env); upstream sees every one.
 */
export function rfWatched(cr: KObject, operatorImage: string | undefined, groupId: string | undefined): boolean {
  if (!isFork(operatorImage) || !versionAtLeast(imageTag(operatorImage), '3.3.3')) return true;
  return !!groupId && cr.metadata.labels?.[FRESHWORKS_GROUP_LABEL] === groupId;
}

function operatorEnv(ctx: ClusterContext, name: string): string | undefined {
  const d = ctx.store.get('deployments.apps', SPOTAHOME_NAMESPACE, SPOTAHOME_DEPLOYMENT);
  const cs = (d?.spec as { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } } } | undefined)?.template?.spec?.containers ?? [];
  return cs[0]?.env?.find((e) => e.name === name)?.value;
}

function labels(n: string, component: 'redis' | 'sentinel'): Record<string, string> {
  return { 'app.kubernetes.io/component': component, 'app.kubernetes.io/name': n, 'app.kubernetes.io/part-of': 'redis-failover' };
}

function meta(cr: KObject, name: string, l: Record<string, string>): KObject['metadata'] {
  return {
    name, namespace: cr.metadata.namespace,
    labels: { ...l, 'app.kubernetes.io/managed-by': 'redis-operator', 'redisfailovers.databases.spotahome.com/name': cr.metadata.name },
  };
}

function ensureObjects(ctx: ClusterContext, cr: KObject, pass: string | undefined): void {
  const n = cr.metadata.name;
  const spec = (cr.spec ?? {}) as RfSpec;
  const port = spec.redis?.port ?? 6379;
  const rl = labels(n, 'redis');
  const sl = labels(n, 'sentinel');
  const auth = pass ? `\nmasterauth ${pass}\nrequirepass ${pass}` : '';
  ensureObject(ctx, 'configmaps', {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(cr, `rfr-${n}`, rl),
    data: { 'redis.conf': `slaveof 127.0.0.1 ${port}\nport ${port}\ntcp-keepalive 60\nsave 900 1\nsave 300 10\nuser pinger -@all +ping on >pingpass${auth}\n` },
  } as KObject, cr);
  ensureObject(ctx, 'configmaps', {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(cr, `rfs-${n}`, sl),
    data: { 'sentinel.conf': `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${port} 2\nsentinel down-after-milliseconds ${MASTER_NAME} 5000\nsentinel failover-timeout ${MASTER_NAME} 10000\nsentinel parallel-syncs ${MASTER_NAME} 2\n` },
  } as KObject, cr);
  const image = spec.redis?.image ?? 'redis:7.0';
  ensureObject(ctx, 'statefulsets.apps', {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta(cr, `rfr-${n}`, rl),
    spec: {
      replicas: spec.redis?.replicas ?? 3,
      serviceName: `rfr-${n}`,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: rl },
      template: {
        metadata: { labels: { ...rl, 'app.kubernetes.io/managed-by': 'redis-operator', 'redisfailovers.databases.spotahome.com/name': n } },
        spec: {
          containers: [{
            name: 'redis', image, command: ['redis-server', '/redis/redis.conf'],
            ports: [{ name: 'redis', containerPort: port }],
            volumeMounts: [{ name: 'redis-config', mountPath: '/redis' }, { name: 'redis-data', mountPath: '/data' }],
          }],
          volumes: [{ name: 'redis-config', configMap: { name: `rfr-${n}` } }, { name: 'redis-data', emptyDir: {} }],
        },
      },
    },
  } as KObject, cr, ['replicas', 'template']);
  ensureObject(ctx, 'deployments.apps', {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(cr, `rfs-${n}`, sl),
    spec: {
      replicas: spec.sentinel?.replicas ?? 3,
      selector: { matchLabels: sl },
      template: {
        metadata: { labels: { ...sl, 'app.kubernetes.io/managed-by': 'redis-operator', 'redisfailovers.databases.spotahome.com/name': n } },
        spec: {
          containers: [{
            name: 'sentinel', image: spec.sentinel?.image ?? 'redis:7.0', command: ['redis-server', '/redis/sentinel.conf', '--sentinel'],
            ports: [{ name: 'sentinel', containerPort: 26379 }],
            volumeMounts: [{ name: 'sentinel-config', mountPath: '/redis' }],
          }],
          volumes: [{ name: 'sentinel-config', configMap: { name: `rfs-${n}` } }],
        },
      },
    },
  } as KObject, cr, ['replicas', 'template']);
  const svc = (name: string, selector: Record<string, string>, p: number, headless = false): KObject => ({
    apiVersion: 'v1', kind: 'Service', metadata: meta(cr, name, selector),
    spec: { selector, ports: [{ name: p === 26379 ? 'sentinel' : 'redis', port: p, targetPort: p, protocol: 'TCP' }], ...(headless ? { clusterIP: 'None' } : {}) },
  });
  ensureObject(ctx, 'services', svc(`rfs-${n}`, sl, 26379), cr);
  ensureObject(ctx, 'services', svc(`rfr-${n}`, rl, 9121, true), cr);
  ensureObject(ctx, 'services', svc(`rfrm-${n}`, { ...rl, 'redisfailovers-role': 'master' }, port), cr);
  ensureObject(ctx, 'services', svc(`rfrs-${n}`, { ...rl, 'redisfailovers-role': 'slave' }, port), cr);
  for (const [name, l] of [[`rfr-${n}`, rl], [`rfs-${n}`, sl]] as const) {
    ensureObject(ctx, 'poddisruptionbudgets.policy', {
      apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta(cr, name, l),
      spec: { minAvailable: 2, selector: { matchLabels: l } },
    }, cr);
  }
}

async function checkAndHeal(ctx: ClusterContext, cr: KObject, pass: string | undefined): Promise<void> {
  const n = cr.metadata.name;
  const ns = cr.metadata.namespace ?? 'default';
  const spec = (cr.spec ?? {}) as RfSpec;
  const port = spec.redis?.port ?? 6379;
  const redis = podsOf(ctx, ns, `app.kubernetes.io/name=${n},app.kubernetes.io/component=redis`);
  const sentinels = podsOf(ctx, ns, `app.kubernetes.io/name=${n},app.kubernetes.io/component=sentinel`);
  if (!allReady(redis, spec.redis?.replicas ?? 3)) return;
  const ep = (p: KObject): Endpoint => ({ ip: podIP(p) ?? '', port, password: pass });
  const views = await Promise.all(redis.map(async (p) => ({ p, i: await info(ep(p), 'replication').catch(() => undefined) })));
  const masters = views.filter((v) => v.i?.role === 'master');
  let master: KObject;
  if (masters.length === 0) {
    master = [...redis].sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)) || a.metadata.name.localeCompare(b.metadata.name))[0];
    await redisCall(ep(master), ['SLAVEOF', 'NO', 'ONE']);
    recordEvent(ctx, cr, 'Normal', 'SetMaster', `No master found: ${master.metadata.name} is the new master`, 'redis-operator');
  } else if (masters.length > 1) {
    recordEvent(ctx, cr, 'Warning', 'MultipleMasters', 'More than one master, fix manually', 'redis-operator');
    ctx.log(`spotahome: ${ns}/${n}: more than one master, fix manually`);
    return;
  } else master = masters[0].p;
  const masterIp = podIP(master) ?? '';
  for (const v of views) {
    if (v.p === master || !v.i) continue;
    if (v.i.role !== 'slave' || v.i.master_host !== masterIp) await redisCall(ep(v.p), ['SLAVEOF', masterIp, port]).catch(() => undefined);
  }
  for (const v of views) setPodLabel(ctx, v.p, 'redisfailovers-role', v.p === master ? 'master' : 'slave');
  for (const s of sentinels) {
    const ip = podIP(s);
    if (!ip || !isPodReady(s)) continue;
    const sep: Endpoint = { ip, port: 26379 };
    try {
      const addr = (await redisCall(sep, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME])) as string[] | null;
      if (!addr || addr[0] !== masterIp) {
        await redisCall(sep, ['SENTINEL', 'REMOVE', MASTER_NAME]).catch(() => undefined);
        await redisCall(sep, ['SENTINEL', 'MONITOR', MASTER_NAME, masterIp, port, 2]);
        if (pass) await redisCall(sep, ['SENTINEL', 'SET', MASTER_NAME, 'auth-pass', pass]);
        await redisCall(sep, ['SENTINEL', 'SET', MASTER_NAME, 'down-after-milliseconds', 5000]);
        await redisCall(sep, ['SENTINEL', 'SET', MASTER_NAME, 'failover-timeout', 10000]);
      }
      const others = await redisCall(sep, ['SENTINEL', 'SENTINELS', MASTER_NAME]) as unknown[];
      if (others.length > sentinels.length - 1) await redisCall(sep, ['SENTINEL', 'RESET', '*']);
    } catch (e) {
      ctx.log(`spotahome: sentinel ${s.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/** The spotahome (or freshworks) operator of one cluster: resync every 30 s while its Deployment runs. */
export function startSpotahomeOperator(ctx: ClusterContext): Loop {
  const pass = async (): Promise<void> => {
    const op = operatorRunning(ctx, SPOTAHOME_NAMESPACE, SPOTAHOME_DEPLOYMENT);
    if (!op.running) return;
    const group = operatorEnv(ctx, 'OPERATOR_GROUP_ID');
    for (const cr of ctx.store.list(RF_KEY).items) {
      if (cr.metadata.deletionTimestamp || !rfWatched(cr, op.image, group) || rfPaused(cr, op.image)) continue;
      const spec = (cr.spec ?? {}) as RfSpec;
      const pass = secretValue(ctx, cr.metadata.namespace ?? 'default', spec.auth?.secretPath, 'password');
      try {
        ensureObjects(ctx, cr, pass);
        await checkAndHeal(ctx, cr, pass);
      } catch (e) {
        ctx.log(`spotahome: ${cr.metadata.namespace}/${cr.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  return startLoop(ctx, 'spotahome-operator', [RF_KEY, 'statefulsets.apps', 'deployments.apps', 'pods'], pass, { resyncMs: 30_000, debounceMs: 500 });
}
