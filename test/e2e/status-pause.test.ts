// status, pause and resume as a user runs them: the built CLI against the demo preset (OT RedisCluster orders,
// spotahome RedisFailover sessions, Bitnami cluster cache), checked against redis-cli and kubectl.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { run, startSandbox, type TestSandbox } from '../support/sandbox.js';
import { clusterCheckResult, eventually, pods, redisCli, secret as secretOf, sleep } from '../support/redis.js';
import type { TargetReport as Report } from '../../src/workflows/status/report.js';

let sb: TestSandbox;

before(async () => {
  sb = await startSandbox({ preset: 'demo' });
}, { timeout: 300_000 });

after(async () => {
  await sb?.down();
});

async function status(args: string[] = []): Promise<Report[]> {
  const r = await sb.cli(['status', '-n', 'redis', '-o', 'json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { apiVersion: string; kind: string; items: Report[] };
  assert.equal(doc.apiVersion, 'redis.kubectl.io/v1alpha1');
  assert.equal(doc.kind, 'StatusList');
  return doc.items;
}

const secret = (name: string, key: string): Promise<string> => secretOf(sb, 'redis', name, key);

async function annotations(resource: string): Promise<Record<string, string>> {
  const r = await sb.kubectl(['get', resource, '-n', 'redis', '-o', 'jsonpath={.metadata.annotations}']);
  return r.stdout ? (JSON.parse(r.stdout) as Record<string, string>) : {};
}


describe('status', () => {
  test('lists all three systems of the demo, with every slot covered', async () => {
    const items = await status();
    assert.deepEqual(items.map((i) => i.ref), ['rediscluster/orders', 'rf/sessions', 'sts/cache']);
    assert.deepEqual(items.map((i) => i.system), ['ot', 'spotahome', 'bitnami']);
    for (const i of items) assert.equal(i.readyPods, i.pods, `${i.ref} pods ready`);
    assert.equal(items[0].slotsCovered, 16384);
    assert.equal(items[2].slotsCovered, 16384);
    const table = await sb.cli(['status', '-n', 'redis']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^TARGET\s+OPERATOR\s+TOPOLOGY\s+READY\s+SLOTS\s+LAG\s+PAUSED\s+HEALTH\s+FINDINGS$/m);
    assert.match(table.stdout, /rf\/sessions\s+spotahome v1\.3\.0-rc1\s+sentinel 1m\/2r\/3s\s+6\/6/);
  });

  test('per pod, the role status reports is what redis-cli ROLE says on that pod', async () => {
    const items = await status();
    const passwords: Record<string, string> = {
      'rediscluster/orders': await secret('orders-redis', 'password'),
      'rf/sessions': await secret('sessions-auth', 'password'),
      'sts/cache': await secret('cache', 'redis-password'),
    };
    let checked = 0;
    for (const item of items) {
      for (const p of item.podReports.filter((x) => x.component === 'redis')) {
        const r = await run('redis-cli', ['-h', p.ip, '-p', '6379', '--no-auth-warning', 'ROLE'], { env: { ...process.env, REDISCLI_AUTH: passwords[item.ref] } });
        assert.equal(r.code, 0, r.stderr);
        const role = r.stdout.split('\n')[0].trim();
        assert.equal(p.role, role === 'slave' ? 'replica' : role, `${p.pod}: status says ${p.role}, ROLE says ${role}`);
        checked++;
      }
    }
    assert.equal(checked, 15);
  });

  test('one target shows one row per pod, with its node', async () => {
    const r = await sb.cli(['status', 'rediscluster/orders', '-n', 'redis']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Target:\s+rediscluster\/orders \(RedisCluster, namespace redis\)$/m);
    assert.match(r.stdout, /^POD\s+IP\s+NODE\s+ROLE\s+SLOTS\s+MASTER\s+LAG\s+LINK\s+MEMORY\s+READY$/m);
    for (const pod of ['orders-leader-0', 'orders-leader-1', 'orders-leader-2', 'orders-follower-0', 'orders-follower-1', 'orders-follower-2']) {
      assert.match(r.stdout, new RegExp(`^${pod}\\s+127\\.\\S+\\s+east-node-\\d\\s+(master|replica)\\s`, 'm'));
    }
  });

  test('--exit-code exits 3 when a target has findings, and the findings name a fix', async () => {
    // the expectation comes from redis-cli, not from status: a slot left MIGRATING on its owner (an interrupted
    // resharding) is a fault redis-cli --cluster check reports, so status must exit 3 with --exit-code
    const password = await secret('orders-redis', 'password');
    const leaders = await pods(sb, 'redis', 'app=orders-leader');
    const ids = await Promise.all(leaders.map(async (p) => (await redisCli(p.ip, 6379, password, ['CLUSTER', 'MYID'])).stdout.trim()));
    const slotOwner = async (slot: number): Promise<number> => {
      for (const [i, p] of leaders.entries()) {
        const mine = (await redisCli(p.ip, 6379, password, ['CLUSTER', 'NODES'])).stdout.split('\n').find((l) => l.split(' ')[2]?.includes('myself'));
        if ((mine ?? '').split(' ').slice(8).some((r) => { const [a, b] = r.split('-').map(Number); return slot >= a && slot <= (b ?? a); })) return i;
      }
      throw new Error(`no leader owns slot ${slot}`);
    };
    const from = await slotOwner(100);
    const to = (from + 1) % leaders.length;
    assert.equal((await redisCli(leaders[from].ip, 6379, password, ['CLUSTER', 'SETSLOT', '100', 'MIGRATING', ids[to]])).stdout.trim(), 'OK');
    try {
      const check = await clusterCheckResult(password, leaders[from].ip);
      assert.ok(!check.ok && /open slot|migrating/i.test(check.text), `redis-cli --cluster check sees the open slot:\n${check.text}`);
      const plain = await sb.cli(['status', '-n', 'redis']);
      assert.equal(plain.code, 0, `without --exit-code status exits 0 whatever it finds: ${plain.stderr}`);
      const r = await sb.cli(['status', '-n', 'redis', '--exit-code']);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(r.stdout, /fix: kubectl redis heal rediscluster\/orders/);
    } finally {
      assert.equal((await redisCli(leaders[from].ip, 6379, password, ['CLUSTER', 'SETSLOT', '100', 'STABLE'])).stdout.trim(), 'OK');
    }
  });

  test('-o json is a stable document: same keys in the same order on every run', async () => {
    const shape = (v: unknown): unknown => (Array.isArray(v) ? v.map(shape) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)])) : typeof v);
    const a = await status();
    const b = await status();
    assert.deepEqual(Object.keys(a[0]), [...Object.keys(a[0])].sort(), 'keys sorted');
    assert.deepEqual(shape(a.map((i) => ({ ...i, findings: [] }))), shape(b.map((i) => ({ ...i, findings: [] }))));
  });

  test('an unknown target and a wrong context are one clear sentence and a non-zero exit', async () => {
    const r = await sb.cli(['status', 'rediscluster/nope', '-n', 'redis']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: rediscluster "nope" not found in namespace "redis"$/m);
    const c = await sb.cli(['status', '--context', 'nope']);
    assert.notEqual(c.code, 0);
    assert.match(c.stderr, /context "nope" does not exist/);
  });
});

