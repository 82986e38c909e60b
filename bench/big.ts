// Status of a big Redis Cluster: a Bitnami-style redis-cluster StatefulSet of 150 pods (75 masters, 75 replicas)
// created in namespace `big` of the bench sandbox (the chart's objects from sandbox/presets/bitnami.ts, formed the way
// the chart's creator does), then `kubectl redis status sts/big -o json` (pod IPs directly, and through
// port-forward) beside `redis-cli --cluster check` on the same cluster, each of ours right after a check (so both
// see the same load), with the CLI's peak RSS and its cost per node.
// BENCH_BIG_NODES=50,150,300 measures each size in turn (one cluster at a time; each is deleted before the next).
// Targets (issue 20): <= 1x redis-cli with --direct, <= 2x through port-forward, peak RSS <= 128 MB at 150 nodes.
import { bitnamiClusterObjects } from '../sandbox/presets/bitnami.js';
import { clusterNodes, isFresh, myId, redisCall, redisText, slotRange, type Endpoint } from '../sandbox/operators/kit.js';
import { CLI, fmtMs, median, pods, ratio, unavailable, verdict, withPeakRss, type Benchmark, type PodAddr, type BenchContext, type Row, type TestSandbox } from './lib.js';
import { clusterCheckResult, sleep } from '../test/support/redis.js';

const NS = 'big';
const NAME = 'big';
const SIZES = (process.env.BENCH_BIG_NODES ?? '150').split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 6);
const NODES = SIZES[0] ?? 150;
const RUNS = Number(process.env.BENCH_BIG_RUNS ?? 3);
/** our time / redis-cli --cluster check's */
const RATIO_TARGET = { direct: 1, portForward: 2 };
const RSS_TARGET_MB = 128;
const SELECTOR = `app.kubernetes.io/name=redis-cluster,app.kubernetes.io/instance=${NAME}`;

