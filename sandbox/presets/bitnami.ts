// Bitnami charts rendered as the chart would (redis-cluster 13.x): plain StatefulSet, Services, PDB and Secret with
// the chart's names and labels. No controller: the chart's creator job (`redis-cli --cluster create`) is what
// `bootstrapBitnamiCluster` does once the pods answer.
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { ensureObject, formCluster, isFresh, podIP, podsOf, redisCall, redisText, setPodLabel, type Endpoint } from '../operators/kit.js';

export function bitnamiClusterObjects(ns: string, name: string, password: string, nodes = 6): KObject[] {
  const selector = { 'app.kubernetes.io/name': 'redis-cluster', 'app.kubernetes.io/instance': name };
  const labels = { ...selector, 'app.kubernetes.io/managed-by': 'Helm', 'helm.sh/chart': 'redis-cluster-13.0.5' };
  const hosts = Array.from({ length: nodes }, (_, i) => `${name}-${i}.${name}-headless`).join(' ');
  return [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns, labels }, type: 'Opaque', data: { 'redis-password': Buffer.from(password).toString('base64') } },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: `${name}-headless`, namespace: ns, labels },
      spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector, ports: [{ name: 'tcp-redis', port: 6379, targetPort: 'tcp-redis' }, { name: 'tcp-redis-bus', port: 16379, targetPort: 'tcp-redis-bus' }] },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, labels }, spec: { type: 'ClusterIP', selector, ports: [{ name: 'tcp-redis', port: 6379, targetPort: 'tcp-redis' }] } },
    { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace: ns, labels }, spec: { maxUnavailable: 1, selector: { matchLabels: selector } } },
    {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name, namespace: ns, labels },
      spec: {
        replicas: nodes,
        serviceName: `${name}-headless`,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            containers: [{
              name: 'redis-cluster', image: 'docker.io/bitnami/redis-cluster:7.0.15-debian-12-r0',
              command: ['/bin/bash', '-c'],
              args: ['# Backwards compatibility change\nif ! [[ -f /opt/bitnami/redis/etc/redis.conf ]]; then\n    echo COPYING FILE\n    cp  /opt/bitnami/redis/etc/redis-default.conf /opt/bitnami/redis/etc/redis.conf\nfi\npod_index=($(echo "$POD_NAME" | tr "-" "\\n"))\npod_index="${pod_index[-1]}"\nif [[ "$pod_index" == "0" ]]; then\n  export REDIS_CLUSTER_CREATOR="yes"\n  export REDIS_CLUSTER_REPLICAS="1"\nfi\n/opt/bitnami/scripts/redis-cluster/entrypoint.sh /opt/bitnami/scripts/redis-cluster/run.sh\n'],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'REDIS_NODES', value: hosts },
                { name: 'REDISCLI_AUTH', valueFrom: { secretKeyRef: { name, key: 'redis-password' } } },
                { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name, key: 'redis-password' } } },
                { name: 'REDIS_AOF_ENABLED', value: 'yes' },
                { name: 'REDIS_TLS_ENABLED', value: 'no' },
                { name: 'REDIS_PORT_NUMBER', value: '6379' },
              ],
              ports: [{ name: 'tcp-redis', containerPort: 6379 }, { name: 'tcp-redis-bus', containerPort: 16379 }],
              volumeMounts: [{ name: 'redis-data', mountPath: '/bitnami/redis/data' }],
            }],
          },
        },
        volumeClaimTemplates: [{ metadata: { name: 'redis-data', labels: selector }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    },
  ];
}

/** What the chart's creator does: `redis-cli --cluster create --cluster-replicas 1` over every node, once. */
export async function bootstrapBitnamiCluster(ctx: ClusterContext, ns: string, name: string, password: string): Promise<void> {
  const pods = podsOf(ctx, ns, `app.kubernetes.io/name=redis-cluster,app.kubernetes.io/instance=${name}`).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name, undefined, { numeric: true }));
  const ep = (p: KObject): Endpoint => ({ ip: podIP(p) ?? '', port: 6379, password });
  if (!(await Promise.all(pods.map((p) => isFresh(ep(p))))).every(Boolean)) return;
  const m = Math.ceil(pods.length / 2);
  await formCluster(pods.slice(0, m).map(ep), pods.slice(m).map((p, i) => ({ node: ep(p), master: i % m })));
}

