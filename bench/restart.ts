// restart and failover: the longest write gap a client sees during `kubectl redis restart` of a StatefulSet's pods
// vs `kubectl rollout restart` + `kubectl rollout status` of the same StatefulSet, in the same run, on the demo
// sandbox (OT RedisCluster orders: its leader StatefulSet; spotahome RedisFailover sessions: rfr-sessions through its
// sentinels), and the gap of a planned `kubectl redis failover`. Targets (issue 21): restart <= 0.5 s on Redis
// Cluster, <= 1 s on Sentinel, >= 10x shorter than the rollout; failover <= 0.3 s on Redis Cluster.
import { fmtMs, groupHealthy, pods, ratio, timeUntil, unavailable, cliAvailable, type Benchmark, type BenchContext, type Row, type TestSandbox } from './lib.js';
import { redisCli, secret, sleep } from '../test/support/redis.js';
import { probeLine, startProbe, type ProbeReport } from './probe.js';

const NS = 'redis';

interface System {
  name: string;
  ref: string;
  mode: 'cluster' | 'sentinel';
  /** the StatefulSet both ways restart */
  sts: string;
  selector: string;
  stsSelector: string;
  sentinelSelector?: string;
  secret: [string, string];
  restartTarget: number;
  failoverTarget?: number;
}

const SYSTEMS: System[] = [
  {
    name: 'orders', ref: 'rediscluster/orders', mode: 'cluster', sts: 'orders-leader', selector: 'app in (orders-leader,orders-follower)', stsSelector: 'app=orders-leader',
    secret: ['orders-redis', 'password'], restartTarget: 500, failoverTarget: 300,
  },
  {
    name: 'sessions', ref: 'rf/sessions', mode: 'sentinel', sts: 'rfr-sessions', selector: 'app.kubernetes.io/name=sessions,app.kubernetes.io/component=redis',
    stsSelector: 'app.kubernetes.io/name=sessions,app.kubernetes.io/component=redis', sentinelSelector: 'app.kubernetes.io/name=sessions,app.kubernetes.io/component=sentinel',
    secret: ['sessions-auth', 'password'], restartTarget: 1000,
  },
];
const FACTOR = 10;

const healthy = (sb: TestSandbox, s: System, password: string): Promise<boolean> => groupHealthy(sb, NS, s, password);

async function ensureHealthy(ctx: BenchContext, sb: TestSandbox, s: System, password: string): Promise<void> {
  if ((await timeUntil(() => healthy(sb, s, password), 90_000, 1000)) !== undefined) return;
  ctx.log(`${s.name} is not healthy: healing it (untimed)`);
  await sb.cli(['heal', s.ref, '-n', NS, '--yes'], { timeoutMs: 240_000 });
  if ((await timeUntil(() => healthy(sb, s, password), 60_000, 1000)) === undefined) throw new Error(`${s.name} stays unhealthy`);
}

/** Run `body` with a write probe on `s`; the probe's report and whether body succeeded. */
async function probed(ctx: BenchContext, sb: TestSandbox, s: System, password: string, tag: string, body: () => Promise<string | undefined>): Promise<{ report: ProbeReport; ms: number; failure?: string }> {
  const seeds = await pods(sb, NS, s.mode === 'cluster' ? s.selector : s.sentinelSelector!);
  const probe = await startProbe({ name: s.name, mode: s.mode, hosts: seeds.map((p) => ({ host: p.ip, port: s.mode === 'cluster' ? 6379 : 26379 })), password, prefix: `bench:${tag}:${s.name}` });
  await sleep(1000);
  const t0 = Date.now();
  let failure: string | undefined;
  try {
    failure = await body();
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
  }
  const ms = Date.now() - t0;
  await sleep(1000);
  const report = await probe.stop();
  ctx.log(`${tag} ${s.name}: ${failure ? `FAILED ${failure}; ` : ''}${probeLine(report)} in ${fmtMs(ms)}`);
  return { report, ms, failure };
}

const tail = (text: string) => text.trim().split('\n').slice(-2).join(' | ').slice(0, 200);

