// drain-reboot of one node vs what a user would otherwise do, `kubectl drain` + reboot + `kubectl uncordon`, on the
// same node of the same demo sandbox in one run, each with a write probe on every system of the demo (OT
// RedisCluster orders, Bitnami redis-cluster cache, spotahome RedisFailover sessions through its sentinels).
// Target (issue 9): longest write gap <= 1 s and >= 10x shorter than the plain drain; no acknowledged write lost.
import { cliAvailable, fmtMs, groupHealthy, pods, ratio, relinkReplicas, timeUntil, unavailable, type Benchmark, type BenchContext, type Row, type TestSandbox } from './lib.js';
import { redisCli, secret, sleep } from '../test/support/redis.js';
import { probeLine, startProbe, type Probe, type ProbeReport } from './probe.js';

const NS = 'redis';
const GAP_TARGET_MS = 1000;
const GAP_FACTOR = 10;

interface System {
  name: string;
  selector: string;
  secret: [string, string];
  mode: 'cluster' | 'sentinel';
  sentinelSelector?: string;
  heal: string;
}

const SYSTEMS: System[] = [
  { name: 'orders', selector: 'app in (orders-leader,orders-follower)', secret: ['orders-redis', 'password'], mode: 'cluster', heal: 'rediscluster/orders' },
  { name: 'cache', selector: 'app.kubernetes.io/name=redis-cluster,app.kubernetes.io/instance=cache', secret: ['cache', 'redis-password'], mode: 'cluster', heal: 'sts/cache' },
  {
    name: 'sessions', selector: 'app.kubernetes.io/name=sessions,app.kubernetes.io/component=redis', secret: ['sessions-auth', 'password'], mode: 'sentinel',
    sentinelSelector: 'app.kubernetes.io/name=sessions,app.kubernetes.io/component=sentinel', heal: 'rf/sessions',
  },
];

async function passwords(sb: TestSandbox): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const s of SYSTEMS) out[s.name] = await secret(sb, NS, s.secret[0], s.secret[1]);
  return out;
}

/** Every system answering as it should: cluster check OK, or one master with all replicas linked. */
const healthy = (sb: TestSandbox, s: System, password: string): Promise<boolean> => groupHealthy(sb, NS, s, password, true);

async function ensureHealthy(ctx: BenchContext, sb: TestSandbox, pw: Record<string, string>): Promise<void> {
  for (const s of SYSTEMS) {
    if ((await timeUntil(() => healthy(sb, s, pw[s.name]), 90_000, 1000)) !== undefined) continue;
    ctx.log(`${s.name} is not healthy: healing it (untimed)`);
    await sb.cli(['heal', s.heal, '-n', NS, '--yes'], { timeoutMs: 240_000 });
    if ((await timeUntil(() => healthy(sb, s, pw[s.name]), 30_000, 1000)) !== undefined) continue;
    if (s.mode === 'cluster') {
      const fixed = await relinkReplicas(pw[s.name], await pods(sb, NS, s.selector));
      if (fixed.length > 0) ctx.log(`${s.name}: replica link still down on ${fixed.join(', ')}: re-pointed with CLUSTER REPLICATE (untimed)`);
    }
    if ((await timeUntil(() => healthy(sb, s, pw[s.name]), 60_000, 1000)) === undefined) throw new Error(`${s.name} stays unhealthy`);
  }
}

/** The node running the most Redis masters (the interesting one to drain). */
async function busiestNode(sb: TestSandbox, pw: Record<string, string>): Promise<{ node: string; masters: string[] }> {
  const byNode = new Map<string, string[]>();
  for (const s of SYSTEMS) {
    for (const p of await pods(sb, NS, s.selector)) {
      const role = (await redisCli(p.ip, 6379, pw[s.name], ['ROLE'], 10_000)).stdout;
      if (role.startsWith('master')) byNode.set(p.node, [...(byNode.get(p.node) ?? []), p.name]);
    }
  }
  const [node, masters] = [...byNode.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))[0] ?? [];
  if (!node) throw new Error('no Redis master found');
  return { node, masters };
}

async function startProbes(sb: TestSandbox, pw: Record<string, string>, tag: string): Promise<Probe[]> {
  const out: Probe[] = [];
  for (const s of SYSTEMS) {
    const ps = await pods(sb, NS, s.mode === 'cluster' ? s.selector : (s.sentinelSelector ?? ''));
    out.push(await startProbe({
      name: s.name,
      mode: s.mode,
      hosts: ps.map((p) => ({ host: p.ip, port: s.mode === 'cluster' ? 6379 : 26379 })),
      password: pw[s.name],
      prefix: `bench:${tag}:${s.name}`,
    }));
  }
  return out;
}

