// migrate on two sandbox clusters (east, west) that share one storage directory and one flat pod network, as
// KEP-3335's migration needs (seed 003). A client writes numbered keys throughout (ioredis Cluster, the pods' own IPs)
// and must find every acknowledged write at the end. Shown: refusals, a dry run that changes nothing, kill -9 of
// the CLI after a step and a re-run that resumes, --abort halfway bringing everything back to east, the Bitnami
// redis-cluster `cache` and the OT RedisCluster `orders` moved east -> west with the same node ids, redis-cli
// --cluster check OK, PVs in west bound to the same data directories, and no ordinal ever running in both clusters.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startProbe, type Probe, type ProbeReport } from '../../bench/probe.js';
import { eventually } from '../support/redis.js';
import { clusterCheck, nodeIds, podsIn, twiceWatcher, type MigrationTarget } from '../support/migration.js';
import { startSandbox, type LiveOptions, type RunResult, type TestSandbox } from '../support/sandbox.js';

const NS = 'redis';
const CACHE = 'app.kubernetes.io/instance=cache';
const ORDERS = 'app in (orders-leader,orders-follower)';
let sb: TestSandbox;
const passwords: Record<string, string> = {};
const cache: MigrationTarget = { sb: () => sb, namespace: NS, selector: CACHE, password: () => passwords.cache };
const orders: MigrationTarget = { sb: () => sb, namespace: NS, selector: ORDERS, password: () => passwords.orders };

async function kjson(context: string, args: string[]): Promise<Record<string, unknown> | undefined> {
  const r = await sb.kubectl([...args, '-o', 'json'], { context });
  return r.code === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
}

/** The CLI with its stderr read line by line as it comes (to split the probe's report per ordinal). */
function cliLive(args: string[], opts: LiveOptions = {}): Promise<RunResult> {
  return sb.spawnCli(args, opts).result;
}

async function probeOn(name: string, t: MigrationTarget): Promise<Probe> {
  const ps = await podsIn(t, 'east');
  return startProbe({ name, mode: 'cluster', hosts: ps.map((p) => ({ host: p.ip, port: 6379 })), password: t.password(), prefix: `e2e:${name}:${Date.now()}` });
}

/** Marks a probe segment whenever the CLI starts moving a pod (its "if <pod> is a master" step). */
function marker(probe: Probe): (line: string) => void {
  return (line) => {
    const m = /==> step \d+\/\d+: if (\S+) is a master/.exec(line);
    if (m) probe.mark(m[1]);
  };
}

function reportGaps(t: TestContext, what: string, r: ProbeReport, totalMs: number): void {
  const per = r.segments.filter((s) => s.label !== 'start').map((s) => `${s.label} ${s.longestGapMs.toFixed(0)} ms`).join(', ');
  t.diagnostic(`${what}: ${r.acknowledged} writes acknowledged, ${r.lostAcknowledged} lost, ${r.errors} errors; longest gap ${r.longestGapMs.toFixed(0)} ms; per moved pod: ${per}; total ${(totalMs / 1000).toFixed(1)} s`);
}

function assertNoLoss(r: ProbeReport): void {
  assert.ok(r.acknowledged > 100, `the probe wrote (${r.acknowledged} acknowledged)`);
  assert.equal(r.lostAcknowledged, 0, `lost acknowledged writes: ${r.lostKeys.slice(0, 5).join(', ')}`);
  assert.equal(r.unverified, 0, 'every acknowledged write could be read back');
}

async function volumesFollow(claims: string[]): Promise<void> {
  for (const claim of claims) {
    const w = await kjson('west', ['get', 'pvc', '-n', NS, claim]);
    const e = await kjson('east', ['get', 'pvc', '-n', NS, claim]);
    const vol = (o: Record<string, unknown> | undefined) => (o?.spec as { volumeName?: string } | undefined)?.volumeName;
    assert.equal((w?.status as { phase?: string } | undefined)?.phase, 'Bound', `claim ${claim} bound in west`);
    assert.equal(vol(w), vol(e), `claim ${claim} in west names the same volume as in east`);
    const pvW = await kjson('west', ['get', 'pv', String(vol(w))]);
    const pvE = await kjson('east', ['get', 'pv', String(vol(e))]);
    const path = (o: Record<string, unknown> | undefined) => (o?.spec as { hostPath?: { path?: string } } | undefined)?.hostPath?.path;
    assert.ok(path(pvW), `PV ${vol(w)} has a data directory`);
    assert.equal(path(pvW), path(pvE), `PV ${vol(w)} in west mounts the same data directory as in east`);
    assert.equal((pvE?.spec as { persistentVolumeReclaimPolicy?: string }).persistentVolumeReclaimPolicy, 'Retain', 'the source PV was set to Retain before its pod stopped');
  }
}

