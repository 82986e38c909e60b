// drain-reboot on the demo sandbox (OT RedisCluster orders, spotahome RedisFailover sessions, Bitnami cluster cache on
// east-node-1..3), issue 9's must-shows: clients writing throughout lose no acknowledged write while every node is
// drained and rebooted in turn (new boot IDs, masters moved before the evictions, all uncordoned, Redis healthy);
// a node uncordoned during --delay is not rebooted (exit 4, said why); a second run at the same time is refused by
// the Lease; --dry-run changes nothing; no --yes in a non-interactive shell refuses (exit 4).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { ROOT, startSandbox, type RunResult, type TestSandbox } from '../support/sandbox.js';

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

async function secret(name: string, key: string): Promise<string> {
  const s = await kjson<{ data: Record<string, string> }>(['get', 'secret', '-n', 'redis', name]);
  return Buffer.from(s.data[key], 'base64').toString('utf8');
}

async function podIps(selector: string): Promise<string[]> {
  const list = await kjson<{ items: Array<{ status: { podIP?: string } }> }>(['get', 'pods', '-n', 'redis', '-l', selector]);
  return list.items.map((p) => p.status.podIP ?? '').filter(Boolean);
}

/** Writes unique keys one after another, remembering every acknowledged one and the longest time without an ack. */
class WriteLoop {
  readonly acked = new Map<string, string>();
  errors = 0;
  maxGapMs = 0;
  lastError = '';
  private lastAck = Date.now();
  private running = true;
  private loop?: Promise<void>;

  constructor(
    readonly name: string,
    readonly client: Cluster | Redis,
  ) {}

  start(): void {
    this.lastAck = Date.now();
    this.loop = (async () => {
      for (let i = 0; this.running; i++) {
        const key = `dr:${this.name}:${i}`;
        const value = `v${i}-${Date.now()}`;
        try {
          await this.client.set(key, value);
          const now = Date.now();
          this.maxGapMs = Math.max(this.maxGapMs, now - this.lastAck);
          this.lastAck = now;
          this.acked.set(key, value);
        } catch (e) {
          this.errors++;
          this.lastError = (e as Error).message;
          await new Promise((r) => setTimeout(r, 20));
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Acknowledged keys whose value is not there any more. */
  async lost(): Promise<string[]> {
    const missing: string[] = [];
    const keys = [...this.acked.keys()];
    for (let i = 0; i < keys.length; i += 200) {
      const chunk = keys.slice(i, i + 200);
      const values = await Promise.all(chunk.map((k) => this.client.get(k)));
      chunk.forEach((k, j) => {
        if (values[j] !== this.acked.get(k)) missing.push(k);
      });
    }
    return missing;
  }
}

async function clusterClient(selector: string, password: string): Promise<Cluster> {
  const ips = await podIps(selector);
  const c = new Cluster(ips.map((host) => ({ host, port: 6379 })), {
    redisOptions: { password, connectTimeout: 1000, commandTimeout: 2000, maxRetriesPerRequest: 2 },
    clusterRetryStrategy: () => 100,
    retryDelayOnFailover: 50,
    retryDelayOnClusterDown: 50,
    retryDelayOnTryAgain: 50,
    slotsRefreshTimeout: 1000,
    slotsRefreshInterval: 2000,
    maxRedirections: 32,
  });
  c.on('error', () => undefined);
  await c.ping();
  return c;
}

async function sentinelClient(password: string): Promise<Redis> {
  const ips = await podIps('app.kubernetes.io/component=sentinel,app.kubernetes.io/name=sessions');
  const r = new Redis({
    sentinels: ips.map((host) => ({ host, port: 26379 })),
    name: 'mymaster',
    password,
    connectTimeout: 1000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 2,
    sentinelRetryStrategy: () => 100,
    retryStrategy: () => 100,
    reconnectOnError: (err) => (/READONLY/.test(err.message) ? 2 : false),
  });
  r.on('error', () => undefined);
  await r.ping();
  return r;
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
    const loops = [
      new WriteLoop('orders', await clusterClient('app=orders-leader', await secret('orders-redis', 'password'))),
      new WriteLoop('cache', await clusterClient('app.kubernetes.io/instance=cache', await secret('cache', 'redis-password'))),
      new WriteLoop('sessions', await sentinelClient(await secret('sessions-auth', 'password'))),
    ];
    const bootBefore = new Map((await Promise.all(NODES.map(node))).map((n, i) => [NODES[i], n.status.nodeInfo.bootID]));
    for (const l of loops) l.start();
    await new Promise((r) => setTimeout(r, 1000));
    const started = Date.now();
    const r = await sb.cli(['drain-reboot', ...NODES, ...COMMON, '--delay', '2s', '--yes', '-o', 'json'], { timeoutMs: 800_000 });
    const tookMs = Date.now() - started;
    await new Promise((r2) => setTimeout(r2, 1000));
    for (const l of loops) await l.stop();
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

    for (const l of loops) {
      const lost = await l.lost();
      t.diagnostic(`${l.name}: ${l.acked.size} acknowledged writes, ${lost.length} lost, ${l.errors} errors, longest gap without an ack ${l.maxGapMs} ms${l.lastError ? ` (last error: ${l.lastError})` : ''}`);
      assert.deepEqual(lost.slice(0, 5), [], `${l.name}: acknowledged writes lost`);
      assert.ok(l.acked.size > 100, `${l.name} kept writing`);
      assert.ok(l.maxGapMs < 5000, `${l.name}: longest write gap ${l.maxGapMs} ms`);
    }
    t.diagnostic(`drain-reboot of 3 nodes took ${tookMs} ms (${results.map((x) => `${x.node} ${x.durationMs} ms`).join(', ')})`);
    t.diagnostic(`moved: ${results.flatMap((x) => x.mastersMoved).join('; ')}`);
    for (const l of loops) await l.client.quit().catch(() => undefined);
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
    assert.doesNotMatch(r.stderr, /step \d+\/8: east-node-1: evict the pods/, 'the drain is not done again');
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
    assert.match(second.stderr, /drain-reboot is locked by kubectl-redis:.*op=dr-/);
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
