// status, pause and resume on the two kinds added last: the OT Redis standalone (`redis/scratch` of the
// ot-replication preset) and the Bitnami redis chart with architecture=replication (`sts/store-master` of the
// bitnami-replication preset, also named by its replicas' StatefulSet). The built CLI, checked against redis-cli
// ROLE on every pod and against the annotations kubectl shows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type TestSandbox } from '../support/sandbox.js';
import { redisCli, secret as secretOf, sleep } from '../support/redis.js';
import type { TargetReport as Report } from '../../src/workflows/status/report.js';

let ot: TestSandbox;
let bn: TestSandbox;

before(async () => {
  [ot, bn] = await Promise.all([startSandbox({ preset: 'ot-replication' }), startSandbox({ preset: 'bitnami-replication' })]);
}, { timeout: 400_000 });

after(async () => {
  await Promise.all([ot?.down(), bn?.down()]);
});

async function status(sb: TestSandbox, args: string[] = []): Promise<Report[]> {
  const r = await sb.cli(['status', '-n', 'redis', '-o', 'json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { items: Report[] }).items;
}

const secret = (sb: TestSandbox, name: string, key: string): Promise<string> => secretOf(sb, 'redis', name, key);

async function annotations(sb: TestSandbox, resource: string): Promise<Record<string, string>> {
  const r = await sb.kubectl(['get', resource, '-n', 'redis', '-o', 'jsonpath={.metadata.annotations}']);
  return r.stdout ? (JSON.parse(r.stdout) as Record<string, string>) : {};
}

async function role(ip: string, password: string): Promise<string> {
  const r = await redisCli(ip, 6379, password, ['ROLE']);
  assert.equal(r.code, 0, r.stderr);
  const first = r.stdout.split('\n')[0].trim();
  return first === 'slave' ? 'replica' : first;
}


describe('status on an OT Redis standalone and a Bitnami replication', () => {
  test('redis/scratch: standalone, one pod, the role redis-cli ROLE says', async () => {
    const items = await status(ot);
    const s = items.find((i) => i.ref === 'redis/scratch');
    assert.ok(s, `redis/scratch listed among ${items.map((i) => i.ref).join(', ')}`);
    assert.equal(s.system, 'ot');
    assert.equal(s.kind, 'Redis');
    assert.equal(s.health, 'ok');
    assert.equal(s.readyPods, 1);
    const pods = s.podReports.filter((p) => p.component === 'redis');
    assert.deepEqual(pods.map((p) => p.pod), ['scratch-0']);
    const pass = await secret(ot, 'scratch-redis', 'password');
    assert.equal(pods[0].role, await role(pods[0].ip, pass));
    assert.equal(pods[0].role, 'master');
    const table = await ot.cli(['status', '-n', 'redis']);
    assert.match(table.stdout, /^redis\/scratch\s+ot v0\.21\.0\s+standalone 1m\/0r\s+1\/1\s/m);
  });

  test('sts/store-master: replication 1m/2r over both StatefulSets, roles as redis-cli ROLE says', async () => {
    const items = await status(bn);
    assert.deepEqual(items.map((i) => i.ref), ['sts/store-master'], 'one target for both StatefulSets');
    const s = items[0];
    assert.equal(s.system, 'bitnami');
    assert.equal(s.health, 'ok');
    assert.equal(s.readyPods, 3);
    const pass = await secret(bn, 'store', 'redis-password');
    const pods = s.podReports.filter((p) => p.component === 'redis');
    assert.deepEqual(pods.map((p) => p.pod).sort(), ['store-master-0', 'store-replicas-0', 'store-replicas-1']);
    for (const p of pods) assert.equal(p.role, await role(p.ip, pass), `${p.pod}: status says ${p.role}`);
    assert.deepEqual(pods.map((p) => `${p.pod}=${p.role}`).sort(), ['store-master-0=master', 'store-replicas-0=replica', 'store-replicas-1=replica']);
    const table = await bn.cli(['status', '-n', 'redis']);
    assert.match(table.stdout, /^sts\/store-master\s+bitnami \(no operator\)\s+replication 1m\/2r\s+3\/3\s/m);
  });

  test('the replicas\' StatefulSet and the release name resolve to the same target', async () => {
    for (const name of ['sts/store-replicas', 'sts/store', 'store']) {
      const r = await bn.cli(['status', name, '-n', 'redis']);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.match(r.stdout, /^Target:\s+sts\/store-master \(StatefulSet, namespace redis\)$/m, name);
    }
    const p = await bn.cli(['pause', 'sts/store-replicas', '-n', 'redis', '--reason', 'x', '--yes']);
    assert.equal(p.code, 4, 'a chart has no controller: nothing to pause');
    assert.match(p.stderr, /no operator reconciling it/);
  });
});

describe('pause and resume on redis/<name>', () => {
  test('pause sets redis.opstreelabs.in/skip-reconcile=true; drift stays; resume removes it and the operator resets the drift', async () => {
    const p = await ot.cli(['pause', 'redis/scratch', '-n', 'redis', '--reason', 'e2e standalone', '--yes']);
    assert.equal(p.code, 0, p.stderr);
    const a = await annotations(ot, 'redis/scratch');
    assert.equal(a['redis.opstreelabs.in/skip-reconcile'], 'true');
    assert.equal(a['redis.kubectl.io/paused-reason'], 'e2e standalone');
    const s = (await status(ot)).find((i) => i.ref === 'redis/scratch');
    assert.equal(s?.pause.paused, true);

    // drift the operator would reset: another image on its StatefulSet. Paused, it stays (OT requeues every 10 s).
    assert.equal((await ot.kubectl(['set', 'image', 'sts/scratch', '-n', 'redis', 'scratch=quay.io/opstree/redis:v6.2.14'])).code, 0);
    await sleep(15_000);
    const image = async () => (await ot.kubectl(['get', 'sts/scratch', '-n', 'redis', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'])).stdout;
    assert.equal(await image(), 'quay.io/opstree/redis:v6.2.14', 'the paused operator left the drift alone');

    const r = await ot.cli(['resume', 'redis/scratch', '-n', 'redis', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    const after = await annotations(ot, 'redis/scratch');
    assert.deepEqual(Object.keys(after).filter((k) => k.includes('skip-reconcile') || k.startsWith('redis.kubectl.io/')), []);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await image()) !== 'quay.io/opstree/redis:v7.0.12') await sleep(500);
    assert.equal(await image(), 'quay.io/opstree/redis:v7.0.12', 'resumed, the operator reset the image');
    const again = (await status(ot)).find((i) => i.ref === 'redis/scratch');
    assert.equal(again?.pause.paused, false);
  });
});

describe('drain-reboot on the Bitnami replication: a wait that cannot succeed stops', () => {
  test('a second master appearing while drain-reboot waits for health (no sentinel, no operator to decide) ends the wait at once, naming heal', async (t) => {
    const { pods } = await import('../support/redis.js');
    const password = await secret(bn, 'store', 'redis-password');
    const all = await pods(bn, 'redis', 'app.kubernetes.io/instance=store');
    const replicas = all.filter((p) => p.name.startsWith('store-replicas-'));
    // reboot a replica's node; split off a replica elsewhere once the reboot is claimed (health was re-checked then)
    const pick = replicas.flatMap((a) => replicas.filter((b) => b.node !== a.node).map((b) => [a, b] as const))[0];
    assert.ok(pick, 'two replicas on different nodes');
    const [onNode, other] = pick;
    const MARK = 'redis.kubectl.io/drain-reboot';
    const step = async (): Promise<string | undefined> => {
      const r = await bn.kubectl(['get', 'node', onNode.node, '-o', 'json']);
      const mark = (JSON.parse(r.stdout) as { metadata: { annotations?: Record<string, string> } }).metadata.annotations?.[MARK];
      return mark ? (JSON.parse(mark) as { step: string }).step : undefined;
    };
    const live = bn.spawnCli(['drain-reboot', onNode.node, '--delete-emptydir-data', '--ignore-daemonsets', '--timeout', '4m', '--yes'], { timeoutMs: 300_000 });
    let exited = false;
    void live.result.then(() => (exited = true));
    for (let i = 0; i < 600 && !exited && (await step()) !== 'reboot'; i++) await sleep(200);
    assert.equal(exited, false, live.stderr());
    assert.equal((await redisCli(other.ip, 6379, password, ['REPLICAOF', 'NO', 'ONE'])).stdout.trim(), 'OK');
    const splitAt = Date.now();
    const r = await live.result;
    t.diagnostic(`drain-reboot ended ${Date.now() - splitAt} ms after the split (its wait timeout: 4 min)`);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /say they are master[\s\S]*waiting will not end this: run `kubectl redis heal sts\/store-master -n redis/);
    assert.match(r.stderr, /is back: boot ID/, 'it got as far as the reboot');
    // clean up as the sentence says: heal (keeping the master), then end the drain-reboot
    const heal = await bn.cli(['heal', 'sts/store-master', '-n', 'redis', '--yes', '--prefer', 'store-master-0']);
    assert.equal(heal.code, 0, heal.stdout + heal.stderr);
    assert.equal(await role(other.ip, password), 'replica');
    const abort = await bn.cli(['drain-reboot', '--abort', '--yes']);
    assert.equal(abort.code, 0, abort.stdout + abort.stderr);
  });
});
