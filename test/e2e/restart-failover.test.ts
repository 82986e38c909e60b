// restart and failover on the demo preset (OT RedisCluster orders, spotahome RedisFailover sessions, Bitnami
// redis-cluster cache in one sandbox): the real CLI against real redis-server, with a client writing throughout
// (bench/probe.ts) whose acknowledged writes must all read back. Bad input refused with nothing changed;
// failover --to leaves the named replica master with every node (or sentinel) agreeing; restart restarts every pod
// (a new uid and start time) while the OT operator stays paused (it does not label the re-created pods, which it
// does within a second when running) and is resumed after, also when the first run is killed (SIGKILL) mid-way and
// the re-run completes it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startProbe, probeLine } from '../../bench/probe.js';
import { startSandbox, type TestSandbox } from '../support/sandbox.js';
import { clusterCheck, eventually, fingerprint, pods, rc, secret, sentinelsAgree, sleep } from '../support/redis.js';

let sb: TestSandbox;
const pw: Record<string, string> = {};

const ORDERS = { ns: 'redis', selector: 'app in (orders-leader,orders-follower)', secret: { name: 'orders-redis', key: 'password' } };
const CACHE = { ns: 'redis', selector: 'app.kubernetes.io/instance=cache', secret: { name: 'cache', key: 'redis-password' } };
const SESSIONS = {
  ns: 'redis', selector: 'app.kubernetes.io/component=redis,app.kubernetes.io/name=sessions', secret: { name: 'sessions-auth', key: 'password' },
  sentinels: 'app.kubernetes.io/component=sentinel,app.kubernetes.io/name=sessions', masterName: 'mymaster', redisPods: 3, sentinelPods: 3,
};
const OT_PAUSE = 'rediscluster.opstreelabs.in/skip-reconcile';

before(async () => {
  sb = await startSandbox({ preset: 'demo' });
  pw.orders = await secret(sb, 'redis', 'orders-redis', 'password');
  pw.cache = await secret(sb, 'redis', 'cache', 'redis-password');
  pw.sessions = await secret(sb, 'redis', 'sessions-auth', 'password');
  await eventually('orders and cache to pass the cluster check', async () => {
    try {
      await clusterCheck(sb, ORDERS, { masters: 3, replicasPer: 1 });
      await clusterCheck(sb, CACHE, { masters: 3, replicasPer: 1 });
      await sentinelsAgree(sb, SESSIONS);
      return true;
    } catch {
      return false;
    }
  }, 120_000, 1000);
}, { timeout: 300_000 });

after(async () => {
  await sb?.down();
});

const cli = (args: string[], env?: Record<string, string>) => sb.cli([...args, '-n', 'redis'], { env, timeoutMs: 240_000 });

/** Each pod's uid and start time, by name. */
async function stamps(selector: string): Promise<Map<string, string>> {
  const r = await sb.kubectl(['get', 'pods', '-n', 'redis', '-l', selector, '-o', 'jsonpath={range .items[*]}{.metadata.name} {.metadata.uid}/{.status.startTime}{"\\n"}{end}']);
  return new Map(r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
}

async function annotations(kind: string, name: string): Promise<Record<string, string>> {
  const r = await sb.kubectl(['get', kind, name, '-n', 'redis', '-o', 'jsonpath={.metadata.annotations}']);
  return r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, string>) : {};
}

/** pod -> the pod it replicates (Redis Cluster replicas), from each replica's own ROLE. */
async function replicaMasters(t: typeof ORDERS, password: string): Promise<Map<string, string>> {
  const ps = await pods(sb, 'redis', t.selector);
  const byIp = new Map(ps.map((p) => [p.ip, p.name]));
  const out = new Map<string, string>();
  for (const p of ps) {
    const role = (await rc(p.ip, 6379, password, ['ROLE'])).split('\n');
    if (role[0] === 'slave') out.set(p.name, byIp.get(role[1]) ?? role[1]);
  }
  return out;
}

