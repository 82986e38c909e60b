// rebalance on the Bitnami redis-cluster `cache` (issue 23's must-shows), one sandbox for the file:
// - grow: `kubectl scale sts/cache --replicas 8` leaves the two new pods outside the cluster (as the chart does,
//   bitnami/charts #7579); rebalance joins them (a master and its replica) and spreads the slots over 4 masters
//   within the threshold, with a client writing throughout: 0 acknowledged writes lost, the longest gap printed,
//   every key still there, redis-cli --cluster check OK from every node.
// - bad input: a weight on a pod not in the target, a threshold that is no percentage, maxmemory too small for the
//   plan, --drain of every master: one sentence, exit 2 or 4, nothing changed.
// - kill -9 in the middle of a slot move (slots left open, migrating on the source and importing on the receiver),
//   then the same command: closed, completed.
// - --drain of a master with --after-drain forget, then scale the StatefulSet down: no slot lost, check OK.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from 'ioredis';
import { probeLine, startProbe } from '../../bench/probe.js';
import { startSandbox, type RunResult, type TestSandbox } from '../support/sandbox.js';
import { assertClusterCheck, clusterCheckResult, eventually, pods, rc, secret } from '../support/redis.js';

const NS = 'redis';
const SELECTOR = 'app.kubernetes.io/name=redis-cluster,app.kubernetes.io/instance=cache';
const KEYS = 3000;
const JOURNAL = 'kubectl-redis-rebalance-sts-cache';

let sb: TestSandbox;
let password: string;

