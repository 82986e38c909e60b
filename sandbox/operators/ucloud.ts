// ucloud redis-cluster-operator (redis.kun/v1alpha1 DistributedRedisCluster): one StatefulSet drc-<n>-<i> per
// shard (clusterReplicas+1 pods), a headless Service <svc>-<i> each and a client Service <svc>, PDBs drc-<n>-<i>
// (maxUnavailable 1), a ConfigMap with redis.conf and fix-ip.sh (which rewrites the node's own IP in nodes.conf on
// start). It bootstraps pod 0 of each StatefulSet as the shard's master and the rest as its replicas, adds new
// pods on a scale-up (new shards as masters with rebalanced slots, new replicas to their shard's master), resets
// replicas drift, and reports status.nodes. It has no pause: only scaling the operator to 0 stops it.
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { startLoop, type Loop, type Obj } from '../controllers/util.js';
import { addMasters, allReady, attachReplica, clusterNodes, crd, ensureObject, formCluster, isFresh, operatorRunning, podIP, podsOf, redisCall, secretValue, setStatus, type Endpoint } from './kit.js';

export const DRC_GROUP = 'redis.kun';
export const DRC_KEY = `distributedredisclusters.${DRC_GROUP}`;
export const UCLOUD_NAMESPACE = 'ucloud';
export const UCLOUD_DEPLOYMENT = 'redis-cluster-operator';

export function drcCrd(): KObject {
  return crd(DRC_GROUP, ['v1alpha1'], 'DistributedRedisCluster', 'distributedredisclusters', ['drc'], { status: true });
}

interface DrcSpec {
  masterSize?: number;
  clusterReplicas?: number;
  image?: string;
  serviceName?: string;
  passwordSecret?: { name?: string };
}

const FIX_IP = `#!/bin/sh
CLUSTER_CONFIG="/data/nodes.conf"
if [ -f \${CLUSTER_CONFIG} ]; then
  if [ -z "\${POD_IP}" ]; then
    echo "Unable to determine Pod IP address!"
    exit 1
  fi
  echo "Updating my IP to \${POD_IP} in \${CLUSTER_CONFIG}"
  sed -i.bak -e "/myself/ s/ .*:6379@16379/ \${POD_IP}:6379@16379/" \${CLUSTER_CONFIG}
fi
exec "$@"
`;

function stsObject(cr: KObject, i: number, spec: DrcSpec): KObject {
  const n = cr.metadata.name;
  const name = `drc-${n}-${i}`;
  const svc = spec.serviceName ?? n;
  const labels = { 'managed-by': 'redis-cluster-operator', 'redis.kun/name': n, statefulSet: name };
  const auth = spec.passwordSecret?.name ? ['--requirepass', '$(REDIS_PASSWORD)', '--masterauth', '$(REDIS_PASSWORD)'] : [];
  const env: Obj[] = [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }];
  if (spec.passwordSecret?.name) env.push({ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: spec.passwordSecret.name, key: 'password' } } });
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet',
    metadata: { name, namespace: cr.metadata.namespace, labels },
    spec: {
      replicas: (spec.clusterReplicas ?? 1) + 1,
      serviceName: `${svc}-${i}`,
      podManagementPolicy: 'OrderedReady',
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [{
            name: 'redis', image: spec.image ?? 'redis:5.0.4-alpine',
            command: ['/conf/fix-ip.sh', 'redis-server', '/conf/redis.conf'],
            args: ['--cluster-announce-ip', '$(POD_IP)', ...auth],
            env,
            ports: [{ name: 'client', containerPort: 6379 }, { name: 'gossip', containerPort: 16379 }],
            volumeMounts: [{ name: 'conf', mountPath: '/conf' }, { name: 'redis-data', mountPath: '/data' }],
          }],
          volumes: [{ name: 'conf', configMap: { name: `redis-cluster-${n}`, defaultMode: 0o755 } }],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'redis-data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  };
}