/** Every reachable node of the cluster sees `pod`'s node id as a master that has not failed. */
async function everyNodeSeesMaster(t: typeof ORDERS, password: string, pod: string): Promise<void> {
  const ps = await pods(sb, 'redis', t.selector);
  const me = ps.find((p) => p.name === pod)!;
  const id = (await rc(me.ip, 6379, password, ['CLUSTER', 'MYID'])).trim();
  for (const p of ps) {
    const line = (await rc(p.ip, 6379, password, ['CLUSTER', 'NODES'])).split('\n').find((l) => l.startsWith(id));
    assert.ok(line && /\bmaster\b/.test(line.split(' ')[2]) && !/fail/.test(line.split(' ')[2]), `${p.name} sees ${pod} as ${line}`);
  }
}

test('bad input is refused with one sentence and nothing changed: pods outside the target, --to not a replica of that master, --force while the master answers, no replica in sync', async () => {
  const crs = ['redisclusters.redis.redis.opstreelabs.in', 'redisfailovers.databases.spotahome.com'];
  const before = await fingerprint(sb, 'redis', crs);
  const masters = await replicaMasters(ORDERS, pw.orders);
  const [replica, itsMaster] = [...masters.entries()][0];
  const otherMaster = [...new Set(masters.values())].find((m) => m !== itsMaster)!;
  const sessionsMaster = (await pods(sb, 'redis', SESSIONS.selector)).find((p) => p.labels['redisfailovers-role'] === 'master')!.name;
  const cases: Array<[string[], number, RegExp]> = [
    [['restart', 'rediscluster/orders', 'orders-leader-9', '--yes'], 2, /"orders-leader-9" is not a pod of rediscluster\/orders/],
    [['restart', 'rediscluster/orders', 'rfr-sessions-0', '--yes'], 2, /"rfr-sessions-0" is not a pod of rediscluster\/orders/],
    [['failover', 'rediscluster/orders', '--shard', otherMaster, '--to', replica, '--yes'], 4, new RegExp(`"${replica}" is not a replica of ${otherMaster}`)],
    [['failover', 'rf/sessions', '--to', sessionsMaster, '--yes'], 4, new RegExp(`"${sessionsMaster}" is not a replica of ${sessionsMaster}`)],
    [['failover', 'rediscluster/orders', '--shard', itsMaster, '--force', '--yes'], 4, new RegExp(`--force while the master ${itsMaster} answers is refused`)],
    [['failover', 'rf/sessions', '--force', '--yes'], 2, /CLUSTER FAILOVER options, for Redis Cluster/],
    [['failover', 'rediscluster/orders', '--yes'], 2, /name the shard with --shard/],
    [['failover', 'rediscluster/orders', '--shard', itsMaster], 4, /non-interactive shell; re-run with --yes/],
  ];
  // refusals change nothing, so they may run at once
  await Promise.all(cases.map(async ([args, code, message]) => {
    const r = await cli(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:')).length, 1, `one sentence: ${r.stderr}`);
  }));
  // the only replica of a shard falls behind for good: its link down (it can no longer authenticate to its master)
  const rIp = (await pods(sb, 'redis', ORDERS.selector)).find((p) => p.name === replica)!.ip;
  await rc(rIp, 6379, pw.orders, ['CONFIG', 'SET', 'masterauth', 'not-the-password']);
  await rc(rIp, 6379, pw.orders, ['CLIENT', 'KILL', 'TYPE', 'master']);
  try {
    await eventually(`${replica}'s link to be down`, async () => /master_link_status:down/.test(await rc(rIp, 6379, pw.orders, ['INFO', 'replication'])));
    const r = await cli(['failover', 'rediscluster/orders', '--shard', itsMaster, '--yes']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, new RegExp(`no replica of ${itsMaster} is in sync to take over \\(${replica}'s link to its master is down`));
    const to = await cli(['failover', 'rediscluster/orders', '--to', replica, '--yes']);
    assert.equal(to.code, 4, to.stderr);
    assert.match(to.stderr, new RegExp(`${replica} is not in sync with ${itsMaster}`));
  } finally {
    await rc(rIp, 6379, pw.orders, ['CONFIG', 'SET', 'masterauth', pw.orders]);
  }
  await eventually(`${replica}'s link to be up again`, async () => /master_link_status:up/.test(await rc(rIp, 6379, pw.orders, ['INFO', 'replication'])));
  assert.equal(await fingerprint(sb, 'redis', crs), before, 'nothing changed');
  assert.equal((await annotations('rediscluster', 'orders'))[OT_PAUSE], undefined, 'no pause left behind');
});

test('failover --to a named replica: it is the master afterwards and every node (or every sentinel) agrees, on Redis Cluster (OT, Bitnami) and Sentinel (spotahome)', async () => {
  for (const [ref, t, password] of [['rediscluster/orders', ORDERS, pw.orders], ['sts/cache', CACHE, pw.cache]] as const) {
    const [replica, was] = [...(await replicaMasters(t, password)).entries()].sort()[0];
    const r = await cli(['failover', ref, '--to', replica, '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${replica} is the master of ${ref.replace('/', '\\/')} now \\(was ${was}\\)`));
    await everyNodeSeesMaster(t, password, replica);
    assert.equal((await replicaMasters(t, password)).get(was), replica, `${was} replicates ${replica} now`);
    await clusterCheck(sb, t, { masters: 3, replicasPer: 1 });
  }
  const a = await annotations('rediscluster', 'orders');
  assert.equal(a[OT_PAUSE], undefined, 'the OT operator was resumed after the failover');
  assert.equal(a['redis.kubectl.io/paused-by'], undefined);

  const replica = (await pods(sb, 'redis', SESSIONS.selector)).filter((p) => p.labels['redisfailovers-role'] !== 'master').sort((x, y) => y.name.localeCompare(x.name))[0];
  const r = await cli(['failover', 'rf/sessions', '--to', replica.name, '--yes']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await sentinelsAgree(sb, SESSIONS), replica.ip, 'every sentinel names the replica we chose');
  const labels = await pods(sb, 'redis', SESSIONS.selector);
  assert.deepEqual(labels.filter((p) => p.labels['redisfailovers-role'] === 'master').map((p) => p.name), [replica.name], 'the role label moved with it');
  // the replica-priority used to steer Sentinel is back as it was
  for (const p of labels) assert.match(await rc(p.ip, 6379, pw.sessions, ['CONFIG', 'GET', 'replica-priority']), /replica-priority\n100/);
});

test('restart of every pod of an OT RedisCluster with a client writing: killed (-9) mid-way, the re-run completes; every pod restarted, 0 acknowledged writes lost, check OK; the operator paused meanwhile and resumed after', async (t) => {
  const before = await stamps(ORDERS.selector);
  assert.equal(before.size, 6);
  const dry = await cli(['restart', 'rediscluster/orders', '--dry-run', '-o', 'json']);
  assert.equal(dry.code, 0, dry.stderr);
  const order = (JSON.parse(dry.stdout) as { pods: Array<{ pod: string; step: string }> }).pods;
  assert.equal(order.length, 6);
  assert.deepEqual(order.slice(3).map((x) => x.step), ['failover+restart', 'failover+restart', 'failover+restart'], 'masters last');
  const seeds = (await pods(sb, 'redis', ORDERS.selector)).map((p) => ({ host: p.ip, port: 6379 }));
  const probe = await startProbe({ name: 'orders', mode: 'cluster', hosts: seeds, password: pw.orders, prefix: 'rs:orders' });
  try {
    // the first run dies right after its fourth pod (its first master) is recorded done
    const first = await cli(['restart', 'rediscluster/orders', '--yes'], { KUBECTL_REDIS_DIE_AFTER_STEP: `pod/${order[3].pod}` });
    assert.notEqual(first.code, 0, 'killed');
    assert.doesNotMatch(first.stdout, /restarted \d+ pod/);
    const paused = await annotations('rediscluster', 'orders');
    assert.equal(paused[OT_PAUSE], 'true', 'the dead run left the operator paused, recorded');
    assert.match(paused['redis.kubectl.io/paused-by'] ?? '', /^kubectl-redis restart op=rs-[0-9a-f]{8}$/);
    assert.ok(paused['redis.kubectl.io/paused-until'], 'with an until');
    // the operator labels the pods it manages (redis-role) within a second when it runs: the re-created pods stay
    // without the label while it is paused
    const mid = await stamps(ORDERS.selector);
    const recreated = [...mid.keys()].filter((p) => mid.get(p) !== before.get(p));
    assert.deepEqual(recreated.sort(), order.slice(0, 4).map((x) => x.pod).sort(), 'the first run restarted four pods');
    await sleep(3000);
    const unlabelled = (await pods(sb, 'redis', ORDERS.selector)).filter((p) => recreated.includes(p.name) && p.labels['redis-role'] === undefined);
    assert.ok(unlabelled.length > 0, `re-created pods left unlabelled by the paused operator: ${JSON.stringify(unlabelled.map((p) => p.name))}`);

    const second = await cli(['restart', 'rediscluster/orders', '--yes']);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /restarted 2 pod\(s\) of rediscluster\/orders \(resumed\)/);
    assert.match(second.stderr, /already restarted by this operation/);
  } finally {
    const report = await probe.stop();
    t.diagnostic(probeLine(report));
    assert.ok(report.acknowledged > 100, `the client kept writing: ${probeLine(report)}`);
    assert.equal(report.lostAcknowledged, 0, `no acknowledged write lost: ${report.lostKeys.slice(0, 5).join(', ')}`);
  }
  const after = await stamps(ORDERS.selector);
  for (const [pod, stamp] of before) assert.notEqual(after.get(pod), stamp, `${pod} was restarted (new uid and start time)`);
  await clusterCheck(sb, ORDERS, { masters: 3, replicasPer: 1 });
  const a = await annotations('rediscluster', 'orders');
  assert.equal(a[OT_PAUSE], undefined, 'the pause is gone');
  assert.equal(a['redis.kubectl.io/paused-by'], undefined);
  // resumed, the operator acts again: it labels every pod with its role
  await eventually('the resumed operator to label every pod', async () => (await pods(sb, 'redis', ORDERS.selector)).every((p) => p.labels['redis-role'] !== undefined), 30_000);
});

test('restart of every pod of a spotahome RedisFailover, sentinels first, then the redis pods with a client writing through Sentinel: 0 acknowledged writes lost, sentinels agree', async (t) => {
  const redisBefore = await stamps(SESSIONS.selector);
  const sentinelsBefore = await stamps(SESSIONS.sentinels);
  // the sentinel pods (a Deployment: they come back under new names), named on the command line
  const s = await cli(['restart', 'rf/sessions', ...sentinelsBefore.keys(), '--yes']);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /restarted 3 pod\(s\) of rf\/sessions/);
  const sentinelsAfter = await stamps(SESSIONS.sentinels);
  assert.equal([...sentinelsAfter.keys()].filter((n) => sentinelsBefore.has(n)).length, 0, 'every sentinel pod was replaced');
  await sentinelsAgree(sb, SESSIONS);
  // then every redis pod, with an application asking the (new) sentinels for the master as it writes
  const sentinels = (await pods(sb, 'redis', SESSIONS.sentinels)).map((p) => ({ host: p.ip, port: 26379 }));
  const probe = await startProbe({ name: 'sessions', mode: 'sentinel', hosts: sentinels, password: pw.sessions, prefix: 'rs:sessions' });
  try {
    const r = await cli(['restart', 'rf/sessions', ...redisBefore.keys(), '--yes']);
    t.diagnostic(r.stderr.split('\n').filter((l) => l.startsWith('==>') || / in \d/.test(l)).join('\n'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /restarted 3 pod\(s\) of rf\/sessions/);
    assert.match(r.stderr, /SENTINEL FAILOVER mymaster/);
  } finally {
    const report = await probe.stop();
    t.diagnostic(probeLine(report));
    assert.ok(report.acknowledged > 100, probeLine(report));
    assert.equal(report.unverified, 0, probeLine(report));
    assert.equal(report.lostAcknowledged, 0, `no acknowledged write lost: ${report.lostKeys.slice(0, 5).join(', ')}`);
  }
  const redisAfter = await stamps(SESSIONS.selector);
  for (const [pod, stamp] of redisBefore) assert.notEqual(redisAfter.get(pod), stamp, `${pod} was restarted`);
  await sentinelsAgree(sb, SESSIONS);
});
