// OT-CONTAINER-KIT redis-operator (redis.redis.opstreelabs.in/v1beta2): Redis (standalone), RedisCluster,
// RedisReplication and RedisSentinel, with the real object names and labels (operators.md) and the pause semantics
// of the operator's version, read from its Deployment's image tag: v0.15-v0.19.0 pause on the key's presence
// ("false" pauses too), later versions only on "true". What it does on reconcile, as the real one: create what is
// missing and reset replicas/image drift of its StatefulSets, create the follower StatefulSet once the leaders are
// ready, bootstrap the cluster (redis-cli --cluster create, then add-node --cluster-slave), scale it out (add-node,
// then rebalance --cluster-use-empty-masters) and in (reshard the removed leaders' slots away, del-node, rebalance,
// then shrink the StatefulSets), make followers of a replication group replicate its master, and keep the
// redis-role labels current. It does NOT repair stale node addresses: a cluster whose pods all restarted with new
// IPs stays broken until someone heals it (OT#145/#1233/#1782).
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { isPodReady, obj, recordEvent, startLoop, type Loop, type Obj } from '../controllers/util.js';
import {
  addMasters, allReady, attachReplica, clusterNodes, crd, ensureObject, formCluster, hasOpenSlots, imageTag, isEmptyMaster, isFresh, myId, operatorRunning,
  podIP, podsOf, redisCall, redisCliCluster, roleOf, secretValue, setPodLabel, setStatus, until, versionAtLeast, type Endpoint,
} from './kit.js';

export const OT_GROUP = 'redis.redis.opstreelabs.in';
export const OT_NAMESPACE = 'ot-operators';
export const OT_DEPLOYMENT = 'redis-operator';
const KEY = { standalone: `redis.${OT_GROUP}`, cluster: `redisclusters.${OT_GROUP}`, replication: `redisreplications.${OT_GROUP}`, sentinel: `redissentinels.${OT_GROUP}` };
export const OT_PAUSE = {
  standalone: 'redis.opstreelabs.in/skip-reconcile',
  cluster: 'rediscluster.opstreelabs.in/skip-reconcile',
  replication: 'redisreplication.opstreelabs.in/skip-reconcile',
  sentinel: 'redissentinel.opstreelabs.in/skip-reconcile',
};

/** The API versions an operator version's CRDs serve: v1beta1 only until v0.19.x, then v1beta1 and v1beta2 (storage). */
export function otApiVersions(operatorImage: string | undefined): string[] {
  return versionAtLeast(imageTag(operatorImage), '0.20.0') ? ['v1beta1', 'v1beta2'] : ['v1beta1'];
}

export function otCrds(operatorImage?: string): KObject[] {
  const versions = otApiVersions(operatorImage);
  return [
    crd(OT_GROUP, versions, 'RedisCluster', 'redisclusters', [], { status: true }),
    crd(OT_GROUP, versions, 'RedisReplication', 'redisreplications', [], { status: true }),
    crd(OT_GROUP, versions, 'RedisSentinel', 'redissentinels', [], { status: true }),
    crd(OT_GROUP, versions, 'Redis', 'redis', [], { status: true }),
  ];
}

/** Paused as the operator version reads its annotation. */
export function otPaused(cr: KObject, key: string, version: string | undefined): boolean {
  const v = cr.metadata.annotations?.[key];
  if (v === undefined) return false;
  return versionAtLeast(version, '0.19.1') ? v === 'true' : true;
}

interface OtSpec {
  clusterSize?: number;
  kubernetesConfig?: { image?: string; redisSecret?: { name?: string; key?: string } };
  redisLeader?: { pdb?: PdbSpec };
  redisFollower?: { pdb?: PdbSpec };
  pdb?: PdbSpec;
  redisSentinelConfig?: { redisReplicationName?: string; masterGroupName?: string; quorum?: string };
}
interface PdbSpec {
  enabled?: boolean;
  maxUnavailable?: number;
  minAvailable?: number;
}

