// A Bitnami redis-cluster whose chart moved redis.containerPorts.redis to 7000 (preset bitnami-cluster-port): nothing
// listens on 6379 in its pods (checked first, so a tool that assumes 6379 fails here), and status and heal read the
// port from the StatefulSet and work through port-forward and with --direct.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type TestSandbox } from '../support/sandbox.js';
import { createHash } from 'node:crypto';
import { clusterCheckResult, eventually, pods, rc, redisCli, secret } from '../support/redis.js';
import type { TargetReport } from '../../src/workflows/status/report.js';

const SELECTOR = 'app.kubernetes.io/name=redis-cluster,app.kubernetes.io/instance=cache';
let sb: TestSandbox;
let password = '';

before(async () => {
  sb = await startSandbox({ preset: 'bitnami-cluster-port' });
  password = await secret(sb, 'redis', 'cache', 'redis-password');
  // the preset returns once every slot is served; the replicas may still be in their first full sync
  await eventually('every replica linked to its master (redis-cli INFO replication)', async () => {
    for (const p of await pods(sb, 'redis', SELECTOR)) {
      const info = await rc(p.ip, 7000, password, ['INFO', 'replication']);
      if (info.includes('role:slave') && !info.includes('master_link_status:up')) return false;
    }
    return true;
  }, 60_000);
}, { timeout: 300_000 });

after(async () => {
  await sb?.down();
});

describe('a Redis Cluster on port 7000', () => {
  test('the sandbox is not kinder than the chart: Redis answers on 7000 and nothing on 6379', async () => {
    const [p] = await pods(sb, 'redis', SELECTOR);
    assert.equal(await rc(p.ip, 7000, password, ['PING']), 'PONG');
    const wrong = await redisCli(p.ip, 6379, password, ['PING'], 5000);
    assert.match(wrong.stdout + wrong.stderr, /refused|Could not connect/i);
  });

  for (const mode of [[], ['--direct']]) {
    test(`status${mode.length ? ' --direct' : ''} finds every pod on the declared port, every slot covered, nothing unreachable`, async () => {
      const r = await sb.cli(['status', 'sts/cache', '-n', 'redis', '-o', 'json', ...mode]);
      assert.equal(r.code, 0, r.stderr);
      const item = (JSON.parse(r.stdout) as { items: TargetReport[] }).items[0];
      // the sandbox's scheduler may put a master and its replica on one node (a warning, not about ports)
      assert.notEqual(item.health, 'critical', r.stdout);
      assert.deepEqual(item.findings.filter((f) => f.kind !== 'master-replica-same-node').map((f) => f.message), []);
      const reports = item.podReports.filter((x) => x.component === 'redis');
      assert.equal(reports.length, 6);
      for (const x of reports) {
        const role = (await rc(x.ip, 7000, password, ['ROLE'])).split('\n')[0];
        assert.equal(x.role, role === 'slave' ? 'replica' : role, x.pod);
      }
    });
  }

  test('heal covers a slot every node forgot, on port 7000', async () => {
    const all = await pods(sb, 'redis', SELECTOR);
    for (const p of all) assert.equal(await rc(p.ip, 7000, password, ['CLUSTER', 'DELSLOTS', '42']), 'OK');
    const broken = await clusterCheckResult(password, all[0].ip, 30_000, 7000);
    assert.match(broken.text, /Not all 16384 slots are covered/, 'the fault is there before heal');
    const r = await sb.cli(['heal', 'sts/cache', '-n', 'redis', '--yes'], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const check = await eventually('redis-cli --cluster check on port 7000 to pass', async () => {
      const c = await clusterCheckResult(password, all[0].ip, 30_000, 7000);
      return c.ok ? c : undefined;
    }, 30_000);
    assert.match(check.out, /All 16384 slots covered/);
  });

  test('ACL users: --redis-user with --redis-password-secret logs in as that user; one without +cluster is one sentence naming it', async () => {
    const all = await pods(sb, 'redis', SELECTOR);
    const pass = { ops: `ops-${Math.random().toString(36).slice(2)}`, viewer: `viewer-${Math.random().toString(36).slice(2)}` };
    const sha = (x: string) => createHash('sha256').update(x).digest('hex');
    for (const p of all) {
      // the passwords' SHA-256 on redis-cli's command line, never the passwords
      assert.equal(await rc(p.ip, 7000, password, ['ACL', 'SETUSER', 'ops', 'on', `#${sha(pass.ops)}`, '~*', '&*', '+@all']), 'OK');
      assert.equal(await rc(p.ip, 7000, password, ['ACL', 'SETUSER', 'viewer', 'on', `#${sha(pass.viewer)}`, '~*', '&*', '+@all', '-cluster']), 'OK');
    }
    const secrets = (['ops', 'viewer'] as const).map((u) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${u}-login\n  namespace: redis\nstringData:\n  password: ${pass[u]}\n`);
    const applied = await sb.kubectl(['apply', '-f', '-'], { input: secrets.join('---\n') });
    assert.equal(applied.code, 0, applied.stderr);
    const ok = await sb.cli(['status', 'sts/cache', '-n', 'redis', '-o', 'json', '--redis-user', 'ops', '--redis-password-secret', 'ops-login:password']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { items: TargetReport[] }).items[0].podReports.filter((x) => x.role === 'master').length, 3);
    const denied = await sb.cli(['status', 'sts/cache', '-n', 'redis', '--redis-user', 'viewer', '--redis-password-secret', 'viewer-login:password']);
    assert.equal(denied.code, 1, denied.stdout + denied.stderr);
    assert.match(denied.stderr, /^error: Redis user "viewer" may not run CLUSTER NODES in pod redis\/cache-\d \(its ACL lacks \+cluster\|nodes\)/m);
    const wrong = await sb.cli(['status', 'sts/cache', '-n', 'redis', '--redis-user', 'viewer', '--redis-password-secret', 'ops-login:password']);
    assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
    assert.match(wrong.stderr, /^error: wrong password for user "viewer" of Redis in pod redis\/cache-\d: check the Secret redis\/ops-login key password/m);
    for (const out of [ok, denied, wrong]) assert.ok(!(out.stdout + out.stderr).includes(pass.ops) && !(out.stdout + out.stderr).includes(pass.viewer), 'no password printed');
  });
});
