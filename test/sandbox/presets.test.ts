// Presets not covered by operators.test.ts (ot-cluster, bitnami-cluster, bitnami-replication, spotahome), through the real kubectl and
// redis-cli: healthy after `up` (cluster check, sentinels agreeing), objects with each system's real names, labels,
// PDBs and Secrets (operators.md); and what a restart does to a Redis Cluster's addresses. Every pod of an OT
// RedisCluster down at once and back gives each a new IP and leaves the old ones in every node's CLUSTER NODES
// (OT rewrites only the node's own line; a rolling restart would heal through gossip, as real Redis does), so the
// cluster needs a heal; the Bitnami entrypoint remaps every peer from nodes.sh (REDIS_CLUSTER_DYNAMIC_IPS), so
// its pods all deleted at once come back ok, data included.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { TestSandbox } from '../support/sandbox.js';
import { clusterCheck, eventually, items, k, meta, o, pods, rc, redisCli, secret, sentinelsAgree, sleep, startSandboxes, type ClusterTarget, type Obj } from '../support/redis.js';

const NS = 'redis';
const orders: ClusterTarget = { ns: NS, selector: 'app in (orders-leader,orders-follower)', secret: { name: 'orders-redis', key: 'password' } };
const cache: ClusterTarget = { ns: NS, selector: 'app.kubernetes.io/instance=cache', secret: { name: 'cache', key: 'redis-password' } };
const sessions = {
  ns: NS, selector: 'app.kubernetes.io/name=sessions,app.kubernetes.io/component=redis', secret: { name: 'sessions-auth', key: 'password' },
  sentinels: 'app.kubernetes.io/name=sessions,app.kubernetes.io/component=sentinel', masterName: 'mymaster', redisPods: 3, sentinelPods: 3,
};

const names = async (sb: TestSandbox, kind: string): Promise<string[]> => (await items(sb, ['get', kind, '-n', NS])).map((x) => meta(x).name).sort();

/** Delete every pod matching a selector at once and wait until as many are back Ready, all with new IPs. */
async function restartAll(sb: TestSandbox, selector: string): Promise<{ before: Map<string, string>; after: Map<string, string> }> {
  const before = new Map((await pods(sb, NS, selector)).map((p) => [p.name, p.ip]));
  await k(sb, ['delete', 'pods', '-n', NS, '-l', selector, '--wait=false']);
  const after = await eventually(`${selector} to be back with new IPs`, async () => {
    const now = await pods(sb, NS, selector);
    const fresh = now.length === before.size && now.every((p) => p.ready && p.ip && ![...before.values()].includes(p.ip));
    return fresh && new Map(now.map((p) => [p.name, p.ip]));
  }, 120_000, 500);
  return { before, after };
}