export function applyObjects(ctx: ClusterContext, objects: KObject[]): void {
  const keyOf: Record<string, string> = {
    Secret: 'secrets', Service: 'services', PodDisruptionBudget: 'poddisruptionbudgets.policy', StatefulSet: 'statefulsets.apps',
    Deployment: 'deployments.apps', Namespace: 'namespaces', ConfigMap: 'configmaps',
  };
  for (const o of objects) {
    const key = keyOf[o.kind];
    if (!key) throw new Error(`preset: no store key for kind ${o.kind}`);
    ensureObject(ctx, key, o, undefined);
  }
}

/**
 * The Bitnami redis chart with sentinel (23.x) on its default values (auth.enabled, auth.sentinel, useHostnames,
 * replica.replicaCount 3, OrderedReady), except sentinel.downAfterMilliseconds 5000 and failoverTimeout 10000 (chart
 * defaults 60000 / 180000) so failovers fit in a test: StatefulSet <name>-node, a redis and a sentinel container
 * per pod running the chart's start-node.sh / start-sentinel.sh (emulated in sandbox/kubelet/images/bitnami-sentinel.ts
 * from bitnami/charts bitnami/redis/templates/scripts-configmap.yaml), the ConfigMaps <name>-configuration (redis.conf,
 * master.conf, replica.conf, sentinel.conf as configmap.yaml renders them; the default disableCommands renames are left
 * out) and <name>-scripts, Services <name> and <name>-headless (publishNotReadyAddresses), Secret <name>.
 * node-0 starts alone and is the master; every later start asks the sentinels and replicates whom they name.
 */
export function bitnamiSentinelObjects(ns: string, name: string, password: string, nodes = 3): KObject[] {
  const selector = { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': name, 'app.kubernetes.io/component': 'node' };
  const labels = { ...selector, 'app.kubernetes.io/managed-by': 'Helm', 'helm.sh/chart': 'redis-23.1.1' };
  const secretEnv = (envName: string) => ({ name: envName, valueFrom: { secretKeyRef: { name, key: 'redis-password' } } });
  const headless = `${name}-headless.${ns}.svc.cluster.local`;
  const script = (file: string) => ({ command: ['/bin/bash', '-c'], args: [`/opt/bitnami/scripts/start-scripts/${file}`] });
  return [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns, labels }, type: 'Opaque', data: { 'redis-password': Buffer.from(password).toString('base64') } },
    {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-configuration`, namespace: ns, labels },
      data: {
        'redis.conf': '# Enable AOF https://redis.io/topics/persistence#append-only-file\nappendonly yes\n# Disable RDB persistence, AOF persistence already enabled.\nsave ""\n',
        'master.conf': 'dir /data\n',
        'replica.conf': 'dir /data\n',
        'sentinel.conf': `dir "/tmp"\nport 26379\nsentinel resolve-hostnames yes\nsentinel announce-hostnames yes\nsentinel monitor mymaster ${name}-node-0.${headless} 6379 2\nsentinel down-after-milliseconds mymaster 5000\nsentinel failover-timeout mymaster 10000\nsentinel parallel-syncs mymaster 1\n`,
      },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-scripts`, namespace: ns, labels }, data: { 'start-node.sh': '# the chart\'s start-node.sh (emulated by the sandbox kubelet)\n', 'start-sentinel.sh': '# the chart\'s start-sentinel.sh (emulated by the sandbox kubelet)\n' } },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: `${name}-headless`, namespace: ns, labels },
      spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector, ports: [{ name: 'tcp-redis', port: 6379, targetPort: 'redis' }, { name: 'tcp-sentinel', port: 26379, targetPort: 'redis-sentinel' }] },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, labels }, spec: { type: 'ClusterIP', selector, ports: [{ name: 'tcp-redis', port: 6379, targetPort: 6379 }, { name: 'tcp-sentinel', port: 26379, targetPort: 26379 }] } },
    { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace: ns, labels }, spec: { maxUnavailable: 1, selector: { matchLabels: selector } } },
    {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: `${name}-node`, namespace: ns, labels },
      spec: {
        replicas: nodes,
        serviceName: `${name}-headless`,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'redis', image: 'docker.io/bitnami/redis:7.0.15-debian-12-r0', ...script('start-node.sh'),
                env: [
                  { name: 'BITNAMI_DEBUG', value: 'false' }, { name: 'REDIS_MASTER_PORT_NUMBER', value: '6379' }, { name: 'ALLOW_EMPTY_PASSWORD', value: 'no' },
                  secretEnv('REDIS_PASSWORD'), secretEnv('REDIS_MASTER_PASSWORD'), { name: 'REDIS_TLS_ENABLED', value: 'no' }, { name: 'REDIS_PORT', value: '6379' },
                  { name: 'REDIS_SENTINEL_TLS_ENABLED', value: 'no' }, { name: 'REDIS_SENTINEL_PORT', value: '26379' }, { name: 'REDIS_DATA_DIR', value: '/data' },
                ],
                ports: [{ name: 'redis', containerPort: 6379 }],
                volumeMounts: [
                  { name: 'start-scripts', mountPath: '/opt/bitnami/scripts/start-scripts' }, { name: 'redis-data', mountPath: '/data' },
                  { name: 'config', mountPath: '/opt/bitnami/redis/mounted-etc' }, { name: 'empty-dir', mountPath: '/opt/bitnami/redis/etc', subPath: 'app-conf-dir' },
                ],
              },
              {
                name: 'sentinel', image: 'docker.io/bitnami/redis-sentinel:7.0.15-debian-12-r0', ...script('start-sentinel.sh'),
                env: [
                  { name: 'BITNAMI_DEBUG', value: 'false' }, secretEnv('REDIS_PASSWORD'), { name: 'REDIS_SENTINEL_TLS_ENABLED', value: 'no' }, { name: 'REDIS_SENTINEL_PORT', value: '26379' },
                ],
                ports: [{ name: 'redis-sentinel', containerPort: 26379 }],
                volumeMounts: [
                  { name: 'start-scripts', mountPath: '/opt/bitnami/scripts/start-scripts' }, { name: 'sentinel-data', mountPath: '/opt/bitnami/redis-sentinel/etc', subPath: 'sentinel-conf-dir' },
                  { name: 'redis-data', mountPath: '/data' }, { name: 'config', mountPath: '/opt/bitnami/redis-sentinel/mounted-etc' },
                ],
              },
            ],
            volumes: [
              { name: 'start-scripts', configMap: { name: `${name}-scripts`, defaultMode: 493 } },
              { name: 'config', configMap: { name: `${name}-configuration` } },
              { name: 'sentinel-data', emptyDir: {} },
              { name: 'empty-dir', emptyDir: {} },
            ],
          },
        },
        volumeClaimTemplates: [{ metadata: { name: 'redis-data', labels: selector }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    },
  ];
}

