// Every kind of `npm run sandbox -- fault`, each shown through the real kubectl or redis-cli, on one sandbox with
// the bitnami-cluster preset: API latency, injected 409 / 429 (API and eviction) / 500, dropped watches, an
// unreachable API server and `clear`; a Redis process killed (the kubelet restarts it), frozen and thawed (SIGSTOP:
// it stops answering, as in a partition); a node hung and resumed, and a node rebooted (its pods come back with
// new IPs, which the Bitnami entrypoint remaps).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startSandbox, type TestSandbox } from '../support/sandbox.js';
import { clusterCheck, eventually, k, kjson, o, pods, rc, redisCli, secret, sleep, type ClusterTarget } from '../support/redis.js';

const NS = 'redis';
const cache: ClusterTarget = { ns: NS, selector: 'app.kubernetes.io/instance=cache', secret: { name: 'cache', key: 'redis-password' } };

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = Date.now();
  const value = await fn();
  return { ms: Date.now() - t, value };
}

describe('sandbox fault: every kind, seen through kubectl and redis-cli', { timeout: 600_000 }, () => {
  let sb: TestSandbox;
  let password: string;

  const fault = async (args: string[]): Promise<void> => {
    const r = await sb.sandbox(['fault', ...args]);
    assert.equal(r.code, 0, `fault ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /injected/);
  };
  const nodeReady = async (node: string): Promise<string> => {
    const n = await kjson(sb, ['get', 'node', node]);
    return String(((o(n.status).conditions ?? []) as Array<Record<string, unknown>>).find((c) => c.type === 'Ready')?.status);
  };
  const ping = (ip: string, timeoutMs = 2000) => redisCli(ip, 6379, password, ['PING'], timeoutMs);
  const kget = (k8s: TestSandbox, args: string[]) => k8s.kubectl(args, { timeoutMs: 30_000 });

  before(async () => {
    sb = await startSandbox({ preset: 'bitnami-cluster', upTimeoutMs: 300_000 });
    password = await secret(sb, NS, 'cache', 'redis-password');
  });

  after(async () => {
    if (sb) await sb.down();
  });

  test('latency: every API call waits; clear ends it', async () => {
    const base = await timed(() => k(sb, ['get', 'namespaces']));
    await fault(['latency', '--ms', '800', '--seconds', '60']);
    const slow = await timed(() => k(sb, ['get', 'namespaces']));
    assert.ok(slow.ms >= 800, `kubectl took ${slow.ms} ms with 800 ms latency`);
    const listed = JSON.parse((await sb.sandbox(['fault', 'list'])).stdout) as { faults: Array<{ kind: string }> };
    assert.deepEqual(listed.faults.map((f) => f.kind), ['latency']);
    await fault(['clear']);
    const fast = await timed(() => k(sb, ['get', 'namespaces']));
    assert.ok(fast.ms < base.ms + 1000, `after clear kubectl took ${fast.ms} ms (before the fault ${base.ms} ms)`);
  });

  test('error 409: kubectl label fails with Conflict once (--count 1), then succeeds', async () => {
    await fault(['error', '--code', '409', '--verbs', 'patch', '--resource', 'pods', '--count', '1']);
    const r = await kget(sb, ['label', 'pod', '-n', NS, 'cache-0', 'fault-test=1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error from server \(Conflict\): Operation cannot be fulfilled on pods "cache-0": the object has been modified/);
    await k(sb, ['label', 'pod', '-n', NS, 'cache-0', 'fault-test=1']);
  });

  test('error 500: kubectl get fails with InternalError', async () => {
    await fault(['error', '--code', '500', '--verbs', 'get', '--resource', 'nodes', '--count', '1']);
    const r = await kget(sb, ['get', 'node', 'east-node-1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error from server \(InternalError\): Internal error occurred: injected fault/);
    await k(sb, ['get', 'node', 'east-node-1']);
  });

  test('error 429: kubectl backs off on Retry-After until the fault expires; on evictions, drain reports the disruption budget', async () => {
    await fault(['error', '--code', '429', '--verbs', 'list', '--resource', 'pods', '--seconds', '3']);
    const r = await timed(() => kget(sb, ['get', 'pods', '-n', NS, '-v=6']));
    assert.equal(r.value.code, 0, r.value.stderr);
    assert.match(r.value.stderr, /429 Too Many Requests/);
    assert.ok(r.ms >= 2000, `kubectl retried for ${r.ms} ms`);

    const node = (await pods(sb, NS, cache.selector))[0].node;
    await fault(['error', '--code', '429', '--resource', 'pods/eviction', '--seconds', '30']);
    const d = await kget(sb, ['drain', node, '--pod-selector', 'app.kubernetes.io/instance=cache', '--ignore-daemonsets', '--timeout=4s']);
    await fault(['clear']);
    await k(sb, ['uncordon', node]);
    assert.notEqual(d.code, 0);
    assert.match(d.stderr + d.stdout, /Cannot evict pod as it would violate the pod's disruption budget/);
    // nothing was evicted
    assert.equal((await pods(sb, NS, cache.selector)).filter((p) => p.ready).length, 6);
  });

  test('drop-watches: a running kubectl get --watch ends', async () => {
    const child = spawn('kubectl', ['get', 'pods', '-n', NS, '--watch'], { env: { ...process.env, ...sb.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await eventually('the watch to list the pods', () => out.includes('cache-5'), 15_000, 100);
      const stillRunning = await Promise.race([exited.then(() => false), sleep(1500).then(() => true)]);
      assert.ok(stillRunning, 'kubectl get --watch keeps running without the fault');
      await fault(['drop-watches']);
      const code = await Promise.race([exited, sleep(10_000).then(() => 'still running')]);
      assert.equal(code, 0, 'kubectl get --watch exits when the server closes the watch');
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('unreachable: kubectl cannot connect; clear brings the API back before the time is up', async () => {
    await fault(['unreachable', '--seconds', '120']);
    await sleep(200);
    const r = await kget(sb, ['get', 'namespaces', '--request-timeout=3s']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /EOF|connection reset|Unable to connect|context deadline exceeded|timeout/i);
    await fault(['clear']);
    await k(sb, ['get', 'namespaces']);
  });

  test('kill: the Redis process dies and the kubelet restarts it in the same pod (same IP, new process, restartCount 1)', async () => {
    const [p] = await pods(sb, NS, 'statefulset.kubernetes.io/pod-name=cache-1');
    const runId = (await rc(p.ip, 6379, password, ['INFO', 'server'])).match(/run_id:(\w+)/)?.[1];
    await fault(['kill', '--namespace', NS, '--pod', 'cache-1']);
    const after = await eventually('cache-1 to be restarted', async () => {
      const [q] = await pods(sb, NS, 'statefulset.kubernetes.io/pod-name=cache-1');
      return q.restarts === p.restarts + 1 && q.ready && q;
    }, 60_000);
    assert.equal(after.ip, p.ip);
    const newRun = await eventually('the new process to answer', async () => (await rc(p.ip, 6379, password, ['INFO', 'server'])).match(/run_id:(\w+)/)?.[1], 30_000);
    assert.notEqual(newRun, runId);
    await eventually('cache to be ok again', () => clusterCheck(sb, cache, { masters: 3, replicasPer: 1 }), 60_000, 1000);
  });

  test('freeze / thaw: a frozen Redis stops answering (like a partition) and answers again once thawed', async () => {
    const [p] = await pods(sb, NS, 'statefulset.kubernetes.io/pod-name=cache-2');
    assert.equal((await ping(p.ip)).stdout.trim(), 'PONG');
    await fault(['freeze', '--namespace', NS, '--pod', 'cache-2']);
    const frozen = await ping(p.ip);
    assert.equal(frozen.code, 124, `redis-cli PING must hang on a frozen server: ${JSON.stringify(frozen)}`);
    await fault(['thaw', '--namespace', NS, '--pod', 'cache-2']);
    assert.equal((await ping(p.ip)).stdout.trim(), 'PONG');
  });

  test('node-hang / node-resume: the node goes NotReady and its Redis stops answering; resumed, both come back', async () => {
    const [p] = await pods(sb, NS, 'statefulset.kubernetes.io/pod-name=cache-3');
    await fault(['node-hang', '--node', p.node]);
    try {
      assert.equal((await ping(p.ip)).code, 124, 'a hung node\'s Redis does not answer');
      await eventually(`${p.node} to be NotReady (Unknown)`, async () => (await nodeReady(p.node)) === 'Unknown', 30_000);
      const row = await k(sb, ['get', 'node', p.node, '--no-headers']);
      assert.match(row, /NotReady/);
      const [q] = await pods(sb, NS, 'statefulset.kubernetes.io/pod-name=cache-3');
      assert.equal(q.ready, false, 'its pods are marked not ready');
    } finally {
      await sb.sandbox(['fault', 'node-resume', '--node', p.node]);
    }
    await eventually(`${p.node} to be Ready`, async () => (await nodeReady(p.node)) === 'True', 30_000);
    assert.equal((await ping(p.ip)).stdout.trim(), 'PONG');
    await eventually('cache-3 ready again', async () => (await pods(sb, NS, 'statefulset.kubernetes.io/pod-name=cache-3'))[0].ready, 30_000);
  });

  test('node-reboot: NotReady, a new bootID, every Redis on the node restarted; the cluster is ok after', async () => {
    await eventually('cache to be ok before the reboot', () => clusterCheck(sb, cache, { masters: 3, replicasPer: 1 }), 60_000, 1000);
    const [p] = await pods(sb, NS, 'statefulset.kubernetes.io/pod-name=cache-4');
    const onNode = (await pods(sb, NS, cache.selector)).filter((x) => x.node === p.node);
    const bootId = String(o(o((await kjson(sb, ['get', 'node', p.node])).status).nodeInfo).bootID);
    const runIds = await Promise.all(onNode.map(async (x) => (await rc(x.ip, 6379, password, ['INFO', 'server'])).match(/run_id:(\w+)/)?.[1]));
    const reboot = sb.sandbox(['fault', 'node-reboot', '--node', p.node]);
    await eventually(`${p.node} to go NotReady`, async () => (await nodeReady(p.node)) === 'False', 15_000, 200);
    assert.equal((await reboot).code, 0);
    await eventually(`${p.node} to be Ready with a new bootID`, async () => {
      const n = await kjson(sb, ['get', 'node', p.node]);
      return (await nodeReady(p.node)) === 'True' && String(o(o(n.status).nodeInfo).bootID) !== bootId;
    }, 30_000);
    const back = await eventually('every pod of the node to be ready again', async () => {
      const now = (await pods(sb, NS, cache.selector)).filter((x) => x.node === p.node);
      return now.length === onNode.length && now.every((x) => x.ready) && now;
    }, 60_000);
    for (const [i, x] of back.entries()) {
      // a new pod sandbox after the reboot: a new IP, as CNI gives in life, and a new Redis process
      assert.notEqual(x.ip, onNode[i].ip, `${x.name} has a new IP after the reboot`);
      assert.ok(x.restarts > onNode[i].restarts, `${x.name}'s restartCount went up: ${onNode[i].restarts} -> ${x.restarts}`);
      const now = (await rc(x.ip, 6379, password, ['INFO', 'server'])).match(/run_id:(\w+)/)?.[1];
      assert.notEqual(now, runIds[i], `${x.name}'s Redis was restarted by the reboot`);
    }
    // the Bitnami entrypoint remaps the new IPs
    await eventually('cache to be ok after the reboot', () => clusterCheck(sb, cache, { masters: 3, replicasPer: 1 }), 60_000, 1000);
  });
});
