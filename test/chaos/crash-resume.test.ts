// Crash-resume (issue 13, reliability): the CLI is killed with SIGKILL (KUBECTL_REDIS_DIE_AFTER_STEP) right after each
// distinct step kind, and the same command line run again resumes at once, until a last run completes.
//   drain-reboot: every step of NODE_STEPS once, spread over the three nodes, 8 kills + 1 run. Each re-run takes the
//     Lease over from the killed holder at once (not after its 60 s expiry). Afterwards: no node cordoned or marked,
//     no Lease held, no operator paused, the journal done, every node rebooted, no acknowledged probe write lost.
//   migrate: every step kind of migrationSteps that test/e2e/migrate.test.ts does not already kill after (failover,
//     wait-joined), on rediscluster/orders (an operator to pause and resume), east -> west. Afterwards: the journal
//     done, the operator in west resumed, the same node ids, redis-cli --cluster check OK, no acknowledged write lost.
//   --abort after a kill takes the Lease over the same way and undoes the cordon.
// One sandbox (east + west, demo preset) serves all three. Long-running: run it directly,
//   node --import tsx --test test/chaos/crash-resume.test.ts
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startProbe, type Probe, type ProbeReport } from '../../bench/probe.js';
import { NODE_STEPS, stepKey } from '../../src/workflows/drain-reboot/plan.js';
import { migrationSteps, stepId, type MigrationStep } from '../../src/workflows/migrate/objects.js';
import { startSandbox, type LiveResult, type RunResult, type TestSandbox } from '../support/sandbox.js';
import { redisCli as redisCliAt } from '../support/redis.js';

const NS = 'redis';
const NODES = ['east-node-1', 'east-node-2', 'east-node-3'];
const MARK = 'redis.kubectl.io/drain-reboot';
const DR_COMMON = ['--delete-emptydir-data', '--ignore-daemonsets', '--timeout', '4m', '--delay', '1s'];
const ORDERS = 'app in (orders-leader,orders-follower)';
/** The migrate step kinds test/e2e/migrate.test.ts already kills after and resumes. */
const MIGRATE_KILLED_ELSEWHERE = new Set<MigrationStep['kind']>(['failover', 'wait-joined']);

let sb: TestSandbox;
const passwords: Record<string, string> = {};

interface Killable extends LiveResult {
  pid: number;
}

/** The built CLI as a child whose pid we know (the Lease names it), with extra env. */
async function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 600_000): Promise<Killable> {
  const c = sb.spawnCli(args, { env, timeoutMs });
  return { ...(await c.result), pid: c.pid };
}

async function kjson<T>(args: string[], context = 'east'): Promise<T> {
  const r = await sb.kubectl([...args, '-o', 'json'], { context });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface Meta {
  name: string;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
}

interface JournalView {
  state: string;
  id: string;
  steps: Record<string, { status: string }>;
}

async function journal(namespace: string, name: string): Promise<JournalView> {
  const cm = await kjson<{ data: Record<string, string> }>(['get', 'configmap', '-n', namespace, name]);
  return JSON.parse(cm.data['journal.json']) as JournalView;
}

async function podIps(selector: string, context = 'east'): Promise<string[]> {
  const list = await kjson<{ items: Array<{ metadata: Meta; status?: { podIP?: string } }> }>(['get', 'pods', '-n', NS, '-l', selector], context);
  return list.items.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.status?.podIP ?? '').filter(Boolean);
}

const redisCli = (target: string, ip: string, args: string[]): Promise<RunResult> => redisCliAt(ip, 6379, passwords[target], args);

/** Objects whose operator we could have paused: none may carry a pause annotation, unless `allowed` says so. */
async function pausedObjects(context: string, allowed: (kind: string, name: string) => boolean = () => false): Promise<string[]> {
  const out: string[] = [];
  for (const kind of ['rediscluster', 'redisfailover', 'statefulsets', 'deployments']) {
    const list = await kjson<{ items: Array<{ metadata: Meta }> }>(['get', kind, '-A'], context);
    for (const o of list.items) {
      const keys = Object.keys(o.metadata.annotations ?? {}).filter((k) => /\/skip-reconcile$|^redis\.kubectl\.io\/paused-/.test(k));
      if (keys.length > 0 && !allowed(kind, o.metadata.name)) out.push(`${kind}/${o.metadata.name}: ${keys.join(', ')}`);
    }
  }
  return out;
}

function assertNoLoss(r: ProbeReport): void {
  assert.ok(r.acknowledged > 100, `${r.name}: the probe kept writing (${r.acknowledged} acknowledged)`);
  assert.equal(r.lostAcknowledged, 0, `${r.name}: lost acknowledged writes: ${r.lostKeys.slice(0, 5).join(', ')}`);
  assert.equal(r.unverified, 0, `${r.name}: every acknowledged write could be read back`);
}