async function nodeReadyWithNewBoot(sb: TestSandbox, node: string, bootBefore: string): Promise<boolean> {
  const r = await sb.kubectl(['get', 'node', node, '-o', 'jsonpath={.status.nodeInfo.bootID} {.status.conditions[?(@.type=="Ready")].status}']);
  const [boot, ready] = r.stdout.trim().split(' ');
  return r.code === 0 && boot !== bootBefore && ready === 'True';
}

async function bootId(sb: TestSandbox, node: string): Promise<string> {
  return (await sb.kubectl(['get', 'node', node, '-o', 'jsonpath={.status.nodeInfo.bootID}'])).stdout.trim();
}

async function podCount(sb: TestSandbox): Promise<number> {
  let n = 0;
  for (const s of SYSTEMS) n += (await pods(sb, NS, s.selector)).length;
  return n;
}

async function allReady(sb: TestSandbox, want: number): Promise<boolean> {
  let n = 0;
  for (const s of SYSTEMS) n += (await pods(sb, NS, s.selector)).filter((p) => p.ready && p.ip).length;
  return n >= want;
}

interface Run {
  totalMs: number;
  ok: boolean;
  reports: ProbeReport[];
  note: string;
}

async function withProbes(ctx: BenchContext, sb: TestSandbox, pw: Record<string, string>, tag: string, body: () => Promise<{ ok: boolean; note: string }>): Promise<Run> {
  const probes = await startProbes(sb, pw, tag);
  await sleep(1000);
  const started = Date.now();
  let result: { ok: boolean; note: string };
  try {
    result = await body();
  } catch (e) {
    result = { ok: false, note: e instanceof Error ? e.message : String(e) };
  }
  const totalMs = Date.now() - started;
  await sleep(2000);
  const reports: ProbeReport[] = [];
  for (const p of probes) reports.push(await p.stop());
  for (const r of reports) ctx.log(`${tag}: ${probeLine(r)}`);
  return { totalMs, ok: result.ok, reports, note: result.note };
}