/** The chart's start scripts did the replication (node-0 alone at first start is the master); isMaster labels as the
 * pods are found. */
export async function bootstrapBitnamiSentinel(ctx: ClusterContext, ns: string, name: string, password: string): Promise<void> {
  const pods = podsOf(ctx, ns, `app.kubernetes.io/name=redis,app.kubernetes.io/instance=${name}`);
  for (const p of pods) {
    const ip = podIP(p);
    if (!ip) throw new Error(`${p.metadata.name} has no IP yet`);
    const role = await redisText({ ip, port: 6379, password }, ['ROLE']);
    setPodLabel(ctx, p, 'isMaster', role.startsWith('master') ? 'true' : 'false');
  }
}

/**
 * The Bitnami redis chart with architecture=replication and no sentinel (23.x): StatefulSets <name>-master (1 pod)
 * and <name>-replicas, Services <name>-headless, <name>-master, <name>-replicas, PDBs <name>-master and
 * <name>-replicas, Secret <name> key redis-password. The replicas' start script (start-replicas.sh) runs
 * redis-server --replicaof <name>-master-0.<name>-headless.<ns>.svc.cluster.local 6379; no role labels.
 */
const masterHostOf = (ns: string, name: string): string => `${name}-master-0.${name}-headless.${ns}.svc.cluster.local`;