async function reconcile(ctx: ClusterContext, cr: KObject): Promise<void> {
  const spec = (cr.spec ?? {}) as DrcSpec;
  const n = cr.metadata.name;
  const ns = cr.metadata.namespace ?? 'default';
  const shards = spec.masterSize ?? 3;
  const per = (spec.clusterReplicas ?? 1) + 1;
  const svc = spec.serviceName ?? n;
  const base = { 'managed-by': 'redis-cluster-operator', 'redis.kun/name': n };
  ensureObject(ctx, 'configmaps', {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `redis-cluster-${n}`, namespace: ns, labels: base },
    data: { 'fix-ip.sh': FIX_IP, 'redis.conf': 'cluster-enabled yes\ncluster-config-file /data/nodes.conf\ncluster-node-timeout 10000\nappendonly yes\ndir /data\n' },
  } as KObject, cr);
  for (let i = 0; i < shards; i++) {
    const sts = stsObject(cr, i, spec);
    ensureObject(ctx, 'statefulsets.apps', sts, cr, ['replicas', 'template']);
    const labels = sts.metadata.labels ?? {};
    ensureObject(ctx, 'services', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: `${svc}-${i}`, namespace: ns, labels },
      spec: { clusterIP: 'None', selector: labels, ports: [{ name: 'client', port: 6379 }, { name: 'gossip', port: 16379 }] },
    }, cr);
    ensureObject(ctx, 'poddisruptionbudgets.policy', {
      apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: sts.metadata.name, namespace: ns, labels },
      spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
    }, cr);
  }
  ensureObject(ctx, 'services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: svc, namespace: ns, labels: base },
    spec: { selector: base, ports: [{ name: 'client', port: 6379 }, { name: 'gossip', port: 16379 }] },
  }, cr);
  const pass = secretValue(ctx, ns, spec.passwordSecret?.name, 'password');
  const pods = podsOf(ctx, ns, `redis.kun/name=${n}`);
  if (!allReady(pods, shards * per)) return setStatus(ctx, DRC_KEY, cr, { status: 'Creating', reason: 'waiting for pods' });
  const ep = (p: KObject): Endpoint => ({ ip: podIP(p) ?? '', port: 6379, password: pass });
  const shardPods = Array.from({ length: shards }, (_, i) => pods.filter((p) => p.metadata.labels?.statefulSet === `drc-${n}-${i}`).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)));
  const masters = shardPods.map((s) => s[0]);
  const fresh = new Map(await Promise.all(pods.map(async (p) => [p.metadata.name, await isFresh(ep(p)).catch(() => false)] as const)));
  if (pods.every((p) => fresh.get(p.metadata.name))) {
    setStatus(ctx, DRC_KEY, cr, { status: 'Creating', reason: 'bootstrapping' });
    await formCluster(masters.map(ep), shardPods.flatMap((s, i) => s.slice(1).map((p) => ({ node: ep(p), master: i }))));
  } else if (pods.some((p) => fresh.get(p.metadata.name))) {
    // a scale-up (masterSize or clusterReplicas): new shards' pod 0 join as masters and get slots, the other new pods
    // join as replicas of their shard's master
    setStatus(ctx, DRC_KEY, cr, { status: 'Scaling', reason: 'adding nodes' });
    const joined = pods.find((p) => !fresh.get(p.metadata.name));
    if (!joined) return;
    const newMasters = shardPods.filter((s) => s.every((p) => fresh.get(p.metadata.name))).map((s) => s[0]);
    await addMasters(ep(joined), newMasters.map(ep), (m) => ctx.log(`ucloud-operator: ${ns}/${n}: ${m}`));
    const view = await clusterNodes(ep(joined));
    for (const s of shardPods) {
      const masterOf = view.find((v) => v.flags.includes('master') && s.some((p) => v.addr === `${podIP(p)}:6379`) && v.slots.length > 0);
      if (!masterOf) continue;
      for (const p of s) {
        if (!fresh.get(p.metadata.name) || newMasters.includes(p)) continue;
        await redisCall(ep(p), ['CLUSTER', 'MEET', podIP(joined) ?? '', 6379]);
        await attachReplica(ep(p), masterOf.id);
      }
    }
  }
  const view = await clusterNodes(ep(masters[0]));
  const byIp = new Map(pods.map((p) => [podIP(p), p.metadata.name]));
  const nodes = view.map((v) => ({
    id: v.id, ip: v.addr.split(':')[0], port: '6379', podName: byIp.get(v.addr.split(':')[0]) ?? '',
    role: v.flags.includes('master') ? 'Master' : 'Slave', masterId: v.master === '-' ? undefined : v.master, slots: v.slots,
  }));
  const ok = view.every((v) => !v.flags.includes('fail') && !v.flags.includes('fail?'));
  setStatus(ctx, DRC_KEY, cr, { status: ok ? 'Healthy' : 'Failed', numberOfMaster: nodes.filter((x) => x.role === 'Master').length, nodes });
}

/** The ucloud operator of one cluster: requeue every 60 s while its Deployment runs. */
export function startUcloudOperator(ctx: ClusterContext): Loop {
  const pass = async (): Promise<void> => {
    if (!operatorRunning(ctx, UCLOUD_NAMESPACE, UCLOUD_DEPLOYMENT).running) return;
    for (const cr of ctx.store.list(DRC_KEY).items) {
      if (cr.metadata.deletionTimestamp) continue;
      try {
        await reconcile(ctx, cr);
      } catch (e) {
        ctx.log(`ucloud-operator: ${cr.metadata.namespace}/${cr.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  return startLoop(ctx, 'ucloud-operator', [DRC_KEY, 'statefulsets.apps', 'deployments.apps', 'pods'], pass, { resyncMs: 60_000, debounceMs: 500 });
}
