// Start-up time of the installed CLI (bin/run.js on the built bundle) for `--help` and `--version`, median of N runs,
// beside `kubectl version --client` (target <= 0.3 s, issue 3). `npx tsx bench/startup.ts` runs this benchmark alone
// (the same as `npm run bench -- startup`).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, CLI_ROOT, fmtMs, fmtRatio, medianOf, ratio, unavailable, verdict, type Benchmark, type Row } from './lib.js';

const TARGET_MS = 300;
/** issue 20: the released CLI's --help within 2x kubectl's own start-up, measured in the same run */
const RATIO_TARGET = 2;
const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 11);

export const startup: Benchmark = {
  name: 'startup',
  summary: 'CLI start-up (--help, --version) vs kubectl version --client',
  async run(ctx) {
    if (!existsSync(join(CLI_ROOT, 'dist', 'commands'))) return [unavailable('startup', `<= ${TARGET_MS} ms`, 'dist/ missing: run node scripts/build.mjs', 'FAIL')];
    const kubectl = await medianOf(RUNS, 'kubectl', ['version', '--client']);
    const floor = await medianOf(RUNS, process.execPath, ['-e', '0']);
    ctx.detail.kubectlSamples = kubectl.samples;
    ctx.detail.nodeFloorMs = floor.ms;
    const rows: Row[] = [];
    for (const args of [['--help'], ['--version'], ['status', '--help']]) {
      const m = await medianOf(RUNS, process.execPath, [CLI, ...args]);
      ctx.detail[`samples ${args.join(' ')}`] = m.samples;
      const label = `startup: kubectl redis ${args.join(' ')}`;
      if (m.ms === undefined) {
        rows.push(unavailable(label, `<= ${TARGET_MS} ms`, m.error ?? 'failed', 'FAIL'));
        continue;
      }
      const r = ratio(m.ms, kubectl.ms);
      rows.push({
        benchmark: label,
        figure: `${fmtMs(m.ms)} (median of ${RUNS})`,
        value: m.ms,
        unit: 'ms',
        baseline: `kubectl version --client ${fmtMs(kubectl.ms)}`,
        baselineValue: kubectl.ms,
        ratio: r,
        target: `<= ${RATIO_TARGET}x kubectl (and <= ${TARGET_MS} ms)`,
        targetFrom: 'issue 20 (the ratio), issue 3 (300 ms)',
        verdict: verdict(r !== undefined && r <= RATIO_TARGET && m.ms <= TARGET_MS),
        note: `node -e 0 floor ${fmtMs(floor.ms)}; ratio ${fmtRatio(r)}`,
      });
    }
    return rows;
  },
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { main } = await import('./runner.js');
  process.exit(await main([startup], []));
}
