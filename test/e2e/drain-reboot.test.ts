// drain-reboot on the demo sandbox (OT RedisCluster orders, spotahome RedisFailover sessions, Bitnami cluster cache on
// east-node-1..3), issue 9's must-shows: clients writing throughout lose no acknowledged write while every node is
// drained and rebooted in turn (new boot IDs, masters moved before the evictions, all uncordoned, Redis healthy);
// a node uncordoned during --delay is not rebooted (exit 4, said why); a second run at the same time is refused by
// the Lease; --dry-run changes nothing; no --yes in a non-interactive shell refuses (exit 4).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { probeLine, startProbe, type Probe } from '../../bench/probe.js';
import { ROOT, startSandbox, type RunResult, type TestSandbox } from '../support/sandbox.js';
import { secret as secretOf } from '../support/redis.js';

const NODES = ['east-node-1', 'east-node-2', 'east-node-3'];
const MARK = 'redis.kubectl.io/drain-reboot';
const COMMON = ['--delete-emptydir-data', '--ignore-daemonsets', '--timeout', '4m'];

let sb: TestSandbox;

interface NodeJson {
  metadata: { annotations?: Record<string, string>; resourceVersion: string };
  spec?: { unschedulable?: boolean };
  status: { nodeInfo: { bootID: string } };
}