before(async () => {
  sb = await startSandbox({ preset: 'demo', clusters: ['east', 'west'] });
  for (const [name, secret, key] of [['orders', 'orders-redis', 'password'], ['cache', 'cache', 'redis-password']]) {
    const r = await sb.kubectl(['get', 'secret', '-n', NS, secret, '-o', `jsonpath={.data.${key}}`], { context: 'east' });
    passwords[name] = Buffer.from(r.stdout, 'base64').toString();
  }
}, { timeout: 300_000 });

after(async () => {
  await sb?.down();
});

describe('migrate', { concurrency: false }, () => {
  test('refuses the same cluster, unsupported targets, and a resume with nothing in progress', async () => {
    const same = await sb.cli(['migrate', 'sts/cache', '-n', NS, '--to-context', 'east', '--yes'], { context: 'east' });
    assert.equal(same.code, 4, same.stderr);
    assert.match(same.stderr, /--to-context east is the same cluster as the source/);
    const rf = await sb.cli(['migrate', 'rf/sessions', '-n', NS, '--to-context', 'west', '--yes']);
    assert.equal(rf.code, 4, rf.stderr);
    assert.match(rf.stderr, /migrate supports Bitnami redis-cluster StatefulSets \(sts\/NAME\) and OT RedisCluster \(rediscluster\/NAME\); rf\/sessions/);
    const resume = await sb.cli(['migrate', 'sts/cache', '-n', NS, '--to-context', 'west', '--resume', '--yes']);
    assert.equal(resume.code, 4, resume.stderr);
    assert.match(resume.stderr, /no migrate of sts\/cache in progress/);
    const usage = await sb.cli(['migrate', 'sts/cache', '-n', NS]);
    assert.equal(usage.code, 2, usage.stderr);
  });

  test('--dry-run runs the preflight, prints the plan and changes nothing', async () => {
    const snapshot = async () => [
      (await sb.kubectl(['get', 'ns,sts,pvc,svc,secret,pdb', '-A', '-o', 'name'], { context: 'west' })).stdout,
      (await sb.kubectl(['get', 'pv', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.persistentVolumeReclaimPolicy} {end}'], { context: 'east' })).stdout,
      (await sb.kubectl(['get', 'sts,cm', '-n', NS, '-o', 'name'], { context: 'east' })).stdout,
      (await sb.kubectl(['get', 'sts', 'cache', '-n', NS, '-o', 'jsonpath={.spec.replicas}'], { context: 'east' })).stdout,
    ].join('\n');
    const before = await snapshot();
    const r = await sb.cli(['migrate', 'sts/cache', '-n', NS, '--to-context', 'west', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /redis\s+ok\s+6 nodes agree, every slot covered, every master has a replica/);
    assert.match(r.stdout, /Plan for sts\/cache \(dry run, nothing changed\)/);
    assert.match(r.stdout, /scale-destination\/cache-0\s+to do\s+patch StatefulSet cache in west: ordinals\.start 0, replicas 6/);
    assert.equal(await snapshot(), before);
  });

  test('sts/cache: killed after a step, then --abort brings every pod back to east with no write lost', async (t) => {
    const ids = await nodeIds(cache, 'east');
    const policies = (await sb.kubectl(['get', 'pv', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.persistentVolumeReclaimPolicy} {end}'], { context: 'east' })).stdout;
    const probe = await probeOn('cache', cache);
    const twice = twiceWatcher(cache);
    const started = Date.now();
    const killed = await cliLive(['migrate', 'sts/cache', '-n', NS, '--to-context', 'west', '--yes'], { env: { KUBECTL_REDIS_DIE_AFTER_STEP: 'scale-source/cache-4' }, onLine: marker(probe) });
    assert.equal(killed.code, 137, `killed by SIGKILL after the step: ${killed.stderr.slice(-2000)}`);
    const journal = await kjson('east', ['get', 'configmap', '-n', NS, 'kubectl-redis-migrate-sts-cache']);
    assert.equal((journal?.metadata as { annotations?: Record<string, string> }).annotations?.['redis.kubectl.io/state'], 'running');
    assert.deepEqual((await podsIn(cache, 'west')).map((p) => p.name), ['cache-5'], 'cache-5 had moved to west');
    assert.equal((await podsIn(cache, 'east')).length, 4, 'cache-4 stopped in east and was not started anywhere yet');
    probe.mark('abort');
    const abort = await cliLive(['migrate', 'sts/cache', '-n', NS, '--to-context', 'west', '--abort', '--yes'], { onLine: marker(probe) });
    assert.equal(abort.code, 0, abort.stderr.slice(-3000));
    assert.match(abort.stdout, /aborted: cache-4, cache-5 back in the source/);
    const report = await probe.stop();
    const doubles = await twice.stop();
    reportGaps(t, 'kill + abort of sts/cache', report, Date.now() - started);
    assertNoLoss(report);
    assert.deepEqual(doubles, [], 'no ordinal ran in both clusters at once');
    assert.deepEqual(await nodeIds(cache, 'east'), ids, 'every pod is back in east with its node id');
    await clusterCheck(cache, 'east', 6);
    // deleted by the abort; like a real API server, the sandbox keeps it Terminating until its contents are gone
    await eventually('the namespace migrate created in west to be gone', async () => (await sb.kubectl(['get', 'ns', NS], { context: 'west' })).code === 1, 60_000, 500);
    assert.equal((await sb.kubectl(['get', 'pv', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.persistentVolumeReclaimPolicy} {end}'], { context: 'east' })).stdout, policies, 'reclaim policies are restored');
    const again = await sb.cli(['migrate', 'sts/cache', '-n', NS, '--to-context', 'west', '--abort', '--yes']);
    assert.equal(again.code, 4, 'nothing left to abort');
  });

  test('sts/cache moves east -> west with the same node ids, resumed after two kills, no write lost', async (t) => {
    const ids = await nodeIds(cache, 'east');
    const probe = await probeOn('cache', cache);
    const twice = twiceWatcher(cache);
    const started = Date.now();
    const args = ['migrate', 'sts/cache', '-n', NS, '--to-context', 'west', '--yes'];
    for (const step of ['wait-joined/cache-3', 'failover/cache-1']) {
      const killed = await cliLive(args, { env: { KUBECTL_REDIS_DIE_AFTER_STEP: step }, onLine: marker(probe) });
      assert.equal(killed.code, 137, `killed after ${step}: ${killed.stderr.slice(-2000)}`);
    }
    const done = await cliLive(args, { onLine: marker(probe) });
    const totalMs = Date.now() - started;
    assert.equal(done.code, 0, done.stderr.slice(-3000));
    assert.match(done.stderr, /resuming migrate mig-[0-9a-f]+: \d+ of 41 steps were done/);
    assert.match(done.stdout, /migrated sts\/cache: 6 pods with the same node ids/);
    const report = await probe.stop();
    const doubles = await twice.stop();
    reportGaps(t, 'migrate sts/cache (6 pods)', report, totalMs);
    assertNoLoss(report);
    assert.deepEqual(doubles, [], 'no ordinal ran in both clusters at once');
    assert.deepEqual(await podsIn(cache, 'east'), [], 'no pod of cache left in east');
    assert.deepEqual(await nodeIds(cache, 'west'), ids, 'every pod runs in west with its node id');
    await clusterCheck(cache, 'west', 6);
    await volumesFollow(Array.from({ length: 6 }, (_, i) => `redis-data-cache-${i}`));
    const sts = await kjson('west', ['get', 'sts', '-n', NS, 'cache']);
    assert.deepEqual({ replicas: (sts?.spec as { replicas?: number }).replicas, ordinals: (sts?.spec as { ordinals?: unknown }).ordinals }, { replicas: 6, ordinals: { start: 0 } });
    const journal = await kjson('east', ['get', 'configmap', '-n', NS, 'kubectl-redis-migrate-sts-cache']);
    assert.equal((journal?.metadata as { annotations?: Record<string, string> }).annotations?.['redis.kubectl.io/state'], 'done');
  });

  test('rediscluster/orders (OT: leader and follower StatefulSets) moves east -> west; the operator resumes in west', async (t) => {
    const ids = await nodeIds(orders, 'east');
    const probe = await probeOn('orders', orders);
    const twice = twiceWatcher(orders);
    const started = Date.now();
    const r = await cliLive(['migrate', 'rediscluster/orders', '-n', NS, '--from-context', 'east', '--to-context', 'west', '--yes'], { onLine: marker(probe) });
    const totalMs = Date.now() - started;
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const report = await probe.stop();
    const doubles = await twice.stop();
    reportGaps(t, 'migrate rediscluster/orders (6 pods)', report, totalMs);
    assertNoLoss(report);
    assert.deepEqual(doubles, []);
    assert.deepEqual(await podsIn(orders, 'east'), []);
    assert.deepEqual(await nodeIds(orders, 'west'), ids);
    await clusterCheck(orders, 'west', 6);
    await volumesFollow(['leader', 'follower'].flatMap((role) => [0, 1, 2].flatMap((i) => [`orders-${role}-orders-${role}-${i}`, `node-conf-orders-${role}-${i}`])));
    const west = await kjson('west', ['get', 'rediscluster', '-n', NS, 'orders']);
    assert.equal((west?.metadata as { annotations?: Record<string, string> }).annotations?.['rediscluster.opstreelabs.in/skip-reconcile'], undefined, 'the copy in west is resumed');
    const east = await kjson('east', ['get', 'rediscluster', '-n', NS, 'orders']);
    assert.ok((east?.metadata as { annotations?: Record<string, string> }).annotations?.['rediscluster.opstreelabs.in/skip-reconcile'], 'the original in east stays paused (resuming it would start a second copy)');
    assert.match(r.stdout, /stays paused with 0 pods/);
    // the operator in west reconciles what it now owns without disturbing it
    await new Promise((res) => setTimeout(res, 12_000));
    await clusterCheck(orders, 'west', 6);
    assert.deepEqual(await nodeIds(orders, 'west'), ids);
  });
});