export function bitnamiReplicationObjects(ns: string, name: string, password: string, replicas = 3): KObject[] {
  const base = { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': name };
  const common = { ...base, 'app.kubernetes.io/managed-by': 'Helm', 'helm.sh/chart': 'redis-23.1.1' };
  const secretEnv = (envName: string) => ({ name: envName, valueFrom: { secretKeyRef: { name, key: 'redis-password' } } });
  const masterHost = masterHostOf(ns, name);
  const sts = (component: 'master' | 'replica', stsName: string, count: number, env: object[]): KObject => {
    const selector = { ...base, 'app.kubernetes.io/component': component };
    const labels = { ...common, 'app.kubernetes.io/component': component };
    return {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: stsName, namespace: ns, labels },
      spec: {
        replicas: count,
        serviceName: `${name}-headless`,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            containers: [{
              name: 'redis', image: 'docker.io/bitnami/redis:7.0.15-debian-12-r0',
              command: ['/bin/bash'], args: ['-c', `/opt/bitnami/scripts/start-scripts/start-${component}.sh`],
              env: [...env, { name: 'ALLOW_EMPTY_PASSWORD', value: 'no' }, secretEnv('REDIS_PASSWORD'), { name: 'REDIS_TLS_ENABLED', value: 'no' }, { name: 'REDIS_PORT', value: '6379' }],
              ports: [{ name: 'redis', containerPort: 6379 }],
              volumeMounts: [{ name: 'redis-data', mountPath: '/data' }],
            }],
          },
        },
        volumeClaimTemplates: [{ metadata: { name: 'redis-data', labels: selector }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '8Gi' } } } }],
      },
    };
  };
  const svc = (svcName: string, component: string | undefined, extra: object = {}): KObject => ({
    apiVersion: 'v1', kind: 'Service', metadata: { name: svcName, namespace: ns, labels: { ...common, ...(component ? { 'app.kubernetes.io/component': component } : {}) } },
    spec: { selector: { ...base, ...(component ? { 'app.kubernetes.io/component': component } : {}) }, ports: [{ name: 'tcp-redis', port: 6379, targetPort: 'redis' }], ...extra },
  });
  const pdb = (pdbName: string, component: string): KObject => ({
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: pdbName, namespace: ns, labels: { ...common, 'app.kubernetes.io/component': component } },
    spec: { maxUnavailable: 1, selector: { matchLabels: { ...base, 'app.kubernetes.io/component': component } } },
  });
  return [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns, labels: common }, type: 'Opaque', data: { 'redis-password': Buffer.from(password).toString('base64') } },
    svc(`${name}-headless`, undefined, { clusterIP: 'None' }),
    svc(`${name}-master`, 'master', { type: 'ClusterIP' }),
    svc(`${name}-replicas`, 'replica', { type: 'ClusterIP' }),
    pdb(`${name}-master`, 'master'),
    pdb(`${name}-replicas`, 'replica'),
    sts('master', `${name}-master`, 1, [{ name: 'REDIS_REPLICATION_MODE', value: 'master' }]),
    sts('replica', `${name}-replicas`, replicas, [
      { name: 'REDIS_REPLICATION_MODE', value: 'replica' },
      { name: 'REDIS_MASTER_HOST', value: masterHost },
      { name: 'REDIS_MASTER_PORT_NUMBER', value: '6379' },
      secretEnv('REDIS_MASTER_PASSWORD'),
    ]),
  ];
}

/**
 * start-replicas.sh resolves the master's headless name when a replica starts; a replica that started before
 * <name>-master-0 had an address follows nothing yet. In a real cluster DNS answers once the master pod exists and
 * the replica's retries connect: here the replicas that do not follow the master's address are pointed at it.
 */
export async function bootstrapBitnamiReplication(ctx: ClusterContext, ns: string, name: string, password: string): Promise<void> {
  const master = podsOf(ctx, ns, `app.kubernetes.io/instance=${name},app.kubernetes.io/component=master`)[0];
  const masterIp = master ? podIP(master) : undefined;
  if (!masterIp) throw new Error(`${name}-master-0 has no IP yet`);
  for (const p of podsOf(ctx, ns, `app.kubernetes.io/instance=${name},app.kubernetes.io/component=replica`)) {
    const ip = podIP(p);
    if (!ip) throw new Error(`${p.metadata.name} has no IP yet`);
    const info = await redisText({ ip, port: 6379, password }, ['INFO', 'replication']);
    // with cluster DNS the replica follows the name it was started with (start-replicas.sh); without, an IP
    if (!info.includes(`master_host:${masterIp}\r`) && !info.includes(`master_host:${masterHostOf(ns, name)}\r`)) await redisCall({ ip, port: 6379, password }, ['REPLICAOF', masterIp, 6379]);
  }
}