describe('pause and resume', () => {
  test('OT: pause sets exactly skip-reconcile=true with our audit keys; the operator ignores drift; resume converges', async () => {
    const dry = await sb.cli(['pause', 'rediscluster/orders', '-n', 'redis', '--reason', 'e2e', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /rediscluster\.opstreelabs\.in\/skip-reconcile\s+<none>\s+=>\s+true/);
    assert.equal((await annotations('rediscluster/orders'))['rediscluster.opstreelabs.in/skip-reconcile'], undefined, 'dry run changed nothing');

    const refused = await sb.cli(['pause', 'rediscluster/orders', '-n', 'redis', '--reason', 'e2e']);
    assert.equal(refused.code, 4, 'non-interactive without --yes refuses');
    assert.equal((await annotations('rediscluster/orders'))['rediscluster.opstreelabs.in/skip-reconcile'], undefined);

    const p = await sb.cli(['pause', 'rediscluster/orders', '-n', 'redis', '--reason', 'e2e drift test', '--for', '1h', '--yes']);
    assert.equal(p.code, 0, p.stderr);
    const a = await annotations('rediscluster/orders');
    assert.equal(a['rediscluster.opstreelabs.in/skip-reconcile'], 'true');
    assert.equal(a['redis.kubectl.io/paused-reason'], 'e2e drift test');
    assert.ok(a['redis.kubectl.io/paused-by']);
    assert.ok(Date.parse(a['redis.kubectl.io/paused-until']) > Date.now() + 50 * 60_000);
    const ev = await sb.kubectl(['get', 'events', '-n', 'redis', '--field-selector', 'involvedObject.name=orders,reason=ReconcilePaused', '-o', 'name']);
    assert.notEqual(ev.stdout.trim(), '', 'an Event records the pause');

    const s = (await status()).find((i) => i.ref === 'rediscluster/orders');
    assert.equal(s?.pause.paused, true);
    assert.equal(s?.pause.reason, 'e2e drift test');

    // drift the operator would reset: one follower fewer. Paused, it stays (OT requeues every 10 s).
    assert.equal((await sb.kubectl(['scale', 'sts/orders-follower', '-n', 'redis', '--replicas=2'])).code, 0);
    await sleep(15_000);
    const replicas = await sb.kubectl(['get', 'sts/orders-follower', '-n', 'redis', '-o', 'jsonpath={.spec.replicas}']);
    assert.equal(replicas.stdout, '2', 'the paused operator left the drift alone');

    const r = await sb.cli(['resume', 'rediscluster/orders', '-n', 'redis', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    const after = await annotations('rediscluster/orders');
    assert.deepEqual(Object.keys(after).filter((k) => k.includes('skip-reconcile') || k.startsWith('redis.kubectl.io/')), []);
    await eventually('the operator to put orders-follower back to 3', async () =>
      (await sb.kubectl(['get', 'sts/orders-follower', '-n', 'redis', '-o', 'jsonpath={.spec.replicas}'])).stdout === '3', 30_000);

    const again = await sb.cli(['resume', 'rediscluster/orders', '-n', 'redis', '--yes']);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /is not paused; nothing to do/);
  });

  test("someone else's pause is refused without --force", async () => {
    const add = await sb.sandbox(['user', '--name', 'alice', '--group', 'system:masters']);
    assert.equal(add.code, 0, add.stderr);
    const p = await sb.cli(['pause', 'sts/cache', '-n', 'redis', '--reason', 'x', '--yes']);
    assert.equal(p.code, 4, 'Bitnami has no controller: nothing to pause');
    assert.match(p.stderr, /no operator reconciling it/);
    const mine = await sb.cli(['pause', 'rediscluster/orders', '-n', 'redis', '--reason', 'alice works', '--yes'], { context: 'alice@east' });
    assert.equal(mine.code, 0, mine.stderr);
    const theirs = await sb.cli(['pause', 'rediscluster/orders', '-n', 'redis', '--reason', 'me too', '--yes']);
    assert.equal(theirs.code, 4);
    assert.match(theirs.stderr, /already paused by alice/);
    const resume = await sb.cli(['resume', 'rediscluster/orders', '-n', 'redis', '--yes']);
    assert.equal(resume.code, 4);
    const forced = await sb.cli(['resume', 'rediscluster/orders', '-n', 'redis', '--yes', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
  });

  test('spotahome upstream: pause refuses and says why; --operator-scale-down stops the operator and resume restores it', async () => {
    const p = await sb.cli(['pause', 'rf/sessions', '-n', 'redis', '--reason', 'restore', '--yes']);
    assert.equal(p.code, 4);
    assert.match(p.stderr, /has no pause annotation/);
    assert.match(p.stderr, /--operator-scale-down/);
    const s = await sb.cli(['pause', 'rf/sessions', '-n', 'redis', '--reason', 'restore', '--operator-scale-down', '--yes']);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stderr, /pauses every resource that operator manages/);
    const replicas = await sb.kubectl(['get', 'deploy/redis-operator', '-n', 'spotahome', '-o', 'jsonpath={.spec.replicas}']);
    assert.equal(replicas.stdout, '0');
    assert.equal((await annotations('rf/sessions'))['redis.kubectl.io/paused-operator-replicas'], 'spotahome/redis-operator=1');
    const r = await sb.cli(['resume', 'rf/sessions', '-n', 'redis', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    const back = await sb.kubectl(['get', 'deploy/redis-operator', '-n', 'spotahome', '-o', 'jsonpath={.spec.replicas}']);
    assert.equal(back.stdout, '1');
  });

  test('every command has help with examples', async () => {
    for (const cmd of ['status', 'pause', 'resume']) {
      const h = await sb.cli([cmd, '--help']);
      assert.equal(h.code, 0, h.stderr);
      assert.match(h.stdout, /EXAMPLES/, `${cmd} --help has examples`);
    }
  });
});
