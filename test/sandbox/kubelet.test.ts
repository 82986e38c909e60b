// The kubelets with the controllers, running real redis-server processes on loopback pod IPs: a StatefulSet of
// redis:7 with a PVC, exec through the redis-cli shim, re-creation with a new IP, a 6-node Redis Cluster formed with
// `redis-cli --cluster create` (needs bind-source-addr), a node reboot, and the cost of 60 Redis pods.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { Store, type KObject } from '../../sandbox/core/store.js';
import type { ClusterContext } from '../../sandbox/core/context.js';
import { seedCluster } from '../../sandbox/apiserver/seed.js';
import { applyDefaults } from '../../sandbox/apiserver/defaults.js';
import { startControllers } from '../../sandbox/controllers/index.js';
import { startKubelets } from '../../sandbox/kubelet/index.js';
import { planRedis } from '../../sandbox/kubelet/images/redis.js';
import type { ImageInput } from '../../sandbox/kubelet/images/types.js';

const run = promisify(execFile);
type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v !== null && typeof v === 'object' ? (v as Obj) : {});

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function cli(args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', args, { timeout: 15_000 });
  return stdout.trim();
}

describe('kubelet: real redis-server pods', () => {
  let dir: string;
  let store: Store;
  let ctx: ClusterContext;
  const stops: Array<() => Promise<void>> = [];
  const logs: string[] = [];

  const create = (key: string, x: KObject): KObject => {
    applyDefaults(key, x, { create: true, defaultStorageClass: 'standard' });
    return store.create(key, x);
  };
  const statefulSet = (name: string, replicas: number, extra: Obj = {}, container: Obj = {}): KObject => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'redis', image: 'redis:7', ...container }] } },
      ...extra,
    },
  });
  const readyReplicas = (name: string): number => Number(o(store.get('statefulsets.apps', 'default', name)?.status).readyReplicas ?? 0);
  const pod = (name: string): KObject => {
    const p = store.get('pods', 'default', name);
    assert.ok(p, `pod ${name}`);
    return p;
  };
  const ip = (name: string): string => String(o(pod(name).status).podIP);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kr-kubelet-'));
    store = new Store();
    seedCluster(store);
    ctx = { name: 'east', index: 0, podNetPrefix: '127.63', store, dir, storageDir: join(dir, 'storage'), nodeNames: ['east-node-1', 'east-node-2', 'east-node-3'], log: (m) => logs.push(m) };
    stops.push((await startControllers(ctx)).stop);
    stops.push((await startKubelets(ctx)).stop);
  });
  after(async () => {
    while (stops.length) await stops.pop()?.();
    const left = existsSync(join(dir, 'pids')) ? readdirSync(join(dir, 'pids')) : [];
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'every process of the cluster is gone after stop()');
  });

  test('nodes register with labels, addresses, bootID and a Ready heartbeat', async () => {
    const n = await until('node ready', () => {
      const x = store.get('nodes', undefined, 'east-node-2');
      return ((o(x?.status).conditions ?? []) as Obj[]).some((c) => c.type === 'Ready' && c.status === 'True') ? x : undefined;
    });
    assert.equal(n.metadata.labels?.['kubernetes.io/hostname'], 'east-node-2');
    assert.equal(n.metadata.labels?.['kubernetes.io/os'], 'linux');
    assert.ok(n.metadata.labels?.['topology.kubernetes.io/zone']);
    assert.match(String(o(o(n.status).nodeInfo).bootID), /^[0-9a-f-]{36}$/);
    assert.deepEqual((o(n.status).addresses as Obj[]).map((a) => a.type), ['InternalIP', 'Hostname']);
  });

  test('a StatefulSet of redis:7 with a volumeClaimTemplate: 3 Ready pods answering PING, data in the PV dir, exec through the shim', async () => {
    create('statefulsets.apps', statefulSet('web', 3, { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] }, { volumeMounts: [{ name: 'data', mountPath: '/data' }] }));
    await until('3 ready', () => readyReplicas('web') === 3);
    const ips = ['web-0', 'web-1', 'web-2'].map(ip);
    assert.equal(new Set(ips).size, 3);
    for (const a of ips) {
      assert.match(a, /^127\.63\.\d+\.\d+$/);
      assert.equal(await cli(['-h', a, 'PING']), 'PONG');
    }
    const p0 = pod('web-0');
    const cs = (o(p0.status).containerStatuses as Obj[])[0];
    assert.equal(cs.ready, true);
    assert.equal(cs.restartCount, 0);
    assert.ok(o(o(cs.state).running).startedAt);
    assert.equal(o(p0.status).hostIP, '127.63.255.1'.replace(/\.1$/, `.${ctx.nodeNames.indexOf(String(o(p0.spec).nodeName)) + 1}`));
    // data lands in the PV's directory
    await cli(['-h', ips[0], 'SET', 'k', 'v']);
    assert.equal(await cli(['-h', ips[0], 'SAVE']), 'OK');
    const claim = store.get('persistentvolumeclaims', 'default', 'data-web-0');
    const pvDir = String(o(o(store.get('persistentvolumes', undefined, String(o(claim?.spec).volumeName))?.spec).hostPath).path);
    assert.ok(existsSync(join(pvDir, 'dump.rdb')), 'dump.rdb in the PV directory');
    // exec: `redis-cli ping` in the pod reaches the pod's own redis (the shim defaults -h to the pod IP)
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    assert.ok(ctx.runtime);
    const code = await ctx.runtime.exec('default', 'web-1', undefined, ['redis-cli', 'ping'], { stdin: null, stdout: out, stderr: new PassThrough(), tty: false });
    assert.equal(code, 0);
    assert.equal(Buffer.concat(chunks).toString().trim(), 'PONG');
    const info = new PassThrough();
    const infoChunks: Buffer[] = [];
    info.on('data', (c: Buffer) => infoChunks.push(c));
    await ctx.runtime.exec('default', 'web-1', 'redis', ['redis-cli', '-h', 'localhost', 'config', 'get', 'bind-source-addr'], { stdin: null, stdout: info, stderr: new PassThrough(), tty: false });
    assert.match(Buffer.concat(infoChunks).toString(), new RegExp(ip('web-1').replace(/\./g, '\\.')));
    // port-forward's half: dial the pod
    const sock = await ctx.runtime.dial('default', 'web-2', 6379);
    const reply = await new Promise<string>((resolve) => {
      sock.once('data', (d: Buffer) => resolve(d.toString()));
      sock.write('PING\r\n');
    });
    sock.destroy();
    assert.equal(reply, '+PONG\r\n');
    // the container log is where the API server reads it
    assert.match(readFileSync(join(dir, 'east', 'logs', 'default', 'web-0', 'redis.log'), 'utf8'), /Ready to accept connections/);
  });

  test('a deleted pod is re-created with the same name, a new IP and the same data', async () => {
    const before = pod('web-0');
    const oldIp = ip('web-0');
    store.delete('pods', 'default', 'web-0');
    const after = await until('web-0 back', () => {
      const p = store.get('pods', 'default', 'web-0');
      return p && p.metadata.uid !== before.metadata.uid && ((o(p.status).conditions ?? []) as Obj[]).some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
    });
    const newIp = String(o(after.status).podIP);
    assert.notEqual(newIp, oldIp);
    assert.equal(await cli(['-h', newIp, 'GET', 'k']), 'v');
    await assert.rejects(cli(['-h', oldIp, 'PING']));
  });

  test('a killed container restarts with the same IP and restartCount 1', async () => {
    const before = ip('web-1');
    assert.ok(ctx.nodeOps);
    await ctx.nodeOps.killContainer('default', 'web-1');
    await until('restarted', () => {
      const cs = (o(pod('web-1').status).containerStatuses as Obj[] | undefined)?.[0];
      return cs?.restartCount === 1 && cs.ready === true;
    });
    assert.equal(ip('web-1'), before);
    assert.equal(await cli(['-h', before, 'PING']), 'PONG');
  });

  test('cluster DNS: redis-server resolves <pod>.<service>.<ns>.svc.cluster.local itself, and follows the pod to its new IP', async () => {
    // the sandbox runs as root here (as in CI); without root it says so once (this line) and rewrites names to IPs
    assert.deepEqual(logs.filter((l) => l.startsWith('cluster DNS:')), [], 'pods have cluster DNS');
    create('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'dnsm', namespace: 'default' }, spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: { app: 'dnsm' }, ports: [{ port: 6379 }] } });
    // protected mode off: the replica connects from its pod IP, which Redis does not count as loopback
    create('statefulsets.apps', statefulSet('dnsm', 1, {}, { args: ['--protected-mode', 'no'] }));
    const master = 'dnsm-0.dnsm.default.svc.cluster.local';
    create('statefulsets.apps', statefulSet('follower', 1, {}, { command: ['redis-server', '--replicaof', master, '6379'] }));
    await until('follower ready', () => readyReplicas('follower') === 1);
    const f = ip('follower-0');
    const linked = async (): Promise<boolean> => {
      const info = await cli(['-h', f, 'INFO', 'replication']);
      return info.includes(`master_host:${master}`) && info.includes('master_link_status:up');
    };
    await until('follower linked to the master by name', linked);
    // the name is the pod's own business: the host's /etc/hosts does not carry it
    assert.doesNotMatch(readFileSync('/etc/hosts', 'utf8'), /web-0\.web\.default/);
    const oldIp = ip('dnsm-0');
    const uid = pod('dnsm-0').metadata.uid;
    store.delete('pods', 'default', 'dnsm-0');
    await until('dnsm-0 back with a new IP', () => {
      const p = store.get('pods', 'default', 'dnsm-0');
      return p && p.metadata.uid !== uid && ((o(p.status).conditions ?? []) as Obj[]).some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
    });
    const newIp = ip('dnsm-0');
    assert.notEqual(newIp, oldIp);
    await until('dnsm-0 at its new IP serves the follower', async () => (await cli(['-h', newIp, 'INFO', 'replication'])).includes(`slave0:ip=${f},`), 30_000);
    await until('the follower, still naming the master by host, linked again', linked);
  });

  test('a 6-pod Redis Cluster (--cluster-enabled yes) formed with redis-cli --cluster create converges', async () => {
    create('statefulsets.apps', statefulSet('rc', 6, { podManagementPolicy: 'Parallel' }, { args: ['--cluster-enabled', 'yes', '--cluster-node-timeout', '3000'] }));
    await until('6 ready', () => readyReplicas('rc') === 6, 30_000);
    const ips = Array.from({ length: 6 }, (_, i) => ip(`rc-${i}`));
    await run('redis-cli', ['--cluster', 'create', ...ips.map((a) => `${a}:6379`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 30_000 });
    for (const a of ips) {
      await until(`cluster_state ok on ${a}`, async () => /cluster_state:ok/.test(await cli(['-h', a, 'CLUSTER', 'INFO'])), 20_000);
    }
    const nodes = await cli(['-h', ips[0], 'CLUSTER', 'NODES']);
    for (const a of ips) assert.match(nodes, new RegExp(`${a.replace(/\./g, '\\.')}:6379@16379`));
    assert.doesNotMatch(nodes, /127\.0\.0\.1/);
  });

  test('a node reboot: processes die, Ready False, new bootID, pods back with new IPs and restartCount+1', async () => {
    const nodeName = String(o(pod('web-2').spec).nodeName);
    const bootID = String(o(o(store.get('nodes', undefined, nodeName)?.status).nodeInfo).bootID);
    const onNode = store.list('pods', 'default').items.filter((p) => o(p.spec).nodeName === nodeName && p.metadata.labels?.app === 'web');
    const oldIps = new Map(onNode.map((p) => [p.metadata.name, String(o(p.status).podIP)]));
    const restarts = new Map(onNode.map((p) => [p.metadata.name, Number((o(p.status).containerStatuses as Obj[])[0].restartCount)]));
    assert.ok(ctx.nodeOps);
    const rebooting = ctx.nodeOps.reboot(nodeName);
    await until('node not ready', () => ((o(store.get('nodes', undefined, nodeName)?.status).conditions ?? []) as Obj[]).some((c) => c.type === 'Ready' && c.status === 'False' && c.reason === 'KubeletNotReady'), 5000);
    await assert.rejects(cli(['-h', oldIps.get('web-2') ?? '', 'PING']));
    await rebooting;
    const n = store.get('nodes', undefined, nodeName);
    assert.notEqual(String(o(o(n?.status).nodeInfo).bootID), bootID);
    for (const [name, old] of oldIps) {
      const back = await until(`${name} back`, () => {
        const p = pod(name);
        const cs = (o(p.status).containerStatuses as Obj[])[0];
        return cs.ready === true && String(o(p.status).podIP) !== old ? p : undefined;
      });
      assert.equal((o(back.status).containerStatuses as Obj[])[0].restartCount, (restarts.get(name) ?? 0) + 1);
      assert.equal(await cli(['-h', String(o(back.status).podIP), 'PING']), 'PONG');
    }
  });

  test('60 Redis pods: time to Ready and memory', async () => {
    for (const name of ['rc', 'web', 'dnsm', 'follower']) store.delete('statefulsets.apps', 'default', name);
    await until('pods gone', () => store.list('pods', 'default').items.length === 0, 30_000);
    const t0 = Date.now();
    create('statefulsets.apps', statefulSet('many', 60, { podManagementPolicy: 'Parallel' }));
    await until('60 ready', () => readyReplicas('many') === 60, 60_000);
    const seconds = (Date.now() - t0) / 1000;
    let rssKb = 0;
    let count = 0;
    for (const f of readdirSync(join(dir, 'pids'))) {
      try {
        const status = readFileSync(`/proc/${f}/status`, 'utf8');
        if (!/^Name:\s+redis-server/m.test(status)) continue;
        rssKb += Number(status.match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0);
        count++;
      } catch {
        // exited meanwhile
      }
    }
    const self = Math.round(process.memoryUsage().rss / 1024 / 1024);
    console.log(`# 60 redis pods: Ready in ${seconds.toFixed(1)} s; ${count} redis-server processes, ${(rssKb / 1024).toFixed(0)} MB RSS (${(rssKb / 1024 / Math.max(1, count)).toFixed(1)} MB each); sandbox process ${self} MB`);
    assert.equal(count, 60);
  });
});

