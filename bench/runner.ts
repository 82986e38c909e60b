// Runs benchmarks, prints the table (benchmark, figure, baseline, ratio, target, PASS/MISS), writes
// bench/results/<name>.json for each benchmark run and regenerates bench/results/latest.md from every results file.
// Benchmarks never fail the process on a MISS: they print figures; a benchmark that throws shows as FAIL.
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmtMs, fmtRatio, ROOT, SandboxPool, type Benchmark, type Row } from './lib.js';

export const RESULTS_DIR = join(ROOT, 'bench', 'results');

interface ResultFile {
  name: string;
  summary: string;
  startedAt: string;
  durationMs: number;
  environment: Record<string, string | number>;
  rows: Row[];
  detail: Record<string, unknown>;
}

function environment(): Record<string, string | number> {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim();
    if (dirty) commit += '+dirty';
  } catch {
    // not a git checkout
  }
  let redis = 'unknown';
  try {
    redis = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[1] ?? redis;
  } catch {
    // no redis-server
  }
  return { commit, node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGB: Math.round(totalmem() / 2 ** 30), redis, platform: `${process.platform}-${process.arch}` };
}

const HEADERS = ['BENCHMARK', 'FIGURE', 'BASELINE', 'RATIO', 'TARGET', 'RESULT'];

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 3)}...` : s);

/** The printed cells (long error figures are clipped here; the JSON file keeps them whole). */
function cells(r: Row): string[] {
  return [r.benchmark, clip(r.figure, 60), clip(r.baseline ?? '-', 50), fmtRatio(r.ratio), r.target, r.verdict];
}

export function textTable(rows: Row[]): string {
  const data = rows.map(cells);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...data.map((d) => d[i].length)));
  const line = (c: string[]): string => c.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd();
  return [line(HEADERS), ...data.map(line)].join('\n');
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function markdown(files: ResultFile[]): string {
  const out: string[] = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (bench/run.ts) from the bench/results/*.json files; every figure is measured on the',
    'sandbox (simulated API server, real redis-server) beside what a user would otherwise run, in the same run.',
    'Ratio = figure / baseline (below 1 is better for times). Targets come from the issues named in the notes.',
    '',
    '| Benchmark | Figure | Baseline | Ratio | Target | Result |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const f of files) for (const r of f.rows) out.push(`| ${cells(r).map(mdEscape).join(' | ')} |`);
  out.push('', '## Runs', '');
  for (const f of files) {
    const e = f.environment;
    out.push(`- **${f.name}** (${f.summary}): ${f.startedAt}, took ${fmtMs(f.durationMs)}; commit ${e.commit}, node ${e.node}, ${e.cpus} CPUs (${e.cpuModel}), redis ${e.redis}`);
  }
  const notes = files.flatMap((f) => f.rows.filter((r) => r.note || r.targetFrom).map((r) => `- ${r.benchmark}: ${[r.note, r.targetFrom ? `target from ${r.targetFrom}` : ''].filter(Boolean).join('; ')}`));
  if (notes.length > 0) out.push('', '## Notes', '', ...notes);
  return `${out.join('\n')}\n`;
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

function readResults(order: string[]): ResultFile[] {
  const files: ResultFile[] = [];
  for (const f of readdirSync(RESULTS_DIR).filter((x) => x.endsWith('.json'))) {
    try {
      files.push(JSON.parse(readFileSync(join(RESULTS_DIR, f), 'utf8')) as ResultFile);
    } catch {
      // a broken file is skipped, not fatal
    }
  }
  const rank = (n: string): number => (order.includes(n) ? order.indexOf(n) : order.length);
  return files.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

const USAGE = (all: Benchmark[]): string => `usage: npm run bench [-- NAME...]   (no name: every benchmark, in this order)
benchmarks:
${all.map((b) => `  ${b.name.padEnd(14)} ${b.summary}`).join('\n')}`;

/** Run the named benchmarks (all when none is named); the exit code (0, or 2 on bad usage, 1 when one threw). */
export async function main(all: Benchmark[], argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('--list')) {
    process.stdout.write(`${USAGE(all)}\n`);
    return 0;
  }
  const names = argv.filter((a) => !a.startsWith('-'));
  const unknown = names.filter((n) => !all.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`error: unknown benchmark ${unknown.map((u) => `"${u}"`).join(', ')}\n${USAGE(all)}\n`);
    return 2;
  }
  const selected = names.length > 0 ? all.filter((b) => names.includes(b.name)) : all;
  const t0 = Date.now();
  const log = (m: string): void => {
    process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${m}\n`);
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const pool = new SandboxPool(log);
  let interrupted = false;
  const onSignal = (sig: string): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${sig}: stopping the sandbox`);
    pool.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const env = environment();
  const rows: Row[] = [];
  let failed = false;
  try {
    for (const b of selected) {
      const started = Date.now();
      log(`${b.name}: ${b.summary}`);
      const detail: Record<string, unknown> = {};
      let got: Row[];
      try {
        got = await b.run({ demo: () => pool.demo(), twoClusters: (p) => pool.twoClusters(p), releaseTwoClusters: (p) => pool.release(p), log: (m) => log(`${b.name}: ${m}`), detail });
      } catch (e) {
        failed = true;
        const msg = e instanceof Error ? e.message : String(e);
        log(`${b.name} failed: ${e instanceof Error && e.stack ? e.stack : msg}`);
        got = [{ benchmark: b.name, figure: `error: ${msg.split('\n')[0].slice(0, 100)}`, target: '-', verdict: 'FAIL' }];
      }
      const durationMs = Date.now() - started;
      log(`${b.name}: done in ${fmtMs(durationMs)}`);
      rows.push(...got);
      const file: ResultFile = { name: b.name, summary: b.summary, startedAt: new Date(started).toISOString(), durationMs, environment: env, rows: got, detail };
      writeAtomic(join(RESULTS_DIR, `${b.name}.json`), `${JSON.stringify(file, null, 2)}\n`);
      writeAtomic(join(RESULTS_DIR, 'latest.md'), markdown(readResults(all.map((x) => x.name))));
    }
  } finally {
    await pool.close().catch((e: unknown) => log(`sandbox down failed: ${e instanceof Error ? e.message : String(e)}`));
  }
  process.stdout.write(`\n${textTable(rows)}\n\n`);
  process.stdout.write(`bench: ${selected.length} benchmark(s) in ${fmtMs(Date.now() - t0)}; results in bench/results/ (latest.md)\n`);
  return failed ? 1 : 0;
}
