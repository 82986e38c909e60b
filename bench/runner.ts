// Runs benchmarks at one commit: rebuilds the CLI it measures first, prints the table (benchmark, figure, baseline,
// ratio, target, PASS/MISS), writes bench/results/<name>.json for each benchmark and bench/results/latest.md from
// this run alone (commit and date on top; files of earlier runs are never mixed in).
// `--compare REF` also builds REF in a temporary git worktree and runs each benchmark against that CLI right after
// ours (the order alternates from one benchmark to the next), on the same sandbox, so a regression shows as a ratio.
// Benchmarks never fail the process on a MISS: they print figures; a benchmark that throws shows as FAIL.
import { execFileSync, spawn } from 'node:child_process';
import { cpus, tmpdir, totalmem } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_ROOT, fmtMs, fmtRatio, ROOT, SandboxPool, type Benchmark, type Row } from './lib.js';

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
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: CLI_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: CLI_ROOT, encoding: 'utf8' }).trim();
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

export interface Comparison {
  ref: string;
  commit: string;
  files: ResultFile[];
}

function compareRows(ours: ResultFile[], theirs: ResultFile[]): string[][] {
  const rows: string[][] = [];
  for (const f of ours) {
    const other = theirs.find((t) => t.name === f.name);
    for (const r of f.rows) {
      const o = other?.rows.find((x) => x.benchmark === r.benchmark);
      const vs = r.value !== undefined && o?.value !== undefined && o.value > 0 ? fmtRatio(r.value / o.value) : '-';
      rows.push([r.benchmark, clip(r.figure, 40), o ? clip(o.figure, 40) : 'not measured', vs, r.verdict, o?.verdict ?? '-']);
    }
  }
  return rows;
}

const COMPARE_HEADERS = ['BENCHMARK', 'THIS COMMIT', 'REF', 'THIS/REF', 'RESULT', 'REF RESULT'];

/** latest.md: one run at one commit (and, with --compare, the same benchmarks at REF beside it). */
export function markdown(files: ResultFile[], meta: { commit: string; date: string }, compare?: Comparison): string {
  const out: string[] = [
    '# Benchmark results',
    '',
    `Commit **${meta.commit}**, run started ${meta.date}. Written by \`npm run bench\` (bench/run.ts) from this one run only,`,
    'after rebuilding the CLI it measures; every figure is measured on the sandbox (simulated API server, real',
    'redis-server) beside what a user would otherwise run, in the same run. Ratio = figure / baseline (below 1 is',
    'better for times). Targets come from the issues named in the notes.',
    '',
    '| Benchmark | Figure | Baseline | Ratio | Target | Result |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const f of files) for (const r of f.rows) out.push(`| ${cells(r).map(mdEscape).join(' | ')} |`);
  if (compare) {
    out.push('', `## Against ${compare.ref} (${compare.commit}), same run, same sandbox`, '', `| ${COMPARE_HEADERS.join(' | ')} |`, `| ${COMPARE_HEADERS.map(() => '---').join(' | ')} |`);
    for (const row of compareRows(files, compare.files)) out.push(`| ${row.map(mdEscape).join(' | ')} |`);
  }
  out.push('', '## Runs', '');
  for (const f of [...files, ...(compare?.files ?? [])]) {
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

/** Rebuild the CLI in `root` (dist/ and the manifest), so what is measured is what the checkout says. */
function build(root: string, log: (m: string) => void): void {
  const started = Date.now();
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  log(`built ${root} in ${fmtMs(Date.now() - started)}`);
}

/** REF checked out into a temporary worktree (sharing this checkout's node_modules) and built. */
function refWorktree(ref: string, log: (m: string) => void): { dir: string; commit: string; remove: () => void } {
  const commit = execFileSync('git', ['rev-parse', '--short', `${ref}^{commit}`], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dir = join(mkdtempSync(join(tmpdir(), 'kubectl-redis-bench-')), commit);
  execFileSync('git', ['worktree', 'add', '--detach', dir, commit], { cwd: ROOT, stdio: 'ignore' });
  const remove = (): void => {
    try {
      execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT, stdio: 'ignore' });
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    log(`${ref} is ${commit}, checked out in ${dir}`);
    build(dir, log);
  } catch (e) {
    remove();
    throw e;
  }
  return { dir, commit, remove };
}

/** One benchmark against REF's CLI: this bench code in a child process with KUBECTL_REDIS_CLI_ROOT set. */
function runAgainst(refDir: string, name: string, sandboxDir: string | undefined, log: (m: string) => void): Promise<ResultFile | undefined> {
  const out = join(refDir, `.bench-${name}.json`);
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECTL_REDIS_CLI_ROOT: refDir };
  if (sandboxDir) env.BENCH_SANDBOX_DIR = sandboxDir;
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), name, '--no-build', '--out', out], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('close', () => {
      try {
        resolvePromise((JSON.parse(readFileSync(out, 'utf8')) as ResultFile[])[0]);
      } catch {
        log(`${name} against the ref: no results`);
        resolvePromise(undefined);
      }
    });
  });
}