describe('presets: ot-cluster, bitnami-cluster, bitnami-replication, spotahome', { timeout: 600_000 }, () => {
  let sb: Record<'ot' | 'bitnami' | 'bitnamiReplication' | 'spotahome', TestSandbox>;

  before(async () => {
    sb = (await startSandboxes({
      ot: { preset: 'ot-cluster', upTimeoutMs: 300_000 },
      bitnami: { preset: 'bitnami-cluster', upTimeoutMs: 300_000 },
      bitnamiReplication: { preset: 'bitnami-replication', upTimeoutMs: 300_000 },
      spotahome: { preset: 'spotahome', upTimeoutMs: 300_000 },
    })) as typeof sb;
  });

  after(async () => {
    if (sb) await Promise.all(Object.values(sb).map((s) => s.down()));
  });

  test('ot-cluster: cluster check passes; StatefulSets, Services, PDBs and labels as OT names them', async () => {
    await clusterCheck(sb.ot, orders, { masters: 3, replicasPer: 1 });
    assert.deepEqual(await names(sb.ot, 'statefulsets'), ['orders-follower', 'orders-leader']);
    assert.deepEqual(await names(sb.ot, 'poddisruptionbudgets'), ['orders-follower', 'orders-leader']);
    assert.deepEqual(await names(sb.ot, 'services'), ['orders-follower', 'orders-follower-headless', 'orders-leader', 'orders-leader-headless']);
    const leaders = await pods(sb.ot, NS, 'app=orders-leader');
    assert.equal(leaders.length, 3);
    const want = { app: 'orders-leader', redis_setup_type: 'cluster', role: 'leader', cluster: 'orders' };
    for (const p of leaders) for (const [key, v] of Object.entries(want)) assert.equal(p.labels[key], v, `${p.name} label ${key}`);
    const roles = (await pods(sb.ot, NS, orders.selector)).map((p) => p.labels['redis-role']).sort();
    assert.deepEqual(roles, ['master', 'master', 'master', 'slave', 'slave', 'slave']);
    // some data was loaded
    const pass = await secret(sb.ot, NS, 'orders-redis', 'password');
    assert.equal(await rc(leaders[0].ip, 6379, pass, ['-c', 'GET', 'orders:key:42']), 'value-42');
  });

  test('bitnami-cluster: cluster check passes; the chart\'s names and Secret key', async () => {
    await clusterCheck(sb.bitnami, cache, { masters: 3, replicasPer: 1 });
    assert.deepEqual(await names(sb.bitnami, 'statefulsets'), ['cache']);
    assert.deepEqual(await names(sb.bitnami, 'services'), ['cache', 'cache-headless']);
    assert.deepEqual(await names(sb.bitnami, 'poddisruptionbudgets'), ['cache']);
    assert.ok((await secret(sb.bitnami, NS, 'cache', 'redis-password')).length > 0);
  });

  test('bitnami-replication: the chart\'s names, labels and Secret key; ROLE on every pod; the data on the replicas', async () => {
    const b = sb.bitnamiReplication;
    assert.deepEqual(await names(b, 'statefulsets'), ['store-master', 'store-replicas']);
    assert.deepEqual(await names(b, 'services'), ['store-headless', 'store-master', 'store-replicas']);
    assert.deepEqual(await names(b, 'poddisruptionbudgets'), ['store-master', 'store-replicas']);
    const pass = await secret(b, NS, 'store', 'redis-password');
    assert.ok(pass.length > 0);
    // the replicas start with replicaof the master's headless name, as start-replicas.sh does
    const sts = (await items(b, ['get', 'statefulsets', '-n', NS])).find((x) => meta(x).name === 'store-replicas');
    const container = ((o(o(o(sts?.spec).template).spec).containers ?? []) as Obj[])[0];
    const env = (o(container).env ?? []) as Obj[];
    assert.equal(env.find((e) => e.name === 'REDIS_MASTER_HOST')?.value, 'store-master-0.store-headless.redis.svc.cluster.local');
    const master = await pods(b, NS, 'app.kubernetes.io/instance=store,app.kubernetes.io/component=master');
    const replicas = await pods(b, NS, 'app.kubernetes.io/instance=store,app.kubernetes.io/component=replica');
    assert.deepEqual(master.map((p) => p.name), ['store-master-0']);
    assert.deepEqual(replicas.map((p) => p.name).sort(), ['store-replicas-0', 'store-replicas-1']);
    for (const p of [...master, ...replicas]) {
      assert.equal(p.labels['app.kubernetes.io/name'], 'redis', `${p.name} name label`);
      assert.equal(p.labels['app.kubernetes.io/component'], p.name.startsWith('store-master') ? 'master' : 'replica', `${p.name} component label`);
    }
    const role = (await rc(master[0].ip, 6379, pass, ['ROLE'])).split('\n');
    assert.equal(role[0], 'master');
    for (const r of replicas) {
      const view = (await rc(r.ip, 6379, pass, ['ROLE'])).split('\n');
      // start-replicas.sh: --replicaof <master-0's DNS name>, which redis-server resolves through cluster DNS
      assert.deepEqual(view.slice(0, 3), ['slave', 'store-master-0.store-headless.redis.svc.cluster.local', '6379'], `${r.name} replicates the master: ${view.join(' ')}`);
      // what the preset wrote on the master is readable on every replica
      await eventually(`${r.name} to have the preset's keys`, async () => (await rc(r.ip, 6379, pass, ['DBSIZE'])) === '300', 30_000);
      for (const i of [0, 150, 299]) assert.equal(await rc(r.ip, 6379, pass, ['GET', `store:key:${i}`]), `value-${i}`);
    }
    // a replica refuses writes: it is really a replica, not a master with a copy
    const w = await redisCli(replicas[0].ip, 6379, pass, ['SET', 'x', '1']);
    assert.match(`${w.stdout}${w.stderr}`, /READONLY/);
  });

  test('spotahome: sentinels agree on the master; rfr-/rfs- objects and redisfailovers-role labels', async () => {
    const masterIp = await sentinelsAgree(sb.spotahome, sessions);
    assert.deepEqual(await names(sb.spotahome, 'statefulsets'), ['rfr-sessions']);
    assert.deepEqual(await names(sb.spotahome, 'deployments'), ['rfs-sessions']);
    assert.deepEqual(await names(sb.spotahome, 'services'), ['rfr-sessions', 'rfrm-sessions', 'rfrs-sessions', 'rfs-sessions']);
    assert.deepEqual(await names(sb.spotahome, 'poddisruptionbudgets'), ['rfr-sessions', 'rfs-sessions']);
    const redis = await pods(sb.spotahome, NS, sessions.selector);
    assert.deepEqual(redis.filter((p) => p.labels['redisfailovers-role'] === 'master').map((p) => p.ip), [masterIp]);
    // the master service selects the master only
    const svc = (await items(sb.spotahome, ['get', 'services', '-n', NS])).find((s) => meta(s).name === 'rfrm-sessions');
    assert.equal(o(o(svc?.spec).selector)['redisfailovers-role'], 'master');
  });

  test('OT RedisCluster: every pod restarted gets a new IP and CLUSTER NODES keeps the stale addresses', async () => {
    const pass = await secret(sb.ot, NS, 'orders-redis', 'password');
    // Every pod down at once, then back: a restart where some old process outlives a new one heals through gossip
    // (the new node reaches it, it learns the new address and passes it on), as real Redis does. So the operator
    // is paused, both StatefulSets are scaled to 0, and once no Redis is left the pause is lifted: the operator
    // puts replicas back to 3 and every pod starts with a new IP and a nodes.conf naming only old ones.
    const key = 'rediscluster.opstreelabs.in/skip-reconcile';
    const before = new Map((await pods(sb.ot, NS, orders.selector)).map((p) => [p.name, p.ip]));
    await k(sb.ot, ['annotate', 'rediscluster', '-n', NS, 'orders', `${key}=true`]);
    await k(sb.ot, ['scale', 'statefulset', '-n', NS, 'orders-leader', 'orders-follower', '--replicas=0']);
    await eventually('every orders pod to be gone', async () => (await items(sb.ot, ['get', 'pods', '-n', NS, '-l', orders.selector])).length === 0, 60_000);
    await k(sb.ot, ['annotate', 'rediscluster', '-n', NS, 'orders', `${key}-`]);
    const after = await eventually('the operator to bring 6 pods back, all with new IPs', async () => {
      const now = await pods(sb.ot, NS, orders.selector);
      return now.length === 6 && now.every((p) => p.ready && p.ip && ![...before.values()].includes(p.ip)) && new Map(now.map((p) => [p.name, p.ip]));
    }, 120_000);
    const oldIps = new Set(before.values());
    const newIps = new Set(after.values());
    // long enough for gossip and for the operator's 10 s requeue: nothing repairs the addresses
    await sleep(12_000);
    for (const [name, ip] of after) {
      const view = await rc(ip, 6379, pass, ['CLUSTER', 'NODES']);
      const lines = view.split('\n');
      const myself = lines.find((l) => l.includes('myself'));
      assert.ok(myself?.includes(`${ip}:6379@16379`), `${name}: its own line has its new IP (the entrypoint rewrites it): ${myself}`);
      const peers = lines.filter((l) => !l.includes('myself')).map((l) => l.split(' ')[1].split(':')[0]);
      assert.equal(peers.length, 5, view);
      assert.ok(peers.every((p) => oldIps.has(p) && !newIps.has(p)), `${name} still lists its peers at their old addresses:\n${view}`);
      assert.match(await rc(ip, 6379, pass, ['CLUSTER', 'INFO']), /cluster_state:fail/);
    }
    const first = [...after.values()][0];
    const check = await redisCli(first, 6379, pass, ['--cluster', 'check', `${first}:6379`]);
    assert.doesNotMatch(check.stdout, /\[OK\] All 16384 slots covered/, 'the cluster needs a heal');
  });

  test('Bitnami redis-cluster: every pod restarted gets a new IP and the entrypoint remaps nodes.conf: cluster ok, data kept', async () => {
    const pass = await secret(sb.bitnami, NS, 'cache', 'redis-password');
    const { after } = await restartAll(sb.bitnami, cache.selector);
    const newIps = new Set(after.values());
    await eventually('cache to pass cluster check with its new IPs', () => clusterCheck(sb.bitnami, cache, { masters: 3, replicasPer: 1 }), 60_000, 1000);
    // Every node sees every peer at its new address. A pod that started while a peer's old pod was still
    // terminating got its old IP from DNS (publishNotReadyAddresses keeps terminating pods), as in life: that peer
    // is then fixed by gossip once marked PFAIL (cluster-node-timeout), as real Redis does. A node's own line
    // keeps what DNS answered when it started.
    await eventually('every node to see its peers at their new IPs', async () => {
      for (const [name, ip] of after) {
        const peers = (await rc(ip, 6379, pass, ['CLUSTER', 'NODES'])).split('\n').filter((l) => !l.includes('myself')).map((l) => l.split(' ')[1].split(':')[0]);
        const want = [...newIps].filter((x) => x !== ip);
        if (peers.length !== want.length || !want.every((x) => peers.includes(x))) throw new Error(`${name} sees its peers at ${peers.join(', ')}`);
      }
      return true;
    }, 90_000, 1000);
    const first = [...after.values()][0];
    for (const i of [1, 42, 99]) assert.equal(await rc(first, 6379, pass, ['-c', 'GET', `cache:key:${i}`]), `value-${i}`);
  });
});