export const restart: Benchmark = {
  name: 'restart',
  summary: 'longest write gap: kubectl redis restart vs kubectl rollout restart + rollout status (same StatefulSet); kubectl redis failover',
  async run(ctx) {
    if (!(await cliAvailable('restart'))) return [unavailable('restart: longest write gap', `<= 0.5 s (cluster), <= 1 s (sentinel), >= ${FACTOR}x shorter`, 'not available yet')];
    const sb = await ctx.demo();
    const rows: Row[] = [];
    for (const s of SYSTEMS) {
      const password = await secret(sb, NS, s.secret[0], s.secret[1]);
      await ensureHealthy(ctx, sb, s, password);
      const stsPods = (await pods(sb, NS, s.stsSelector)).map((p) => p.name);
      const ours = await probed(ctx, sb, s, password, 'kubectl-redis-restart', async () => {
        const r = await sb.cli(['restart', s.ref, ...stsPods, '-n', NS, '--yes'], { timeoutMs: 600_000 });
        return r.code === 0 ? undefined : `exit ${r.code}: ${tail(r.stderr)}`;
      });
      await ensureHealthy(ctx, sb, s, password);
      const rollout = await probed(ctx, sb, s, password, 'rollout-restart', async () => {
        const r = await sb.kubectl(['rollout', 'restart', `statefulset/${s.sts}`, '-n', NS]);
        if (r.code !== 0) return `kubectl rollout restart exit ${r.code}: ${tail(r.stderr)}`;
        const st = await sb.kubectl(['rollout', 'status', `statefulset/${s.sts}`, '-n', NS, '--timeout=600s'], { timeoutMs: 620_000 });
        return st.code === 0 ? undefined : `kubectl rollout status exit ${st.code}: ${tail(st.stderr)}`;
      });
      await ensureHealthy(ctx, sb, s, password).catch((e: unknown) => ctx.log(`left unhealthy: ${e instanceof Error ? e.message : String(e)}`));
      const a = ours.report;
      const b = rollout.report;
      rows.push({
        benchmark: `restart of statefulset/${s.sts} (${stsPods.length} pods): longest write gap, ${s.name} (${s.mode})`,
        figure: `${fmtMs(a.longestGapMs)} (${a.lostAcknowledged} lost of ${a.acknowledged})`,
        value: a.longestGapMs, unit: 'ms',
        baseline: `kubectl rollout restart + status ${fmtMs(b.longestGapMs)} (${b.lostAcknowledged} lost of ${b.acknowledged})`,
        baselineValue: b.longestGapMs, ratio: ratio(a.longestGapMs, b.longestGapMs),
        target: `<= ${s.restartTarget / 1000} s and >= ${FACTOR}x shorter`, targetFrom: 'issue 21',
        verdict: !ours.failure && a.lostAcknowledged === 0 && a.longestGapMs <= s.restartTarget && a.longestGapMs * FACTOR <= b.longestGapMs ? 'PASS' : 'MISS',
        note: `restart took ${fmtMs(ours.ms)}, the rollout ${fmtMs(rollout.ms)}${ours.failure ? `; restart failed: ${ours.failure}` : ''}${rollout.failure ? `; rollout: ${rollout.failure}` : ''}`,
      });
      ctx.detail[s.name] = { restart: ours, rollout };
      if (s.failoverTarget === undefined) continue;
      await ensureHealthy(ctx, sb, s, password);
      const master = (await pods(sb, NS, s.stsSelector)).map((p) => p.name)[0];
      let shard = master;
      for (const p of await pods(sb, NS, s.selector)) {
        if ((await redisCli(p.ip, 6379, password, ['ROLE'], 10_000)).stdout.startsWith('master')) {
          shard = p.name;
          break;
        }
      }
      const fo = await probed(ctx, sb, s, password, 'failover', async () => {
        const r = await sb.cli(['failover', s.ref, '--shard', shard, '-n', NS, '--yes'], { timeoutMs: 180_000 });
        return r.code === 0 ? undefined : `exit ${r.code}: ${tail(r.stderr)}`;
      });
      rows.push({
        benchmark: `failover of one shard: longest write gap, ${s.name} (${s.mode})`,
        figure: `${fmtMs(fo.report.longestGapMs)} (${fo.report.lostAcknowledged} lost of ${fo.report.acknowledged})`,
        value: fo.report.longestGapMs, unit: 'ms',
        target: `<= ${s.failoverTarget / 1000} s`, targetFrom: 'issue 21',
        verdict: !fo.failure && fo.report.lostAcknowledged === 0 && fo.report.longestGapMs <= s.failoverTarget ? 'PASS' : 'MISS',
        note: `failover of ${shard} took ${fmtMs(fo.ms)}${fo.failure ? `; failed: ${fo.failure}` : ''}`,
      });
      ctx.detail[s.name] = { restart: ours, rollout, failover: fo };
    }
    return rows;
  },
};