async function retry<T>(what: string, timeoutMs: number, f: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`);
      await sleep(300);
    }
  }
}

async function everyNode(what: string, eps: Endpoint[], timeoutMs: number, ok: (ep: Endpoint) => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = eps;
  while (pending.length > 0) {
    const done = await Promise.all(pending.map((ep) => ok(ep).catch(() => false)));
    pending = pending.filter((_, i) => !done[i]);
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${what}: ${pending.length} nodes not there after ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

/**
 * What the chart's creator (`redis-cli --cluster create --cluster-replicas 1`) does, in parallel: distinct config
 * epochs, slots to the first half, MEET, each replica to a master on another Kubernetes node (so the cluster starts
 * without master-replica-same-node findings), then wait for cluster_state:ok everywhere.
 */
async function form(ready: PodAddr[], password: string, log: (m: string) => void): Promise<void> {
  const t0 = Date.now();
  const phase = (m: string): void => log(`form: ${m} at ${fmtMs(Date.now() - t0)}`);
  const ep = (p: PodAddr): Endpoint => ({ ip: p.ip, port: 6379, password });
  const all = ready.map(ep);
  const m = Math.ceil(ready.length / 2);
  const masters = ready.slice(0, m);
  const replicas = ready.slice(m);
  await Promise.all(all.map((e, i) => redisCall(e, ['CLUSTER', 'SET-CONFIG-EPOCH', i + 1]).catch(() => undefined)));
  // slots first, as redis-cli --cluster create does: the handshakes then carry every master's slots
  await Promise.all(masters.map((p, i) => redisCall(ep(p), ['CLUSTER', 'ADDSLOTSRANGE', ...slotRange(i, m)])));
  await Promise.all(all.slice(1).map((e) => retry('MEET', 30_000, () => redisCall(e, ['CLUSTER', 'MEET', all[0].ip, all[0].port]))));
  phase('MEET sent');
  await everyNode('every node to know every other', all, 300_000, async (e) => {
    const v = await clusterNodes(e);
    return v.length >= all.length && !v.some((x) => x.flags.includes('handshake') || x.flags.includes('noaddr'));
  });
  phase('every node knows every other');
  const ids = await Promise.all(masters.map((p) => myId(ep(p))));
  const taken = new Set<number>();
  const pairs = replicas.map((r) => {
    let i = masters.findIndex((x, j) => !taken.has(j) && x.node !== r.node);
    if (i < 0) i = masters.findIndex((_, j) => !taken.has(j));
    taken.add(i);
    return { r, i };
  });
  await Promise.all(pairs.map(({ r, i }) => retry(`REPLICATE on ${r.name}`, 120_000, () => redisCall(ep(r), ['CLUSTER', 'REPLICATE', ids[i]]))));
  phase('replicas attached');
  await everyNode('cluster_state:ok on every node', all, 300_000, async (e) => (await redisText(e, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'));
}

/** Create the StatefulSet and form the cluster; resolves when every node says cluster_state:ok. */
export async function createBigCluster(sb: TestSandbox, log: (m: string) => void, nodes = NODES): Promise<{ password: string; ips: string[] }> {
  const password = `big-${Math.random().toString(36).slice(2, 12)}`;
  const objects = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }, ...bitnamiClusterObjects(NS, NAME, password, nodes)];
  const applied = await sb.kubectl(['apply', '--validate=false', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }), timeoutMs: 60_000 });
  if (applied.code !== 0) throw new Error(`kubectl apply: ${applied.stderr.trim()}`);
  const started = Date.now();
  let ready: Awaited<ReturnType<typeof pods>> = [];
  for (;;) {
    ready = (await pods(sb, NS, SELECTOR).catch(() => ready)).filter((p) => p.ip && p.ready);
    if (ready.length === nodes) break;
    if (Date.now() - started > 300_000) throw new Error(`only ${ready.length} of ${nodes} pods Ready after 300 s`);
    await sleep(2000);
  }
  log(`${nodes} pods Ready in ${fmtMs(Date.now() - started)}; forming the cluster (${nodes / 2} masters + ${nodes / 2} replicas)`);
  const formStarted = Date.now();
  if ((await Promise.all(ready.map((p) => isFresh({ ip: p.ip, port: 6379, password })))).every(Boolean)) await form(ready, password, log);
  log(`cluster formed in ${fmtMs(Date.now() - formStarted)}`);
  return { password, ips: ready.map((p) => p.ip) };
}

async function waitCheckOk(password: string, ip: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await clusterCheckResult(password, ip, 120_000)).ok) return true;
    await sleep(1000);
  }
  return false;
}

interface StatusRun {
  ms: number;
  rssMB?: number;
  ok: boolean;
  summary: string;
}

async function statusRun(sb: TestSandbox, direct: boolean): Promise<StatusRun> {
  const args = [CLI, 'status', `sts/${NAME}`, '-n', NS, '-o', 'json', '--timeout', '10s', ...(direct ? ['--direct'] : [])];
  const r = await withPeakRss(process.execPath, args, { env: { ...process.env, ...sb.env }, timeoutMs: 600_000 });
  let summary = `exit ${r.code}`;
  let ok = r.code === 0;
  try {
    const doc = JSON.parse(r.stdout) as unknown;
    const text = JSON.stringify(doc);
    const podsSeen = (text.match(/"pod":/g) ?? []).length;
    summary = `exit ${r.code}, ${podsSeen} pod entries`;
  } catch {
    ok = false;
    summary = `exit ${r.code}, output is not JSON: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ').slice(0, 160)}`;
  }
  return { ms: r.ms, rssMB: r.peakRssMB, ok, summary };
}