const USAGE = (all: Benchmark[]): string => `usage: npm run bench [-- [--compare REF] [--no-build] NAME...]   (no name: every benchmark, in this order)
  --compare REF  also run each benchmark against REF's CLI (built in a temporary git worktree), side by side
  --no-build     measure dist/ as it is (do not rebuild first)
benchmarks:
${all.map((b) => `  ${b.name.padEnd(14)} ${b.summary}`).join('\n')}`;

/** Run the named benchmarks (all when none is named); the exit code (0, or 2 on bad usage, 1 when one threw). */
export async function main(all: Benchmark[], argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('--list')) {
    process.stdout.write(`${USAGE(all)}\n`);
    return 0;
  }
  const valueOf = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const compareRef = valueOf('--compare');
  const outFile = valueOf('--out');
  const noBuild = argv.includes('--no-build');
  if ((argv.includes('--compare') && !compareRef) || (argv.includes('--out') && !outFile)) {
    process.stderr.write(`error: --compare and --out take a value\n${USAGE(all)}\n`);
    return 2;
  }
  const names = argv.filter((a, i) => !a.startsWith('-') && !['--compare', '--out'].includes(argv[i - 1] ?? ''));
  const unknown = names.filter((n) => !all.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`error: unknown benchmark ${unknown.map((u) => `"${u}"`).join(', ')}\n${USAGE(all)}\n`);
    return 2;
  }
  const selected = names.length > 0 ? all.filter((b) => names.includes(b.name)) : all;
  const t0 = Date.now();
  const log = (m: string): void => {
    process.stderr.write(`[bench${outFile ? ' ref' : ''} ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${m}\n`);
  };
  if (!noBuild) build(CLI_ROOT, log);
  const ref = compareRef ? refWorktree(compareRef, log) : undefined;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const pool = new SandboxPool(log);
  let interrupted = false;
  const onSignal = (sig: string): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${sig}: stopping the sandbox`);
    ref?.remove();
    pool.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const env = environment();
  const meta = { commit: String(env.commit), date: new Date(t0).toISOString() };
  const rows: Row[] = [];
  const files: ResultFile[] = [];
  const theirs: ResultFile[] = [];
  let failed = false;
  const runOne = async (b: Benchmark): Promise<ResultFile> => {
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
    return { name: b.name, summary: b.summary, startedAt: new Date(started).toISOString(), durationMs, environment: env, rows: got, detail };
  };
  try {
    for (const [i, b] of selected.entries()) {
      // with --compare, REF goes first every other benchmark: neither side always gets the warmer (or the busier) machine
      const refFirst = ref !== undefined && i % 2 === 1;
      const against = async (): Promise<void> => {
        if (!ref) return;
        const sandboxDir = await pool.demoDir();
        const r = await runAgainst(ref.dir, b.name, sandboxDir, log);
        if (r) theirs.push(r);
      };
      if (refFirst) await against();
      const file = await runOne(b);
      if (!refFirst) await against();
      rows.push(...file.rows);
      files.push(file);
      if (outFile) continue;
      writeAtomic(join(RESULTS_DIR, `${b.name}.json`), `${JSON.stringify(file, null, 2)}\n`);
      writeAtomic(join(RESULTS_DIR, 'latest.md'), markdown(files, meta, ref && compareRef ? { ref: compareRef, commit: ref.commit, files: theirs } : undefined));
    }
  } finally {
    await pool.close().catch((e: unknown) => log(`sandbox down failed: ${e instanceof Error ? e.message : String(e)}`));
    ref?.remove();
  }
  if (outFile) {
    writeAtomic(outFile, `${JSON.stringify(files)}\n`);
    return failed ? 1 : 0;
  }
  process.stdout.write(`\n${textTable(rows)}\n\n`);
  if (ref && compareRef) {
    const data = compareRows(files, theirs);
    const widths = COMPARE_HEADERS.map((h, i) => Math.max(h.length, ...data.map((d) => d[i].length)));
    const line = (c: string[]): string => c.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd();
    process.stdout.write(`against ${compareRef} (${ref.commit}):\n${[line(COMPARE_HEADERS), ...data.map(line)].join('\n')}\n\n`);
  }
  process.stdout.write(`bench: ${selected.length} benchmark(s) at ${meta.commit} in ${fmtMs(Date.now() - t0)}; results in bench/results/ (latest.md)\n`);
  return failed ? 1 : 0;
}