const specOf = (cr: KObject): OtSpec => (cr.spec ?? {}) as OtSpec;

function passwordEnv(spec: OtSpec): Obj[] {
  const s = spec.kubernetesConfig?.redisSecret;
  return s?.name ? [{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: s.name, key: s.key ?? 'password' } } }] : [];
}

function password(ctx: ClusterContext, cr: KObject): string | undefined {
  const s = specOf(cr).kubernetesConfig?.redisSecret;
  return secretValue(ctx, cr.metadata.namespace ?? 'default', s?.name, s?.key ?? 'password');
}

/** The StatefulSet OT creates for a Redis role (`<n>-leader`, `<n>-follower`, `<n>` of a replication, `<n>-sentinel`). */
function statefulSet(cr: KObject, name: string, labels: Record<string, string>, replicas: number, container: Obj, pvc: boolean, nodeConf: boolean): KObject {
  const mounts: Obj[] = [];
  const templates: Obj[] = [];
  const claim = (n: string): Obj => ({ metadata: { name: n }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  if (pvc) {
    mounts.push({ name, mountPath: '/data' });
    templates.push(claim(name));
  }
  if (nodeConf) {
    mounts.push({ name: 'node-conf', mountPath: '/node-conf' });
    templates.push(claim('node-conf'));
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: cr.metadata.namespace, labels, annotations: { 'redis.opstreelabs.in': 'true', 'redis.opstreelabs.instance': cr.metadata.name } },
    spec: {
      replicas,
      serviceName: `${name}-headless`,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ ...container, volumeMounts: mounts }] },
      },
      volumeClaimTemplates: templates.length > 0 ? templates : undefined,
    },
  };
}

function services(ctx: ClusterContext, cr: KObject, name: string, labels: Record<string, string>, port: number): void {
  const svc = (n: string, extra: Obj): KObject => ({
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: n, namespace: cr.metadata.namespace, labels },
    spec: { selector: labels, ports: [{ name: port === 26379 ? 'sentinel-client' : 'redis-client', port, targetPort: port, protocol: 'TCP' }], ...extra },
  });
  ensureObject(ctx, 'services', svc(name, { type: 'ClusterIP' }), cr);
  ensureObject(ctx, 'services', svc(`${name}-headless`, { clusterIP: 'None' }), cr);
}

function pdb(ctx: ClusterContext, cr: KObject, name: string, labels: Record<string, string>, spec: PdbSpec | undefined): void {
  if (!spec?.enabled) return;
  const budget = spec.minAvailable !== undefined ? { minAvailable: spec.minAvailable } : { maxUnavailable: spec.maxUnavailable ?? 1 };
  ensureObject(ctx, 'poddisruptionbudgets.policy', {
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget',
    metadata: { name, namespace: cr.metadata.namespace, labels },
    spec: { selector: { matchLabels: labels }, ...budget },
  }, cr);
}

function redisContainer(spec: OtSpec, name: string, mode: 'cluster' | 'replication' | 'standalone'): Obj {
  return {
    name,
    image: spec.kubernetesConfig?.image ?? 'quay.io/opstree/redis:v7.0.12',
    imagePullPolicy: 'IfNotPresent',
    env: [
      { name: 'PERSISTENCE_ENABLED', value: 'true' },
      { name: 'REDIS_ADDR', value: 'redis://localhost:6379' },
      { name: 'REDIS_PORT', value: '6379' },
      { name: 'SERVER_MODE', value: mode },
      { name: 'SETUP_MODE', value: mode },
      ...(mode === 'cluster' ? [{ name: 'REDIS_MAJOR_VERSION', value: 'v7' }, { name: 'NODE_CONF_DIR', value: '/node-conf' }] : []),
      ...passwordEnv(spec),
    ],
    ports: [{ name: 'redis', containerPort: 6379 }, ...(mode === 'cluster' ? [{ name: 'redis-bus', containerPort: 16379 }] : [])],
  };
}

