// `kubectl redis status -n redis` on the demo preset (three systems, 15 Redis pods and sentinels, every node asked
// for its own view) beside `kubectl get pods -n redis -o wide` (what a user runs without the plugin, which says nothing
// about Redis), median of N runs each, through port-forward (the default) and with --direct.
import { CLI, fmtMs, medianOf, ratio, unavailable, verdict, type Benchmark, type Row } from './lib.js';

const RUNS = Number(process.env.BENCH_STATUS_RUNS ?? 5);
const TARGET_MS = 250;

export const status: Benchmark = {
  name: 'status',
  summary: 'kubectl redis status -n redis vs kubectl get pods -o wide (demo preset)',
  async run(ctx) {
    const sb = await ctx.demo();
    const env = { ...process.env, ...sb.env };
    const kubectl = await medianOf(RUNS, 'kubectl', ['get', 'pods', '-n', 'redis', '-o', 'wide'], env);
    if (kubectl.ms === undefined) throw new Error(kubectl.error ?? 'kubectl get pods failed');
    ctx.detail.kubectlSamples = kubectl.samples;
    const rows: Row[] = [];
    for (const extra of [[], ['--direct']]) {
      const label = `status -n redis${extra.length ? ' --direct' : ' (port-forward)'} (demo)`;
      const m = await medianOf(RUNS, process.execPath, [CLI, 'status', '-n', 'redis', ...extra], env);
      ctx.detail[`samples${extra.join('')}`] = m.samples;
      if (m.ms === undefined) {
        rows.push(unavailable(label, `<= ${TARGET_MS / 1000} s`, m.error ?? 'failed', 'FAIL'));
        continue;
      }
      ctx.log(`${label}: median ${fmtMs(m.ms)} vs kubectl ${fmtMs(kubectl.ms)}`);
      rows.push({
        benchmark: label,
        figure: `${fmtMs(m.ms)} (median of ${RUNS})`,
        value: m.ms,
        unit: 'ms',
        baseline: `kubectl get pods -o wide ${fmtMs(kubectl.ms)}`,
        baselineValue: kubectl.ms,
        ratio: ratio(m.ms, kubectl.ms),
        target: `<= ${TARGET_MS / 1000} s`,
        targetFrom: 'issue 20',
        verdict: verdict(m.ms <= TARGET_MS),
      });
    }
    return rows;
  },
};