function assertExit(r: RunResult, code: number): void {
  assert.equal(r.code, code, `exit ${r.code}, expected ${code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

async function ips(): Promise<Array<{ name: string; ip: string }>> {
  return (await pods(sb, NS, SELECTOR)).map((p) => ({ name: p.name, ip: p.ip }));
}

async function ipOf(pod: string): Promise<string> {
  const p = (await ips()).find((x) => x.name === pod);
  assert.ok(p?.ip, `pod ${pod} has no IP`);
  return p.ip;
}

/** Slots per master id, as one node's CLUSTER NODES says (masters with slots only). */
async function slotsPerMaster(ip: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await rc(ip, 6379, password, ['CLUSTER', 'NODES'])).split('\n')) {
    const f = line.trim().split(' ');
    if (!f[2]?.includes('master')) continue;
    let n = 0;
    for (const r of f.slice(8)) {
      if (r.startsWith('[')) continue;
      const [a, b] = r.split('-').map(Number);
      n += (b ?? a) - a + 1;
    }
    if (n > 0) out.set(f[0], n);
  }
  return out;
}

/** Keys in the cluster: the sum of DBSIZE over the masters. */
async function keyCount(): Promise<number> {
  let n = 0;
  for (const p of await ips()) {
    const role = await rc(p.ip, 6379, password, ['ROLE']);
    if (role.startsWith('master')) n += Number(await rc(p.ip, 6379, password, ['DBSIZE']));
  }
  return n;
}

/** CLUSTER NODES of every pod, without the volatile columns: equal before and after means nothing changed. */
async function layout(): Promise<string> {
  const views: string[] = [];
  for (const p of await ips()) {
    const lines = (await rc(p.ip, 6379, password, ['CLUSTER', 'NODES'])).split('\n').map((l) => {
      const f = l.trim().split(' ');
      return [f[0], f[2].replace('myself,', ''), f[3], ...f.slice(8)].join(' ');
    });
    views.push(`${p.name}: ${lines.sort().join(' | ')}`);
  }
  return views.join('\n');
}

async function checkFromEveryNode(): Promise<void> {
  for (const p of await ips()) await assertClusterCheck(password, p.ip);
}

async function journalExists(): Promise<boolean> {
  return (await sb.kubectl(['get', 'configmap', '-n', NS, JOURNAL])).code === 0;
}

describe('rebalance on the Bitnami cluster', { timeout: 600_000 }, () => {
  before(async () => {
    sb = await startSandbox({ preset: 'bitnami-cluster', nodes: 3 });
    password = await secret(sb, NS, 'cache', 'redis-password');
    // keys of 1 KiB across every slot, written as an application would (cluster client on the pods' IPs)
    const c = new Cluster((await ips()).map((p) => ({ host: p.ip, port: 6379 })), { redisOptions: { password } });
    const value = 'x'.repeat(1024);
    for (let i = 0; i < KEYS; i += 100) await Promise.all(Array.from({ length: 100 }, (_, k) => c.set(`reb:${i + k}`, value)));
    await c.quit();
  });

  after(async () => {
    await sb?.down();
  });

  let before6: number;

  test('scale to 8, rebalance: the new pods join, 4 masters within 2%, every key kept, 0 acknowledged writes lost', async () => {
    before6 = await keyCount();
    assert.ok(before6 >= KEYS, `only ${before6} keys written`);
    assertExit(await sb.kubectl(['scale', 'sts/cache', '-n', NS, '--replicas', '8']), 0);
    await eventually('8 pods ready', async () => (await pods(sb, NS, SELECTOR)).filter((p) => p.ready && p.ip).length === 8, 90_000);
    // the fault: the new pods run but are not in the cluster (each knows only itself) and own no slot
    for (const pod of ['cache-6', 'cache-7']) {
      assert.equal((await rc(await ipOf(pod), 6379, password, ['CLUSTER', 'NODES'])).split('\n').length, 1, `${pod} should not be in the cluster yet`);
    }
    const dry = await sb.cli(['rebalance', 'sts/cache', '-n', NS, '--dry-run']);
    assertExit(dry, 0);
    assert.match(dry.stdout, /CLUSTER MEET cache-6, cache-7/);
    assert.match(dry.stdout, /4096 slots/);
    assert.equal((await rc(await ipOf('cache-6'), 6379, password, ['CLUSTER', 'NODES'])).split('\n').length, 1, 'the dry run changed the cluster');

    const probe = await startProbe({ name: 'cache', mode: 'cluster', hosts: (await ips()).slice(0, 6).map((p) => ({ host: p.ip, port: 6379 })), password, prefix: 'reb:probe' });
    const r = await sb.cli(['rebalance', 'sts/cache', '-n', NS, '--yes'], { timeoutMs: 240_000 });
    const report = await probe.stop();
    console.log(`rebalance 6 -> 8 pods: ${probeLine(report)}`);
    console.log(`longest write gap during the rebalance: ${Math.round(report.longestGapMs)} ms`);
    assertExit(r, 0);
    assert.match(r.stderr, /slots \d+\/4096, \d+ keys moved/, 'progress: slots moved / total, keys moved');
    assert.match(r.stdout, /rebalanced sts\/cache: 4096 slots and \d+ keys moved/);
    assert.equal(report.lostAcknowledged, 0, `lost: ${report.lostKeys.slice(0, 5).join(', ')}`);
    assert.ok(report.acknowledged > 0);
    const counts = [...(await slotsPerMaster(await ipOf('cache-0'))).values()];
    assert.equal(counts.length, 4, `masters with slots: ${counts.join(', ')}`);
    for (const n of counts) assert.ok(Math.abs(100 - (100 * 4096) / n) <= 2, `a master has ${n} slots, more than 2% off 4096`);
    assert.match(await rc(await ipOf('cache-7'), 6379, password, ['ROLE']), /^slave/, 'cache-7 joined as a replica');
    await checkFromEveryNode();
    assert.equal(await keyCount(), before6 + (await probeKeys()), 'every key written before is still there, and every probe key');
  });

  test('bad input: one sentence, exit 2 or 4, nothing changed', async () => {
    const layoutBefore = await layout();
    const cases: Array<{ args: string[]; code: number; re: RegExp; noYes?: boolean }> = [
      { args: ['--weight', 'nosuch-3=2'], code: 2, re: /--weight names pod "nosuch-3", which is not a master of sts\/cache/ },
      { args: ['--threshold', 'ten'], code: 2, re: /--threshold "ten" is not a percentage/ },
      { args: ['--threshold', '250%'], code: 2, re: /is not a percentage/ },
      { args: ['--weight', 'cache-0=heavy'], code: 2, re: /POD=N with N a number/ },
      { args: ['--drain', 'cache-0', '--drain', 'cache-1', '--drain', 'cache-2', '--drain', 'cache-6'], code: 4, re: /would leave no master to hold the slots/ },
      { args: ['--weight', 'cache-0=2'], code: 4, re: /refusing to change the cluster without confirmation/, noYes: true },
      { args: ['--resume'], code: 4, re: /no rebalance of sts\/cache in progress to resume/ },
    ];
    for (const c of cases) {
      const r = await sb.cli(['rebalance', 'sts/cache', '-n', NS, ...c.args, ...(c.noYes ? [] : ['--yes'])]);
      assertExit(r, c.code);
      assert.match(r.stderr, c.re);
      assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:')).length, 1, r.stderr);
    }
    // maxmemory too small: cache-6 may hold only a little more than it does now; a plan giving it 3x the slots
    // would pass 90% of it, so rebalance refuses before any move and names it with the numbers
    const ip6 = await ipOf('cache-6');
    const used = Number(/used_memory:(\d+)/.exec(await rc(ip6, 6379, password, ['INFO', 'memory']))![1]);
    await rc(ip6, 6379, password, ['CONFIG', 'SET', 'maxmemory', String(Math.round(used * 1.15))]);
    try {
      const r = await sb.cli(['rebalance', 'sts/cache', '-n', NS, '--weight', 'cache-6=3', '--yes']);
      assertExit(r, 4);
      assert.match(r.stderr, /error: master cache-6 would hold [\d.]+ MiB after the moves \([\d.]+ MiB used now \+ [\d.]+ MiB of slots\), over 90% of its maxmemory [\d.]+ MiB/);
    } finally {
      await rc(ip6, 6379, password, ['CONFIG', 'SET', 'maxmemory', '0']);
    }
    assert.equal(await layout(), layoutBefore, 'a refused rebalance changed the cluster');
    assert.equal(await journalExists(), true, 'the journal of the finished rebalance is kept');
    const j = await sb.kubectl(['get', 'configmap', '-n', NS, JOURNAL, '-o', 'jsonpath={.metadata.annotations.redis\\.kubectl\\.io/state}']);
    assert.equal(j.stdout, 'done', 'no refused run opened a journal');
  });

  test('kill -9 in the middle of a slot move, then the same command: the open slot is closed, rebalance completes', async () => {
    const keys = await keyCount();
    const args = ['rebalance', 'sts/cache', '-n', NS, '--weight', 'cache-0=2', '--yes'];
    const killed = await sb.spawnCli(args, { env: { KUBECTL_REDIS_DIE_MID_MOVE: '1' }, timeoutMs: 120_000 }).result;
    assert.equal(killed.code, 137, `expected the run to die by SIGKILL in a move: ${killed.stderr}`);
    // the fault: a slot left open (migrating on the source, importing on cache-0), as redis-cli sees it
    const check = await clusterCheckResult(password, await ipOf('cache-0'));
    assert.match(check.text, /open slot|migrating|importing/i, `no open slot after the kill:\n${check.text}`);
    const r = await sb.cli(args, { timeoutMs: 240_000 });
    assertExit(r, 0);
    assert.match(r.stdout, /closed slots? [\d,-]+ left open by the interrupted run/);
    assert.match(r.stdout, /\(resumed\)/);
    const counts = await slotsPerMaster(await ipOf('cache-1'));
    const id0 = (await rc(await ipOf('cache-0'), 6379, password, ['CLUSTER', 'MYID']));
    assert.ok(Math.abs(100 - (100 * 6553) / counts.get(id0)!) <= 2, `cache-0 has ${counts.get(id0)} slots, expected about 6553`);
    await checkFromEveryNode();
    assert.equal(await keyCount(), keys);
  });

  test('--drain cache-6 killed mid move, --abort closes the open slots and stops; --drain again with --after-drain forget, then scale down to 6: no slot lost, check OK', async () => {
    const keys = await keyCount();
    const drain = ['rebalance', 'sts/cache', '-n', NS, '--drain', 'cache-6', '--after-drain', 'forget', '--yes'];
    const killed = await sb.spawnCli(drain, { env: { KUBECTL_REDIS_DIE_MID_MOVE: '1' }, timeoutMs: 120_000 }).result;
    assert.equal(killed.code, 137, `expected the drain to die by SIGKILL in a move: ${killed.stderr}`);
    assert.match((await clusterCheckResult(password, await ipOf('cache-1'))).text, /open slot|migrating|importing/i, 'no open slot after the kill');
    const aborted = await sb.cli(['rebalance', 'sts/cache', '-n', NS, '--abort', '--yes'], { timeoutMs: 120_000 });
    assertExit(aborted, 0);
    assert.match(aborted.stdout, /aborted: slots [\d,-]+ closed/);
    await checkFromEveryNode();
    const state = await sb.kubectl(['get', 'configmap', '-n', NS, JOURNAL, '-o', 'jsonpath={.metadata.annotations.redis\\.kubectl\\.io/state}']);
    assert.equal(state.stdout, 'aborted');
    assert.equal(await keyCount(), keys, 'keys after --abort');
    const r = await sb.cli(drain, { timeoutMs: 240_000 });
    assertExit(r, 0);
    assert.equal((await slotsPerMaster(await ipOf('cache-0'))).size, 3);
    assertExit(await sb.kubectl(['scale', 'sts/cache', '-n', NS, '--replicas', '6']), 0);
    await eventually('6 pods', async () => (await pods(sb, NS, SELECTOR)).length === 6, 90_000);
    await checkFromEveryNode();
    const total = [...(await slotsPerMaster(await ipOf('cache-1'))).values()].reduce((a, b) => a + b, 0);
    assert.equal(total, 16384);
    for (const p of await ips()) assert.equal((await rc(p.ip, 6379, password, ['CLUSTER', 'NODES'])).split('\n').length, 6, `${p.name} still knows a removed node`);
    assert.equal(await keyCount(), keys);
  });
});

/** Keys the probe wrote (it writes reb:probe:* keys and reads them back; they stay). */
async function probeKeys(): Promise<number> {
  let n = 0;
  for (const p of await ips()) {
    if (!(await rc(p.ip, 6379, password, ['ROLE'])).startsWith('master')) continue;
    const r = await rc(p.ip, 6379, password, ['--scan', '--pattern', 'reb:probe:*']);
    n += r ? r.split('\n').length : 0;
  }
  return n;
}