function readyCount(pods: KObject[]): number {
  return pods.filter(isPodReady).length;
}

async function labelRoles(ctx: ClusterContext, pods: KObject[], pass: string | undefined, key = 'redis-role'): Promise<Map<string, string>> {
  const roles = new Map<string, string>();
  await Promise.all(pods.map(async (p) => {
    const ip = podIP(p);
    if (!ip || !isPodReady(p)) return;
    const r = await roleOf({ ip, port: 6379, password: pass });
    if (!r) return;
    roles.set(p.metadata.name, r.role);
    setPodLabel(ctx, p, key, r.role === 'master' ? 'master' : 'slave');
  }));
  return roles;
}

async function reconcileCluster(ctx: ClusterContext, cr: KObject): Promise<void> {
  const spec = specOf(cr);
  const n = cr.metadata.name;
  const ns = cr.metadata.namespace ?? 'default';
  const size = spec.clusterSize ?? 3;
  const pass = password(ctx, cr);
  const leaderLabels = { app: `${n}-leader`, redis_setup_type: 'cluster', role: 'leader', cluster: n };
  const followerLabels = { app: `${n}-follower`, redis_setup_type: 'cluster', role: 'follower', cluster: n };
  // a scale-down moves the slots off the shards going away and takes their nodes out of the cluster before the
  // StatefulSets shrink (a failure throws: the StatefulSets keep their pods and the next pass retries)
  if ([...podsOf(ctx, ns, `app=${n}-leader`), ...podsOf(ctx, ns, `app=${n}-follower`)].some((p) => ordinal(p) >= size)) {
    await scaleDown(ctx, cr, size, pass);
  }
  ensureObject(ctx, 'statefulsets.apps', statefulSet(cr, `${n}-leader`, leaderLabels, size, redisContainer(spec, `${n}-leader`, 'cluster'), true, true), cr, ['replicas', 'template']);
  services(ctx, cr, `${n}-leader`, leaderLabels, 6379);
  pdb(ctx, cr, `${n}-leader`, leaderLabels, spec.redisLeader?.pdb);
  const leaders = podsOf(ctx, ns, `app=${n}-leader`);
  const status = (state: string, reason: string, followers: KObject[] = []) =>
    setStatus(ctx, KEY.cluster, cr, { state, reason, readyLeaderReplicas: readyCount(leaders), readyFollowerReplicas: readyCount(followers) });
  if (!allReady(leaders, size)) return status('Initializing', 'RedisCluster is initializing leaders');
  // followers come once the leaders are ready, as the operator does
  ensureObject(ctx, 'statefulsets.apps', statefulSet(cr, `${n}-follower`, followerLabels, size, redisContainer(spec, `${n}-follower`, 'cluster'), true, true), cr, ['replicas', 'template']);
  services(ctx, cr, `${n}-follower`, followerLabels, 6379);
  pdb(ctx, cr, `${n}-follower`, followerLabels, spec.redisFollower?.pdb);
  const followers = podsOf(ctx, ns, `app=${n}-follower`);
  if (!allReady(followers, size)) return status('Initializing', 'RedisCluster is initializing followers', followers);
  const ep = (p: KObject): Endpoint => ({ ip: podIP(p) ?? '', port: 6379, password: pass });
  const byOrdinal = (pods: KObject[]) => [...pods].sort((a, b) => ordinal(a) - ordinal(b)).slice(0, size);
  const L = byOrdinal(leaders);
  const F = byOrdinal(followers);
  const fresh = await Promise.all(L.map((p) => isFresh(ep(p)).catch(() => false)));
  if (fresh.every(Boolean)) {
    status('Bootstrap', 'RedisCluster is bootstrapping', followers);
    recordEvent(ctx, cr, 'Normal', 'Bootstrap', `Creating redis cluster with ${size} leaders`, 'redis-operator');
    await formCluster(L.map(ep), F.map((p, i) => ({ node: ep(p), master: i })));
  } else {
    // a scale-up: leaders that serve no slot are added and given slots (AddRedisNodeToCluster, then
    // RebalanceRedisClusterEmptyMasters), then followers that never joined are added as replicas of their leader
    // (add-node --cluster-slave)
    const empty = await Promise.all(L.map((p) => isEmptyMaster(ep(p)).catch(() => false)));
    const serving = L.find((_, i) => !empty[i]);
    const log = (m: string) => ctx.log(`ot-operator: cluster ${ns}/${n}: ${m}`);
    if (serving && empty.some(Boolean)) {
      recordEvent(ctx, cr, 'Normal', 'ScaleUp', `Adding ${empty.filter(Boolean).length} leader(s) to the cluster`, 'redis-operator');
      await addMasters(ep(serving), L.filter((_, i) => empty[i]).map(ep), log);
    } else if (serving && (await hasOpenSlots(ep(serving)))) {
      // a rebalance interrupted by an earlier pass: finish it
      await addMasters(ep(serving), [], log);
    }
    for (const [i, f] of F.entries()) {
      if (!(await isFresh(ep(f)).catch(() => false)) || !serving) continue;
      await redisCall(ep(f), ['CLUSTER', 'MEET', ep(serving).ip, 6379]);
      await attachReplica(ep(f), await myId(ep(L[i])));
    }
  }
  await labelRoles(ctx, [...L, ...F], pass);
  status('Ready', 'RedisCluster is ready', followers);
}