function describeRuns(runs: Array<{ step: string; r: Killable }>): string {
  return runs.map(({ step, r }) => `${step} ${(r.ms / 1000).toFixed(1)} s`).join(', ');
}

before(async () => {
  sb = await startSandbox({ preset: 'demo', clusters: ['east', 'west'] });
  for (const [name, secret, key] of [['orders', 'orders-redis', 'password'], ['cache', 'cache', 'redis-password'], ['sessions', 'sessions-auth', 'password']]) {
    const r = await sb.kubectl(['get', 'secret', '-n', NS, secret, '-o', `jsonpath={.data.${key}}`], { context: 'east' });
    assert.equal(r.code, 0, r.stderr);
    passwords[name] = Buffer.from(r.stdout, 'base64').toString();
  }
}, { timeout: 300_000 });

after(async () => {
  await sb?.down();
});

describe('crash-resume', { concurrency: false }, () => {
  test('drain-reboot killed after cordon: --abort takes the Lease over at once, uncordons and ends the journal', async (t: TestContext) => {
    const started = Date.now();
    const killed = await cli(['drain-reboot', NODES[0], ...DR_COMMON, '--yes'], { KUBECTL_REDIS_DIE_AFTER_STEP: stepKey(NODES[0], 'cordon') });
    assert.equal(killed.code, 137, killed.stderr.slice(-3000));
    const cordoned = await kjson<{ metadata: Meta; spec?: { unschedulable?: boolean } }>(['get', 'node', NODES[0]]);
    assert.equal(cordoned.spec?.unschedulable, true, 'the killed run left the node cordoned');
    assert.ok(cordoned.metadata.annotations?.[MARK], 'and marked');
    const plan = await cli(['drain-reboot', '--abort', '--dry-run']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, new RegExp(`held by kubectl-redis:\\S+/${killed.pid} op=dr-\\w+: a run would take it over \\(its process ${killed.pid} on this host is gone`), plan.stdout);
    const abort = await cli(['drain-reboot', '--abort', '--yes']);
    assert.equal(abort.code, 0, abort.stderr.slice(-3000));
    assert.match(abort.stderr, new RegExp(`took the drain-reboot lock over from kubectl-redis:\\S+/${killed.pid} op=dr-`));
    const now = await kjson<{ metadata: Meta; spec?: { unschedulable?: boolean } }>(['get', 'node', NODES[0]]);
    assert.equal(now.spec?.unschedulable ?? false, false, 'uncordoned');
    assert.equal(now.metadata.annotations?.[MARK], undefined, 'unmarked');
    const lease = await kjson<{ spec: { holderIdentity?: string | null } }>(['get', 'lease', '-n', 'kube-system', 'kubectl-redis-drain-reboot']);
    assert.equal(lease.spec.holderIdentity ?? null, null, 'no Lease held');
    assert.equal((await journal('kube-system', 'kubectl-redis-drain-reboot')).state, 'aborted');
    t.diagnostic(`kill after cordon + --abort: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  test('drain-reboot killed after each step kind resumes at once, taking the Lease over from the dead run', { timeout: 1_500_000 }, async (t: TestContext) => {
    const started = Date.now();
    // step j of NODE_STEPS is killed on node floor(j * nodes / steps): the first node's first steps, and so on
    const kills = NODE_STEPS.map((step, j) => stepKey(NODES[Math.floor((j * NODES.length) / NODE_STEPS.length)], step));
    assert.equal(new Set(kills.map((k) => k.split(':')[1])).size, NODE_STEPS.length, 'one kill per step kind');
    const bootBefore = new Map<string, string>();
    for (const n of NODES) bootBefore.set(n, (await kjson<{ status: { nodeInfo: { bootID: string } } }>(['get', 'node', n])).status.nodeInfo.bootID);
    const probes: Probe[] = [
      await startProbe({ name: 'orders', mode: 'cluster', hosts: (await podIps('app=orders-leader')).map((host) => ({ host, port: 6379 })), password: passwords.orders, prefix: 'crash:orders' }),
      await startProbe({ name: 'cache', mode: 'cluster', hosts: (await podIps('app.kubernetes.io/instance=cache')).map((host) => ({ host, port: 6379 })), password: passwords.cache, prefix: 'crash:cache' }),
      await startProbe({
        name: 'sessions', mode: 'sentinel', hosts: (await podIps('app.kubernetes.io/component=sentinel,app.kubernetes.io/name=sessions')).map((host) => ({ host, port: 26379 })),
        password: passwords.sessions, prefix: 'crash:sessions',
      }),
    ];
    const args = ['drain-reboot', ...NODES, ...DR_COMMON, '--yes', '-o', 'json'];
    const runs: Array<{ step: string; r: Killable }> = [];
    let killedPid: number | undefined;
    try {
      for (const step of kills) {
        for (const p of probes) p.mark(step);
        const r = await cli(args, { KUBECTL_REDIS_DIE_AFTER_STEP: step });
        runs.push({ step, r });
        assert.equal(r.code, 137, `killed right after ${step}: exit ${r.code}\n${r.stderr.slice(-3000)}`);
        if (killedPid !== undefined) {
          assert.match(r.stderr, new RegExp(`took the drain-reboot lock over from kubectl-redis:\\S+/${killedPid} op=dr-\\w+: its process ${killedPid} on this host is gone`), 'the re-run did not wait for the Lease to expire');
        }
        const j = await journal('kube-system', 'kubectl-redis-drain-reboot');
        assert.equal(j.state, 'running', `journal after the kill at ${step}`);
        assert.equal(j.steps[step]?.status, 'done', `${step} is recorded done`);
        const lease = await kjson<{ spec: { holderIdentity?: string } }>(['get', 'lease', '-n', 'kube-system', 'kubectl-redis-drain-reboot']);
        assert.match(lease.spec.holderIdentity ?? '', new RegExp(`/${r.pid} op=${j.id}$`), 'the killed run left its Lease held');
        killedPid = r.pid;
      }
      for (const p of probes) p.mark('last run');
      const last = await cli(args);
      runs.push({ step: 'last run', r: last });
      assert.equal(last.code, 0, last.stderr.slice(-3000));
      assert.match(last.stderr, new RegExp(`took the drain-reboot lock over from kubectl-redis:\\S+/${killedPid} op=dr-`));
      assert.match(last.stderr, /resuming drain-reboot dr-\w+ from its journal/);
      const results = JSON.parse(last.stdout) as Array<{ node: string; result: string }>;
      assert.deepEqual(results.map((x) => [x.node, x.result]), NODES.map((n) => [n, 'rebooted']));
    } finally {
      const reports = await Promise.all(probes.map((p) => p.stop()));
      for (const r of reports) t.diagnostic(`${r.name}: ${r.acknowledged} acknowledged, ${r.lostAcknowledged} lost, ${r.errors} errors, longest gap ${r.longestGapMs} ms`);
      t.diagnostic(`drain-reboot runs: ${describeRuns(runs)}; total ${((Date.now() - started) / 1000).toFixed(1)} s`);
      for (const r of reports) assertNoLoss(r);
    }

    for (const n of NODES) {
      const now = await kjson<{ metadata: Meta; spec?: { unschedulable?: boolean }; status: { nodeInfo: { bootID: string } } }>(['get', 'node', n]);
      assert.equal(now.spec?.unschedulable ?? false, false, `${n} is not cordoned`);
      assert.equal(now.metadata.annotations?.[MARK], undefined, `${n} carries no drain-reboot mark`);
      assert.notEqual(now.status.nodeInfo.bootID, bootBefore.get(n), `${n} was rebooted`);
    }
    const lease = await kjson<{ metadata: Meta; spec: { holderIdentity?: string | null } }>(['get', 'lease', '-n', 'kube-system', 'kubectl-redis-drain-reboot']);
    assert.equal(lease.spec.holderIdentity ?? null, null, 'no Lease held');
    assert.equal(lease.metadata.annotations?.['redis.kubectl.io/holder'], undefined, 'no holder annotation left');
    assert.equal((await journal('kube-system', 'kubectl-redis-drain-reboot')).state, 'done');
    assert.deepEqual(await pausedObjects('east'), [], 'no operator left paused');
    const pods = await sb.kubectl(['get', 'pods', '-n', 'kube-system', '-o', 'name']);
    assert.doesNotMatch(pods.stdout, /kubectl-redis-reboot/, 'no reboot pod left');
  });

  test('migrate killed after each step kind migrate.test.ts does not cover resumes and completes', { timeout: 1_500_000 }, async (t: TestContext) => {
    const started = Date.now();
    // the OT profile moves the followers, then the leaders, highest ordinal first (src/targets/migration.ts)
    const plan = migrationSteps([{ name: 'orders-follower', start: 0, replicas: 3 }, { name: 'orders-leader', start: 0, replicas: 3 }]);
    const wanted = new Set(plan.map((s) => s.kind).filter((k) => !MIGRATE_KILLED_ELSEWHERE.has(k)));
    // in plan order, each kind once, each on another pod where it can be: the kills spread over the ordinals
    const kills: string[] = [];
    const usedPods = new Set<string>();
    for (const s of plan) {
      if (!wanted.has(s.kind)) continue;
      const pod = 'ordinal' in s ? `${s.sts}-${s.ordinal}` : undefined;
      if (pod && usedPods.has(pod)) continue;
      if (pod) usedPods.add(pod);
      wanted.delete(s.kind);
      kills.push(stepId(s));
    }
    assert.deepEqual([...wanted], [], 'every uncovered kind gets a kill');
    assert.equal(kills.length, 9, kills.join(' '));

    const ids: Record<string, string> = {};
    const eastIps = async () => {
      const list = await kjson<{ items: Array<{ metadata: Meta; status?: { podIP?: string } }> }>(['get', 'pods', '-n', NS, '-l', ORDERS]);
      return list.items.filter((p) => !p.metadata.deletionTimestamp && p.status?.podIP).map((p) => ({ name: p.metadata.name, ip: p.status?.podIP ?? '' }));
    };
    for (const p of await eastIps()) ids[p.name] = (await redisCli('orders', p.ip, ['CLUSTER', 'MYID'])).stdout.trim();
    assert.equal(Object.keys(ids).length, 6, JSON.stringify(ids));
    const probe = await startProbe({ name: 'orders', mode: 'cluster', hosts: (await eastIps()).map((p) => ({ host: p.ip, port: 6379 })), password: passwords.orders, prefix: 'crash:migrate:orders' });
    const args = ['migrate', 'rediscluster/orders', '-n', NS, '--from-context', 'east', '--to-context', 'west', '--yes'];
    const journalName = 'kubectl-redis-migrate-rediscluster-orders';
    const runs: Array<{ step: string; r: Killable }> = [];
    try {
      for (const step of kills) {
        probe.mark(step);
        const r = await cli(args, { KUBECTL_REDIS_DIE_AFTER_STEP: step });
        runs.push({ step, r });
        assert.equal(r.code, 137, `killed right after ${step}: exit ${r.code}\n${r.stderr.slice(-3000)}`);
        if (runs.length > 1) assert.match(r.stderr, /resuming migrate mig-[0-9a-f]+: \d+ of \d+ steps were done/);
        const j = await journal(NS, journalName);
        assert.equal(j.state, 'running');
        assert.equal(j.steps[step]?.status, 'done', `${step} is recorded done`);
      }
      probe.mark('last run');
      const last = await cli(args);
      runs.push({ step: 'last run', r: last });
      assert.equal(last.code, 0, last.stderr.slice(-3000));
      assert.match(last.stderr, /resuming migrate mig-[0-9a-f]+: \d+ of \d+ steps were done/);
      assert.match(last.stdout, /stays paused with 0 pods/);
    } finally {
      const report = await probe.stop();
      t.diagnostic(`${report.name}: ${report.acknowledged} acknowledged, ${report.lostAcknowledged} lost, ${report.errors} errors, longest gap ${report.longestGapMs} ms`);
      t.diagnostic(`migrate runs: ${describeRuns(runs)}; total ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assertNoLoss(report);
    }

    assert.equal((await journal(NS, journalName)).state, 'done');
    const west = await kjson<{ items: Array<{ metadata: Meta; status?: { podIP?: string } }> }>(['get', 'pods', '-n', NS, '-l', ORDERS], 'west');
    const westPods = west.items.filter((p) => !p.metadata.deletionTimestamp);
    assert.equal(westPods.length, 6, 'every pod runs in west');
    assert.deepEqual((await eastIps()).map((p) => p.name), [], 'no pod of orders left in east');
    for (const p of westPods) assert.equal((await redisCli('orders', p.status?.podIP ?? '', ['CLUSTER', 'MYID'])).stdout.trim(), ids[p.metadata.name], `${p.metadata.name} kept its node id`);
    const check = await redisCli('orders', westPods[0].status?.podIP ?? '', ['--cluster', 'check', `${westPods[0].status?.podIP ?? ''}:6379`]);
    const out = check.stdout.replace(/\x1b\[[0-9;]*m/g, '');
    assert.equal(check.code, 0, out + check.stderr);
    assert.match(out, /\[OK\] All nodes agree about slots configuration/);
    assert.match(out, /\[OK\] All 16384 slots covered/);
    // west's operator runs again; east's copy stays paused on purpose (resuming it would start a second copy)
    assert.deepEqual(await pausedObjects('west'), [], 'no operator left paused in west');
    assert.deepEqual(await pausedObjects('east', (kind, name) => kind === 'rediscluster' && name === 'orders'), [], 'in east only the moved rediscluster stays paused');
    const eastOrders = await kjson<{ metadata: Meta }>(['get', 'rediscluster', '-n', NS, 'orders']);
    assert.ok(eastOrders.metadata.annotations?.['rediscluster.opstreelabs.in/skip-reconcile'], 'the original in east stays paused');
  });
});