/** `runs` of ours, each right after a redis-cli --cluster check: the pair sees the same machine. */
async function measure(ctx: BenchContext, sb: TestSandbox, password: string, ip: string, direct: boolean, runs: number): Promise<{ ours: StatusRun[]; checks: number[] }> {
  const ours: StatusRun[] = [];
  const checks: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = Date.now();
    const c = await clusterCheckResult(password, ip, 120_000);
    checks.push(Date.now() - t);
    if (!c.ok) ctx.log(`redis-cli --cluster check not OK: ${c.text.split('\n').slice(-3).join(' ')}`);
    const s = await statusRun(sb, direct);
    ctx.log(`status sts/${NAME}${direct ? ' --direct' : ''}: ${fmtMs(s.ms)} (check ${fmtMs(checks[i])}), peak RSS ${s.rssMB?.toFixed(0) ?? '?'} MB, ${s.summary}`);
    ours.push(s);
    if (!s.ok) break;
  }
  return { ours, checks };
}

async function measureSize(ctx: BenchContext, sb: TestSandbox, nodes: number): Promise<Row[]> {
  const setupStarted = Date.now();
  const { password, ips } = await createBigCluster(sb, ctx.log, nodes);
  ctx.detail[`setupMs${nodes}`] = Date.now() - setupStarted;
  if (!(await waitCheckOk(password, ips[0], 120_000))) throw new Error(`the ${nodes}-node cluster never passed redis-cli --cluster check`);
  const rows: Row[] = [];
  for (const direct of [true, false]) {
    const mode = direct ? 'direct' : 'portForward';
    const label = `status ${nodes}-node cluster${direct ? ' (--direct)' : ' (port-forward)'}`;
    const { ours, checks } = await measure(ctx, sb, password, ips[0], direct, RUNS);
    ctx.detail[`${mode}${nodes}`] = { ours, checks };
    const good = ours.filter((r) => r.ok);
    const target = `<= ${RATIO_TARGET[mode]}x redis-cli`;
    if (good.length === 0) {
      rows.push(unavailable(`${label}: observe`, target, ours[0]?.summary ?? 'failed', 'FAIL'));
      continue;
    }
    const ms = median(good.map((r) => r.ms));
    const checkMs = median(checks);
    const rss = Math.max(...good.map((r) => r.rssMB ?? 0));
    const rr = ratio(ms, checkMs);
    rows.push({
      benchmark: `${label}: observe`,
      figure: `${fmtMs(ms)} (median of ${good.length}), ${(ms / nodes).toFixed(1)} ms/node`,
      value: ms,
      unit: 'ms',
      baseline: `redis-cli --cluster check ${fmtMs(checkMs)} (${(checkMs / nodes).toFixed(1)} ms/node)`,
      baselineValue: checkMs,
      ratio: rr,
      target,
      targetFrom: 'issue 20',
      verdict: verdict(rr !== undefined && rr <= RATIO_TARGET[mode]),
      note: `${good[0].summary}; each run right after a check`,
    });
    rows.push({
      benchmark: `${label}: peak RSS of the CLI`,
      figure: rss > 0 ? `${rss.toFixed(0)} MB` : 'not measured',
      value: rss,
      unit: 'MB',
      baseline: '-',
      target: nodes <= 150 ? `<= ${RSS_TARGET_MB} MB` : '-',
      targetFrom: 'issue 20 (at 150 nodes)',
      verdict: rss > 0 && nodes <= 150 ? verdict(rss <= RSS_TARGET_MB) : 'n/a',
      note: 'VmHWM of the CLI process, sampled from /proc every 20 ms',
    });
  }
  // stop the servers now: the next size (later benchmarks, another run) should not share the CPU with their gossip
  const deleted = await sb.kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=300s'], { timeoutMs: 330_000 });
  if (deleted.code !== 0) ctx.log(`namespace ${NS} not deleted: ${deleted.stderr.trim()}`);
  return rows;
}

export const big: Benchmark = {
  name: 'big',
  summary: `status of a ${SIZES.join('/')}-node Redis Cluster vs redis-cli --cluster check; peak RSS, cost per node`,
  async run(ctx) {
    const sb = await ctx.demo();
    const rows: Row[] = [];
    for (const nodes of SIZES) rows.push(...(await measureSize(ctx, sb, nodes)));
    return rows;
  },
};