/** How many slots a CLUSTER NODES slot list covers ("0-5460", "5461"; open-slot markers "[..]" are not owned). */
function slotCount(slots: string[]): number {
  let total = 0;
  for (const s of slots) {
    if (s.startsWith('[')) continue;
    const [a, b] = s.split('-').map(Number);
    total += (b ?? a) - a + 1;
  }
  return total;
}

/**
 * A RedisCluster whose clusterSize shrank, as OT's controller handles it (rediscluster_controller.go, downscale):
 * for each shard from the highest index down to the new size, make its leader pod the master again if it is a
 * replica (ClusterFailover), remove the nodes replicating it (RemoveRedisFollowerNodesFromCluster: `redis-cli
 * --cluster del-node`), move its slots and their keys to a remaining leader (ReshardRedisCluster: `--cluster
 * reshard --cluster-from <it> --cluster-to <leader-0>`), remove it (del-node); then `--cluster rebalance` spreads
 * the slots over the remaining masters (RebalanceRedisCluster). The caller then scales the StatefulSets down.
 */
async function scaleDown(ctx: ClusterContext, cr: KObject, size: number, pass: string | undefined): Promise<void> {
  const n = cr.metadata.name;
  const ns = cr.metadata.namespace ?? 'default';
  const log = (m: string) => ctx.log(`ot-operator: cluster ${ns}/${n}: ${m}`);
  const ep = (p: KObject): Endpoint => ({ ip: podIP(p) ?? '', port: 6379, password: pass });
  const leaders = podsOf(ctx, ns, `app=${n}-leader`).sort((a, b) => ordinal(a) - ordinal(b));
  const followers = podsOf(ctx, ns, `app=${n}-follower`);
  const kept = leaders.filter((p) => ordinal(p) < size && isPodReady(p) && podIP(p));
  if (kept.length === 0) throw new Error('scale-down: no remaining leader answers');
  const entry = ep(kept[0]);
  const at = `${entry.ip}:${entry.port}`;
  const nodeOf = async (p: KObject | undefined) => (p && podIP(p) ? (await clusterNodes(entry)).find((v) => v.addr === `${podIP(p)}:6379` && !v.flags.includes('noaddr')) : undefined);
  const gone = leaders.filter((p) => ordinal(p) >= size).sort((a, b) => ordinal(b) - ordinal(a));
  let changed = false;
  if (await hasOpenSlots(entry)) await redisCliCluster(entry, ['fix', at]);
  for (const leader of gone) {
    const i = ordinal(leader);
    let node = await nodeOf(leader);
    if (node?.flags.includes('slave')) {
      // the shard's leader pod is a replica right now: a manual failover makes it the master again (ClusterFailover)
      log(`scale-down: ${leader.metadata.name} is a replica, failing over to it`);
      await redisCall(ep(leader), ['CLUSTER', 'FAILOVER']);
      await until(`${leader.metadata.name} to be a master`, 30_000, async () => !!(await nodeOf(leader))?.flags.includes('master'), 300);
      node = await nodeOf(leader);
    }
    if (!node) continue;
    const leaderId = node.id;
    const view = await clusterNodes(entry);
    const follower = followers.find((f) => ordinal(f) === i);
    const replicaIds = new Set(view.filter((v) => v.master === leaderId).map((v) => v.id));
    const fnode = await nodeOf(follower);
    if (fnode?.flags.includes('slave')) replicaIds.add(fnode.id);
    for (const id of replicaIds) {
      log(`scale-down: removing follower ${id.slice(0, 8)} of shard ${i}`);
      await redisCliCluster(entry, ['del-node', at, id]);
      changed = true;
    }
    const slots = slotCount(node.slots);
    if (slots > 0) {
      const to = (await clusterNodes(entry)).find((v) => v.addr === at && v.flags.includes('master') && !v.flags.includes('fail'))
        ?? (await clusterNodes(entry)).find((v) => v.id !== leaderId && v.flags.includes('master') && v.slots.length > 0 && !v.flags.includes('fail'));
      if (!to) throw new Error(`scale-down: no master to take the ${slots} slots of ${leader.metadata.name}`);
      log(`scale-down: resharding ${slots} slots of ${leader.metadata.name} to ${to.addr}`);
      recordEvent(ctx, cr, 'Normal', 'ScaleDown', `Moving ${slots} slots of ${leader.metadata.name} to ${to.addr}`, 'redis-operator');
      await redisCliCluster(entry, ['reshard', at, '--cluster-from', leaderId, '--cluster-to', to.id, '--cluster-slots', String(slots), '--cluster-yes']);
    }
    log(`scale-down: removing leader ${leader.metadata.name} (${leaderId.slice(0, 8)})`);
    await redisCliCluster(entry, ['del-node', at, leaderId]);
    changed = true;
  }
  // followers of removed shards that replicate a remaining leader (after failovers) leave too
  for (const f of followers.filter((p) => ordinal(p) >= size)) {
    const fnode = await nodeOf(f);
    if (fnode && fnode.flags.includes('slave')) {
      await redisCliCluster(entry, ['del-node', at, fnode.id]);
      changed = true;
    }
  }
  // del-node sends CLUSTER FORGET to the nodes it knows, one by one, and stops at the first that fails; a pass that
  // retries no longer finds the node from the entry point. Forget a removed pod's node on every remaining node that
  // still lists it, so the StatefulSets shrink over a cluster that no longer names them.
  const removedAddrs = new Set([...leaders, ...followers].filter((p) => ordinal(p) >= size && podIP(p)).map((p) => `${podIP(p)}:6379`));
  for (const p of [...leaders, ...followers].filter((x) => ordinal(x) < size && podIP(x))) {
    const view = await clusterNodes(ep(p)).catch(() => []);
    for (const v of view.filter((x) => removedAddrs.has(x.addr) && !x.flags.includes('myself'))) {
      log(`scale-down: ${p.metadata.name} still lists removed node ${v.id.slice(0, 8)}: CLUSTER FORGET`);
      await redisCall(ep(p), ['CLUSTER', 'FORGET', v.id]).catch(() => undefined);
    }
  }
  if (changed) {
    log('scale-down: rebalancing the remaining masters');
    await addMasters(entry, [], log);
  }
}