describe('redis image runtimes (entrypoint emulation, no processes)', () => {
  const base = (image: string, env: Record<string, string>, root: string, extra: Partial<ImageInput> = {}): ImageInput => ({
    store: new Store(),
    pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orders-leader-0', namespace: 'redis' } },
    container: { name: 'redis', image },
    podIP: '127.99.0.7',
    env,
    mounts: [{ path: '/data', host: join(root, 'pv'), readOnly: false, kind: 'persistentVolumeClaim' }],
    rootfs: join(root, 'rootfs'),
    runDir: join(root, 'run'),
    restart: false,
    rewriteHostnames: false,
    resolve: (name) => ({ 'cache-0.cache-headless': '127.99.0.20', 'cache-1.cache-headless': '127.99.0.21' })[name],
    log: () => undefined,
    ...extra,
  });

  test('OT cluster mode: password only in a 0600 config, cluster settings, bind to the pod IP, myself IP fixed in nodes.conf', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kr-img-'));
    try {
      mkdirSync(join(root, 'pv'), { recursive: true });
      writeFileSync(join(root, 'pv', 'nodes.conf'), 'abc 127.99.0.3:6379@16379,orders-leader-0 myself,master - 0 0 1 connected 0-5460\ndef 127.99.0.4:6379@16379 master - 0 0 2 connected\n');
      const plan = planRedis(base('quay.io/opstree/redis:v7.0.12', { SETUP_MODE: 'cluster', REDIS_PASSWORD: 's3cret', PERSISTENCE_ENABLED: 'true' }, root));
      assert.equal(plan.argv[0], 'redis-server');
      assert.ok(!plan.argv.join(' ').includes('s3cret'), 'no password on the command line');
      const conf = plan.argv[1];
      assert.equal(statSync(conf).mode & 0o777, 0o600);
      const text = readFileSync(conf, 'utf8');
      for (const line of ['requirepass s3cret', 'cluster-enabled yes', 'appendonly yes', `dir ${join(root, 'pv')}`, `cluster-config-file ${join(root, 'pv', 'nodes.conf')}`, 'bind 127.99.0.7', 'bind-source-addr 127.99.0.7']) {
        assert.ok(text.split('\n').includes(line), `config has "${line}"`);
      }
      assert.equal(plan.pingPassword, 's3cret');
      await plan.prepare?.();
      const nodes = readFileSync(join(root, 'pv', 'nodes.conf'), 'utf8');
      assert.match(nodes, /^abc 127\.99\.0\.7:6379@16379/m);
      assert.match(nodes, /^def 127\.99\.0\.4:6379/m);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('Bitnami redis-cluster with dynamic IPs: nodes.sh maps hosts, a later start rewrites their old IPs in nodes.conf', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kr-img-'));
    try {
      const dataDir = join(root, 'pv');
      mkdirSync(dataDir, { recursive: true });
      const input = base('docker.io/bitnami/redis-cluster:7.0.12', { REDIS_PASSWORD: 'pw', REDIS_NODES: 'cache-0.cache-headless cache-1.cache-headless' }, root, {
        mounts: [{ path: '/bitnami/redis/data', host: dataDir, readOnly: false, kind: 'persistentVolumeClaim' }],
      });
      writeFileSync(join(dataDir, 'nodes.sh'), 'declare -A host_2_ip_array=([cache-0.cache-headless]="127.99.0.10" [cache-1.cache-headless]="127.99.0.11" )\n');
      writeFileSync(join(dataDir, 'nodes.conf'), 'a1 127.99.0.10:6379@16379 myself,master - 0 0 1 connected 0-8191\nb2 127.99.0.11:6379@16379 master - 0 0 2 connected 8192-16383\n');
      const plan = planRedis(input);
      const text = readFileSync(plan.argv[1], 'utf8');
      assert.ok(text.includes('cluster-enabled yes') && text.includes('requirepass pw') && text.includes(`dir ${dataDir}`));
      await plan.prepare?.();
      const nodes = readFileSync(join(dataDir, 'nodes.conf'), 'utf8');
      assert.match(nodes, /^a1 127\.99\.0\.20:6379/m);
      assert.match(nodes, /^b2 127\.99\.0\.21:6379/m);
      assert.match(readFileSync(join(dataDir, 'nodes.sh'), 'utf8'), /\[cache-1\.cache-headless\]="127\.99\.0\.21"/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('command/args that start redis-server are honoured: config file from a volume, replicaof host kept for cluster DNS (resolved only without it)', () => {
    const root = mkdtempSync(join(tmpdir(), 'kr-img-'));
    try {
      mkdirSync(join(root, 'cm'), { recursive: true });
      writeFileSync(join(root, 'cm', 'redis.conf'), 'port 6380\nbind 0.0.0.0\ndir /data\nreplicaof cache-0.cache-headless 6379\nmasterauth "a b"\n');
      const plan = planRedis(
        base('redis:6.2', {}, root, {
          command: ['sh', '-c', 'exec redis-server /redis/redis.conf --maxmemory 10mb'],
          mounts: [
            { path: '/redis', host: join(root, 'cm'), readOnly: true, kind: 'configMap' },
            { path: '/data', host: join(root, 'pv'), readOnly: false, kind: 'emptyDir' },
          ],
        }),
      );
      const lines = readFileSync(plan.argv[1], 'utf8').split('\n');
      assert.equal(plan.pingPort, 6380);
      assert.ok(lines.includes('replicaof cache-0.cache-headless 6379'));
      assert.ok(lines.includes(`dir ${join(root, 'pv')}`));
      assert.ok(lines.includes('maxmemory 10mb'));
      assert.ok(lines.includes('masterauth "a b"'));
      assert.ok(!lines.includes('bind 0.0.0.0'));
      assert.equal(lines.filter((l) => l.startsWith('bind ')).join(), 'bind 127.99.0.7');
      const noDns = planRedis(
        base('redis:6.2', {}, root, {
          rewriteHostnames: true,
          command: ['sh', '-c', 'exec redis-server /redis/redis.conf'],
          mounts: [{ path: '/redis', host: join(root, 'cm'), readOnly: true, kind: 'configMap' }, { path: '/data', host: join(root, 'pv'), readOnly: false, kind: 'emptyDir' }],
        }),
      );
      assert.ok(readFileSync(noDns.argv[1], 'utf8').split('\n').includes('replicaof 127.99.0.20 6379'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