export const drain: Benchmark = {
  name: 'drain-reboot',
  summary: 'write gap and lost writes: kubectl redis drain-reboot vs kubectl drain + reboot + uncordon (one node)',
  async run(ctx) {
    const target = `gap <= ${GAP_TARGET_MS / 1000} s and >= ${GAP_FACTOR}x shorter`;
    if (!(await cliAvailable('drain-reboot'))) return [unavailable('drain-reboot: longest write gap', target, 'not available yet')];
    const sb = await ctx.demo();
    const pw = await passwords(sb);
    await ensureHealthy(ctx, sb, pw);
    // each run drains the node that runs the most masters when it starts: the pods a drain evicts come back on other
    // nodes, so the node drained first holds none of them for the second run
    const first = await busiestNode(sb, pw);
    ctx.log(`drain-reboot of ${first.node} (masters there: ${first.masters.join(', ')})`);
    ctx.detail.drainReboot = { node: first.node, masters: first.masters };
    const want = await podCount(sb);

    const ours = await withProbes(ctx, sb, pw, 'drain-reboot', async () => {
      const r = await sb.cli(['drain-reboot', first.node, '--delete-emptydir-data', '--ignore-daemonsets', '--delay', '2s', '--timeout', '5m', '--yes', '-o', 'json'], { timeoutMs: 420_000 });
      await timeUntil(() => allReady(sb, want), 120_000, 1000);
      return { ok: r.code === 0, note: r.code === 0 ? '' : `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' | ').slice(0, 200)}` };
    });
    ctx.log(`drain-reboot ${first.node}: ${ours.ok ? 'ok' : ours.note} in ${fmtMs(ours.totalMs)}`);

    await ensureHealthy(ctx, sb, pw);
    const second = await busiestNode(sb, pw);
    const node = second.node;
    ctx.log(`kubectl drain + reboot + uncordon of ${node} (masters there: ${second.masters.join(', ')})`);
    const plain = await withProbes(ctx, sb, pw, 'plain-drain', async () => {
      const boot = await bootId(sb, node);
      const d = await sb.kubectl(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=300s'], { timeoutMs: 330_000 });
      if (d.code !== 0) {
        await sb.kubectl(['uncordon', node]);
        return { ok: false, note: `kubectl drain exit ${d.code}: ${d.stderr.trim().split('\n').slice(-1)[0]}` };
      }
      const f = await sb.sandbox(['fault', 'node-reboot', '--node', node]);
      if (f.code !== 0) {
        await sb.kubectl(['uncordon', node]);
        return { ok: false, note: `sandbox fault node-reboot: ${f.stderr.trim()}` };
      }
      const up = await timeUntil(() => nodeReadyWithNewBoot(sb, node, boot), 180_000, 500);
      const u = await sb.kubectl(['uncordon', node]);
      const ready = await timeUntil(() => allReady(sb, want), 180_000, 1000);
      return { ok: up !== undefined && u.code === 0 && ready !== undefined, note: up === undefined ? 'the node did not come back Ready' : ready === undefined ? 'not every pod came back Ready' : '' };
    });
    ctx.log(`plain drain + reboot + uncordon ${node}: ${plain.ok ? 'ok' : plain.note} in ${fmtMs(plain.totalMs)}`);
    ctx.detail.drainReboot = { node: first.node, masters: first.masters, ...ours };
    ctx.detail.plainDrain = { node, masters: second.masters, ...plain };
    // leave every system healthy for the benchmarks after this one
    await ensureHealthy(ctx, sb, pw).catch((e: unknown) => ctx.log(`left unhealthy: ${e instanceof Error ? e.message : String(e)}`));

    const rows: Row[] = [];
    for (const s of SYSTEMS) {
      const a = ours.reports.find((r) => r.name === s.name);
      const b = plain.reports.find((r) => r.name === s.name);
      if (!a || !b) continue;
      const rr = ratio(a.longestGapMs, b.longestGapMs);
      rows.push({
        benchmark: `drain-reboot of one node: longest write gap, ${s.name} (${s.mode})`,
        figure: `${fmtMs(a.longestGapMs)} (p99 ${a.p99Ms.toFixed(1)} ms)`,
        value: a.longestGapMs,
        unit: 'ms',
        baseline: `kubectl drain+reboot+uncordon ${fmtMs(b.longestGapMs)}`,
        baselineValue: b.longestGapMs,
        ratio: rr,
        target,
        targetFrom: 'issue 9',
        verdict: ours.ok && a.longestGapMs <= GAP_TARGET_MS && a.longestGapMs * GAP_FACTOR <= b.longestGapMs ? 'PASS' : 'MISS',
        note: `${a.acknowledged} writes acked (${a.errors} errors) vs ${b.acknowledged} (${b.errors} errors)${ours.ok ? '' : `; drain-reboot failed: ${ours.note}`}${plain.ok ? '' : `; plain drain: ${plain.note}`}`,
      });
    }
    const lost = ours.reports.reduce((n, r) => n + r.lostAcknowledged, 0);
    const lostPlain = plain.reports.reduce((n, r) => n + r.lostAcknowledged, 0);
    const acked = ours.reports.reduce((n, r) => n + r.acknowledged, 0);
    const ackedPlain = plain.reports.reduce((n, r) => n + r.acknowledged, 0);
    rows.push({
      benchmark: 'drain-reboot of one node: lost acknowledged writes (all three)',
      figure: `${lost} of ${acked}`,
      value: lost,
      unit: 'writes',
      baseline: `kubectl drain+reboot+uncordon ${lostPlain} of ${ackedPlain}`,
      baselineValue: lostPlain,
      target: '0 lost',
      targetFrom: 'issue 9',
      verdict: ours.ok && lost === 0 ? 'PASS' : 'MISS',
      note: ours.reports.some((r) => r.unverified > 0) ? `unverified reads: ${ours.reports.map((r) => r.unverified).join('/')}` : undefined,
    });
    rows.push({
      benchmark: 'drain-reboot of one node: total time',
      figure: ours.ok ? fmtMs(ours.totalMs) : `failed after ${fmtMs(ours.totalMs)}`,
      value: ours.totalMs,
      unit: 'ms',
      baseline: `kubectl drain+reboot+uncordon ${fmtMs(plain.totalMs)}`,
      baselineValue: plain.totalMs,
      ratio: ratio(ours.totalMs, plain.totalMs),
      target: 'reported (no target)',
      verdict: ours.ok ? 'n/a' : 'FAIL',
      note: `drain-reboot of ${first.node} (masters ${first.masters.join(', ')}) with --delay 2s; plain drain of ${node} (masters ${second.masters.join(', ')}); both until every pod of the three systems is Ready again`,
    });
    return rows;
  },
};