function ordinal(p: KObject): number {
  return Number(p.metadata.name.match(/-(\d+)$/)?.[1] ?? 0);
}

async function reconcileReplication(ctx: ClusterContext, cr: KObject): Promise<void> {
  const spec = specOf(cr);
  const n = cr.metadata.name;
  const ns = cr.metadata.namespace ?? 'default';
  const size = spec.clusterSize ?? 3;
  const pass = password(ctx, cr);
  const labels = { app: n, redis_setup_type: 'replication', role: 'replication' };
  ensureObject(ctx, 'statefulsets.apps', statefulSet(cr, n, labels, size, redisContainer(spec, n, 'replication'), true, false), cr, ['replicas', 'template']);
  services(ctx, cr, n, labels, 6379);
  for (const [suffix, role] of [['master', 'master'], ['replica', 'slave']] as const) {
    ensureObject(ctx, 'services', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: `${n}-${suffix}`, namespace: ns, labels },
      spec: { selector: { ...labels, 'redis-role': role }, ports: [{ name: 'redis-client', port: 6379, targetPort: 6379 }] },
    }, cr);
  }
  pdb(ctx, cr, `${n}-replication`, labels, spec.pdb);
  const pods = podsOf(ctx, ns, `app=${n},redis_setup_type=replication`);
  if (!allReady(pods, size)) return setStatus(ctx, KEY.replication, cr, { state: 'Initializing' });
  const ep = (p: KObject): Endpoint => ({ ip: podIP(p) ?? '', port: 6379, password: pass });
  // a "real master" is a master with replicas; without one, pod 0 becomes it (CheckIfRealMaster / CreateMasterSlaveReplication)
  const views = await Promise.all(pods.map(async (p) => ({ p, info: await redisCall(ep(p), ['INFO', 'replication']).then(String).catch(() => '') })));
  const real = views.filter((v) => /role:master/.test(v.info) && !/connected_slaves:0/.test(v.info));
  const master = real.length === 1 ? real[0].p : real.length === 0 ? [...pods].sort((a, b) => ordinal(a) - ordinal(b))[0] : undefined;
  if (master) {
    for (const v of views) {
      if (v.p === master) continue;
      const following = v.info.match(/master_host:(\S+)/)?.[1];
      if (following !== podIP(master)) await redisCall(ep(v.p), ['REPLICAOF', podIP(master) ?? '', 6379]).catch(() => undefined);
    }
  }
  await labelRoles(ctx, pods, pass);
  setStatus(ctx, KEY.replication, cr, { state: 'Ready', masterNode: master?.metadata.name });
}