async function kjson<T>(args: string[]): Promise<T> {
  const r = await sb.kubectl([...args, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

const node = (name: string) => kjson<NodeJson>(['get', 'node', name]);

const secret = (name: string, key: string): Promise<string> => secretOf(sb, 'redis', name, key);

async function podIps(selector: string): Promise<string[]> {
  const list = await kjson<{ items: Array<{ status: { podIP?: string } }> }>(['get', 'pods', '-n', 'redis', '-l', selector]);
  return list.items.map((p) => p.status.podIP ?? '').filter(Boolean);
}

/** Probes writing through the pods' own IPs, as an application in the cluster would (bench/probe.ts). */
async function startProbes(): Promise<Probe[]> {
  const seeds = async (selector: string, port: number) => (await podIps(selector)).map((host) => ({ host, port }));
  return [
    await startProbe({ name: 'orders', mode: 'cluster', hosts: await seeds('app=orders-leader', 6379), password: await secret('orders-redis', 'password'), prefix: 'dr:orders' }),
    await startProbe({ name: 'cache', mode: 'cluster', hosts: await seeds('app.kubernetes.io/instance=cache', 6379), password: await secret('cache', 'redis-password'), prefix: 'dr:cache' }),
    await startProbe({
      name: 'sessions', mode: 'sentinel', hosts: await seeds('app.kubernetes.io/component=sentinel,app.kubernetes.io/name=sessions', 26379),
      password: await secret('sessions-auth', 'password'), prefix: 'dr:sessions',
    }),
  ];
}

/** Waits until the node carries our mark at `step` (drain-reboot writes the step it is at into it). */
async function untilMarkStep(name: string, step: string, exited?: Promise<unknown>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone: unknown;
  void exited?.then((r) => (gone = r ?? 'exited'));
  for (;;) {
    assert.equal(gone, undefined, `drain-reboot ended before reaching step ${step} on ${name}: ${JSON.stringify(gone)}`);
    const mark = (await node(name)).metadata.annotations?.[MARK];
    if (mark && (JSON.parse(mark) as { step: string }).step === step) return;
    assert.ok(Date.now() < deadline, `drain-reboot never reached step ${step} on ${name}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function assertExit(r: RunResult, code: number): void {
  assert.equal(r.code, code, `exit ${r.code}, expected ${code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

describe('drain-reboot on the demo sandbox', { timeout: 900_000 }, () => {
  before(async () => {
    sb = await startSandbox({ preset: 'demo', nodes: 3 });
  });

  after(async () => {
    await sb?.down();
  });

  test('without --yes in a non-interactive shell it refuses (exit 4) and changes nothing', async () => {
    const r = await sb.cli(['drain-reboot', 'east-node-1', ...COMMON], { env: { CI: 'true' } });
    assertExit(r, 4);
    assert.match(r.stderr, /^error: Drain and reboot node east-node-1 .*: refusing to change the cluster without confirmation in a non-interactive shell; re-run with --yes$/m);
    assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:')).length, 1, r.stderr);
    const now = await node('east-node-1');
    assert.equal(now.spec?.unschedulable ?? false, false);
    assert.equal(now.metadata.annotations?.[MARK], undefined);
    assert.notEqual((await sb.kubectl(['get', 'lease', '-n', 'kube-system', 'kubectl-redis-drain-reboot'])).code, 0, 'no lease taken');
  });

  test('--dry-run prints the plan and changes nothing', async () => {
    const before = await Promise.all(NODES.map(node));
    const pods = await sb.kubectl(['get', 'pods', '-A', '-o', 'name']);
    const r = await sb.cli(['drain-reboot', ...NODES, ...COMMON, '--dry-run']);
    assertExit(r, 0);
    for (const n of NODES) {
      assert.match(r.stdout, new RegExp(`${n}\\s+cordon`));
      assert.match(r.stdout, new RegExp(`${n}\\s+reboot`));
    }
    assert.match(r.stdout, /CLUSTER FAILOVER|SENTINEL FAILOVER|evict replica/);
    // (a node's resourceVersion moves with every kubelet heartbeat: compare what drain-reboot would touch)
    const touched = (n: NodeJson) => ({ unschedulable: n.spec?.unschedulable ?? false, annotations: n.metadata.annotations ?? {}, bootID: n.status.nodeInfo.bootID });
    const after = await Promise.all(NODES.map(node));
    after.forEach((n, i) => assert.deepEqual(touched(n), touched(before[i]), `${NODES[i]} changed`));
    assert.equal((await sb.kubectl(['get', 'pods', '-A', '-o', 'name'])).stdout, pods.stdout);
    assert.notEqual((await sb.kubectl(['get', 'lease', '-n', 'kube-system', 'kubectl-redis-drain-reboot'])).code, 0, 'no lease taken');
    assert.notEqual((await sb.kubectl(['get', 'configmap', '-n', 'kube-system', 'kubectl-redis-drain-reboot'])).code, 0, 'no journal written');
  });

  test('every node drained and rebooted in turn while clients write: no acknowledged write lost', async (t) => {
    const bootBefore = new Map((await Promise.all(NODES.map(node))).map((n, i) => [NODES[i], n.status.nodeInfo.bootID]));
    const probes = await startProbes();
    await new Promise((r) => setTimeout(r, 1000));
    const started = Date.now();
    const r = await sb.cli(['drain-reboot', ...NODES, ...COMMON, '--delay', '2s', '--yes', '-o', 'json'], { timeoutMs: 800_000 });
    const tookMs = Date.now() - started;
    await new Promise((r2) => setTimeout(r2, 1000));
    const reports = await Promise.all(probes.map((p) => p.stop()));
    assertExit(r, 0);

    const results = JSON.parse(r.stdout) as Array<{ node: string; result: string; bootIdAfter: string; mastersMoved: string[]; durationMs: number }>;
    assert.deepEqual(results.map((x) => [x.node, x.result]), NODES.map((n) => [n, 'rebooted']));
    for (const n of NODES) {
      const now = await node(n);
      assert.notEqual(now.status.nodeInfo.bootID, bootBefore.get(n), `${n} got a new boot ID`);
      assert.equal(now.spec?.unschedulable ?? false, false, `${n} uncordoned`);
      assert.equal(now.metadata.annotations?.[MARK], undefined, `${n} has no mark left`);
    }
    // masters moved before the evictions: every node's failovers are reported before its drain step starts
    for (const n of NODES) {
      const lines = r.stderr.split('\n');
      const drainAt = lines.findIndex((l) => l.includes(`: ${n}: evict the pods of ${n}`));
      const moveAt = lines.findIndex((l) => l.includes(`: ${n}: move every Redis master off ${n}`));
      assert.ok(moveAt >= 0 && drainAt > moveAt, `${n}: move step before drain step`);
      const between = lines.slice(moveAt, drainAt).join('\n');
      assert.doesNotMatch(between, /cannot be moved/, `${n}: every master could be moved`);
    }
    assert.ok(results.some((x) => x.mastersMoved.length > 0), 'some masters were moved');

    for (const p of reports) {
      t.diagnostic(probeLine(p));
      assert.deepEqual(p.lostKeys.slice(0, 5), [], `${p.name}: acknowledged writes lost`);
      assert.equal(p.lostAcknowledged, 0, `${p.name}: acknowledged writes lost`);
      assert.equal(p.unverified, 0, `${p.name}: every acknowledged write could be read back`);
      assert.ok(p.acknowledged > 100, `${p.name} kept writing`);
      assert.ok(p.longestGapMs < 5000, `${p.name}: longest write gap ${p.longestGapMs} ms`);
    }
    t.diagnostic(`drain-reboot of 3 nodes took ${tookMs} ms (${results.map((x) => `${x.node} ${x.durationMs} ms`).join(', ')})`);
    t.diagnostic(`moved: ${results.flatMap((x) => x.mastersMoved).join('; ')}`);
  });

  test('interrupted (Ctrl-C) during the delay: the node stays cordoned by us, --resume continues and finishes', async () => {
    const target = 'east-node-1';
    const bootBefore = (await node(target)).status.nodeInfo.bootID;
    const args = ['drain-reboot', target, ...COMMON, '--delay', '30s', '--yes'];
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], { env: { ...process.env, ...sb.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number>((r) => child.on('close', (code) => r(code ?? 1)));
    await untilMarkStep(target, 'delay', exited);
    child.kill('SIGINT');
    assert.equal(await exited, 1, stderr);
    assert.match(stderr, /error: drain-reboot dr-\w+ was interrupted; east-node-1 is left cordoned by it/);
    assert.match(stderr, /run the same command again to resume, or with --abort/);
    const stopped = await node(target);
    assert.equal(stopped.spec?.unschedulable, true, 'still cordoned');
    assert.equal(stopped.status.nodeInfo.bootID, bootBefore, 'not rebooted');

    // --resume continues it from the journal without naming the node again (a shorter --delay this time)
    const r = await sb.cli(['drain-reboot', '--resume', ...COMMON, '--delay', '1s', '--yes'], { timeoutMs: 400_000 });
    assertExit(r, 0);
    assert.match(r.stderr, /resuming drain-reboot dr-\w+ from its journal/);
    assert.doesNotMatch(r.stderr, /step \d+\/\d+: east-node-1: evict the pods/, 'the drain is not done again');
    const now = await node(target);
    assert.notEqual(now.status.nodeInfo.bootID, bootBefore, 'rebooted by the resumed run');
    assert.equal(now.spec?.unschedulable ?? false, false);
    assert.equal(now.metadata.annotations?.[MARK], undefined);
  });

  test('a node uncordoned during --delay is not rebooted (exit 4); a second run meanwhile is refused by the Lease', async () => {
    const target = 'east-node-2';
    const bootBefore = (await node(target)).status.nodeInfo.bootID;
    const running = sb.cli(['drain-reboot', target, ...COMMON, '--delay', '20s', '--yes'], { timeoutMs: 400_000 });
    await untilMarkStep(target, 'delay', running);
    const second = await sb.cli(['drain-reboot', 'east-node-3', ...COMMON, '--delay', '1s', '--yes']);
    assertExit(second, 4);
    // a live holder on this host is refused, saying who holds it, until when, and why it is not taken over
    assert.match(second.stderr, /drain-reboot is locked by kubectl-redis:\S+\/(\d+) op=dr-\w+ \(lease "kubectl-redis-drain-reboot" in namespace "kube-system" until \S+Z unless renewed\); its process \1 on this host is still running/);
    assert.equal((await node('east-node-3')).spec?.unschedulable ?? false, false, 'the refused run cordoned nothing');

    const un = await sb.kubectl(['uncordon', target]);
    assert.equal(un.code, 0, un.stderr);
    const r = await running;
    assertExit(r, 4);
    assert.match(r.stderr, /error: node "east-node-2" was uncordoned while we waited; it may have new pods, so it was not rebooted/);
    const now = await node(target);
    assert.equal(now.status.nodeInfo.bootID, bootBefore, 'not rebooted');
    assert.equal(now.spec?.unschedulable ?? false, false);
    assert.equal(now.metadata.annotations?.[MARK], undefined, 'our mark is gone: the node is not ours any more');
    const pods = await sb.kubectl(['get', 'pods', '-n', 'kube-system', '-o', 'name']);
    assert.doesNotMatch(pods.stdout, /kubectl-redis-reboot/, 'no reboot pod');

    // the stopped run is journaled: --abort ends it (nothing of ours is left on the node) and frees the next run
    const abort = await sb.cli(['drain-reboot', '--abort', '--yes']);
    assertExit(abort, 0);
    assert.match(abort.stdout, /east-node-2\s+aborted/);
  });
});