/**
 * A standalone Redis (kind Redis), as OT's redis-standalone.go makes it: StatefulSet <n> with one replica, labels
 * app=<n>, redis_setup_type=standalone, role=standalone, Services <n> and <n>-headless. No role label (OT sets
 * redis-role only on cluster and replication pods).
 */
async function reconcileStandalone(ctx: ClusterContext, cr: KObject): Promise<void> {
  const spec = specOf(cr);
  const n = cr.metadata.name;
  const ns = cr.metadata.namespace ?? 'default';
  const labels = { app: n, redis_setup_type: 'standalone', role: 'standalone' };
  ensureObject(ctx, 'statefulsets.apps', statefulSet(cr, n, labels, 1, redisContainer(spec, n, 'standalone'), true, false), cr, ['replicas', 'template']);
  services(ctx, cr, n, labels, 6379);
  const pods = podsOf(ctx, ns, `app=${n},redis_setup_type=standalone`);
  setStatus(ctx, KEY.standalone, cr, { state: allReady(pods, 1) ? 'Ready' : 'Initializing' });
}

async function reconcileSentinel(ctx: ClusterContext, cr: KObject): Promise<void> {
  const spec = specOf(cr);
  const n = cr.metadata.name;
  const ns = cr.metadata.namespace ?? 'default';
  const size = spec.clusterSize ?? 3;
  const replication = spec.redisSentinelConfig?.redisReplicationName ?? '';
  const rr = ctx.store.get(KEY.replication, ns, replication);
  const masterPod = podsOf(ctx, ns, `app=${replication},redis-role=master`)[0];
  // the sentinel StatefulSet is created with the replication master's IP at that moment, as the operator does
  if (!rr || !masterPod || !podIP(masterPod)) return setStatus(ctx, KEY.sentinel, cr, { state: 'Initializing', reason: `waiting for RedisReplication ${replication}` });
  const labels = { app: `${n}-sentinel`, redis_setup_type: 'sentinel', role: 'sentinel' };
  const existing = ctx.store.get('statefulsets.apps', ns, `${n}-sentinel`);
  const masterIp = existing ? envOf(existing, 'IP') ?? podIP(masterPod) : podIP(masterPod);
  const container: Obj = {
    name: `${n}-sentinel`,
    image: 'quay.io/opstree/redis-sentinel:v7.0.12',
    env: [
      { name: 'MASTER_GROUP_NAME', value: spec.redisSentinelConfig?.masterGroupName ?? 'myMaster' },
      { name: 'IP', value: masterIp },
      { name: 'PORT', value: '6379' },
      { name: 'QUORUM', value: spec.redisSentinelConfig?.quorum ?? '2' },
      { name: 'DOWN_AFTER_MILLISECONDS', value: '5000' },
      { name: 'FAILOVER_TIMEOUT', value: '10000' },
      ...passwordEnv(spec).map((e) => ({ ...e, name: 'MASTER_PASSWORD' })),
    ],
    ports: [{ name: 'sentinel', containerPort: 26379 }],
  };
  ensureObject(ctx, 'statefulsets.apps', statefulSet(cr, `${n}-sentinel`, labels, size, container, false, false), cr, ['replicas', 'template']);
  services(ctx, cr, `${n}-sentinel`, labels, 26379);
  pdb(ctx, cr, `${n}-sentinel`, labels, spec.pdb);
  const pods = podsOf(ctx, ns, `app=${n}-sentinel`);
  setStatus(ctx, KEY.sentinel, cr, { state: allReady(pods, size) ? 'Ready' : 'Initializing' });
}

function envOf(sts: KObject, name: string): string | undefined {
  const cs = obj(obj(obj(sts.spec).template).spec).containers;
  for (const c of Array.isArray(cs) ? cs : []) {
    const env = obj(c).env;
    for (const e of Array.isArray(env) ? env : []) if (obj(e).name === name && typeof obj(e).value === 'string') return String(obj(e).value);
  }
  return undefined;
}

/** The OT operator of one cluster: a loop that runs while its Deployment runs (requeue 10 s, as OT's). */
export function startOtOperator(ctx: ClusterContext): Loop {
  const pass = async (): Promise<void> => {
    const op = operatorRunning(ctx, OT_NAMESPACE, OT_DEPLOYMENT);
    if (!op.running) return;
    const version = imageTag(op.image);
    const kinds: Array<[keyof typeof KEY, (c: ClusterContext, cr: KObject) => Promise<void>]> = [
      ['standalone', reconcileStandalone], ['replication', reconcileReplication], ['sentinel', reconcileSentinel], ['cluster', reconcileCluster],
    ];
    for (const [kind, reconcile] of kinds) {
      for (const cr of ctx.store.list(KEY[kind]).items) {
        if (cr.metadata.deletionTimestamp || otPaused(cr, OT_PAUSE[kind], version)) continue;
        try {
          await reconcile(ctx, cr);
        } catch (e) {
          ctx.log(`ot-operator: ${kind} ${cr.metadata.namespace}/${cr.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  };
  return startLoop(ctx, 'ot-operator', [...Object.values(KEY), 'statefulsets.apps', 'pods', 'deployments.apps'], pass, { resyncMs: 10_000, debounceMs: 300 });
}
