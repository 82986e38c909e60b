// What every benchmark shares: the row it reports, timing a command, peak RSS of a child process, a sandbox context
// shared by the benchmarks of one run, and formatting.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, sandboxAt, startSandbox, type RunResult, type TestSandbox } from '../test/support/sandbox.js';
import { clusterCheckResult, pods as podViews, redisCli, sleep } from '../test/support/redis.js';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** The checkout whose built CLI is measured: this one, or the worktree `--compare REF` built (KUBECTL_REDIS_CLI_ROOT). */
export const CLI_ROOT = process.env.KUBECTL_REDIS_CLI_ROOT ? resolve(process.env.KUBECTL_REDIS_CLI_ROOT) : ROOT;
export const CLI = join(CLI_ROOT, 'bin', 'run.js');
export { run, type RunResult, type TestSandbox };

export type Verdict = 'PASS' | 'MISS' | 'FAIL' | 'n/a';

/** One line of the results table. Figures are milliseconds unless `unit` says otherwise. */
export interface Row {
  benchmark: string;
  /** The figure as printed ("1.23 s", "0 lost"). */
  figure: string;
  value?: number;
  unit?: 'ms' | 'MB' | 'writes' | 'count';
  /** What a user would otherwise run, and its figure. */
  baseline?: string;
  baselineValue?: number;
  /** value / baselineValue (smaller is better for times). */
  ratio?: number;
  /** The target as a sentence ("<= 0.3 s", "<= 1 s and >= 10x shorter"), and where it comes from. */
  target: string;
  targetFrom?: string;
  verdict: Verdict;
  note?: string;
}

export interface BenchContext {
  /** The demo sandbox, started on first use and shared by every benchmark of the run. */
  demo(): Promise<TestSandbox>;
  /** A sandbox with clusters east and west and `preset` in east, started on first use; stopped at the end. */
  twoClusters(preset: string): Promise<TestSandbox>;
  /** Stop that sandbox now (its servers would share the CPU with later benchmarks). */
  releaseTwoClusters(preset: string): Promise<void>;
  log(msg: string): void;
  /** Extra detail a benchmark wants in its JSON file (probe reports, raw samples). */
  detail: Record<string, unknown>;
}

export interface Benchmark {
  name: string;
  summary: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function ratio(value: number | undefined, baseline: number | undefined): number | undefined {
  if (value === undefined || baseline === undefined || !Number.isFinite(value) || !Number.isFinite(baseline) || baseline <= 0) return undefined;
  return value / baseline;
}

export function fmtRatio(r: number | undefined): string {
  if (r === undefined) return '-';
  return r >= 10 ? `${r.toFixed(0)}x` : `${r.toFixed(2)}x`;
}

export function verdict(ok: boolean): Verdict {
  return ok ? 'PASS' : 'MISS';
}

/** A row for something that could not be measured (failed, or not built yet). */
export function unavailable(benchmark: string, target: string, why: string, v: Verdict = 'n/a'): Row {
  return { benchmark, figure: why, target, verdict: v };
}

/** Wall time of one command (undefined when it exits non-zero); its output is kept for the caller. */
export async function timed(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ ms: number; r: RunResult }> {
  const started = process.hrtime.bigint();
  const r = await run(cmd, args, { env: opts.env, timeoutMs: opts.timeoutMs ?? 120_000 });
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, r };
}

/** Median wall time of `runs` runs after one warm-up run; undefined when any run fails. */
export async function medianOf(runs: number, cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ ms?: number; samples: number[]; error?: string }> {
  const warm = await timed(cmd, args, { env });
  if (warm.r.code !== 0) return { samples: [], error: `${cmd} ${args.join(' ')} exited ${warm.r.code}: ${(warm.r.stderr || warm.r.stdout).trim().split('\n').slice(-3).join(' ')}` };
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = await timed(cmd, args, { env });
    if (t.r.code !== 0) return { samples, error: `${cmd} ${args.join(' ')} exited ${t.r.code}: ${(t.r.stderr || t.r.stdout).trim().split('\n').slice(-3).join(' ')}` };
    samples.push(t.ms);
  }
  return { ms: median(samples), samples };
}

/**
 * Run a command and sample its peak resident set size: VmHWM from /proc/PID/status (the kernel's own high-water mark,
 * read until the process exits), or the largest VmRSS seen when VmHWM is missing.
 */
export function withPeakRss(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ ms: number; code: number; stdout: string; stderr: string; peakRssMB?: number }> {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakKb = 0;
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const statusFile = `/proc/${child.pid}/status`;
    const sample = (): void => {
      try {
        const text = readFileSync(statusFile, 'utf8');
        const hwm = /VmHWM:\s+(\d+) kB/.exec(text) ?? /VmRSS:\s+(\d+) kB/.exec(text);
        if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
      } catch {
        // exited between samples: the last sample stands
      }
    };
    const poll = setInterval(sample, 20);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    // the last chance to read VmHWM is before the zombie is reaped: 'exit' fires first, streams may still be open
    child.on('exit', sample);
    child.on('error', (e) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolvePromise({
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        code: code ?? (signal ? 124 : 1),
        stdout,
        stderr,
        peakRssMB: peakKb > 0 && existsSync('/proc') ? peakKb / 1024 : undefined,
      });
    });
  });
}

/** Poll `check` every `everyMs` until it is true; the elapsed milliseconds, or undefined on timeout. */
export async function timeUntil(check: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<number | undefined> {
  const started = Date.now();
  for (;;) {
    try {
      if (await check()) return Date.now() - started;
    } catch {
      // not yet
    }
    if (Date.now() - started > timeoutMs) return undefined;
    await sleep(everyMs);
  }
}

/** The sandbox shared by one bench run: started on first use with the demo preset, stopped at the end. */
export class SandboxPool {
  private demoSb?: Promise<TestSandbox>;

  constructor(private readonly log: (m: string) => void) {}

  demo(): Promise<TestSandbox> {
    const attach = process.env.BENCH_SANDBOX_DIR;
    if (!this.demoSb && attach) {
      this.log(`using the running sandbox in ${attach} (BENCH_SANDBOX_DIR; it is left running)`);
      this.demoSb = Promise.resolve(attachSandbox(attach));
    }
    if (!this.demoSb) {
      this.log('starting the demo sandbox (sandbox up --preset demo)');
      const started = Date.now();
      this.demoSb = startSandbox({ preset: 'demo', upTimeoutMs: 420_000 }).then((sb) => {
        this.log(`sandbox up in ${fmtMs(Date.now() - started)} (${sb.dir})`);
        return sb;
      });
    }
    return this.demoSb;
  }

  /** The demo sandbox's directory when it is up (for a child run to attach to), without starting it. */
  async demoDir(): Promise<string | undefined> {
    return (await this.demoSb?.catch(() => undefined))?.dir;
  }

  private readonly others = new Map<string, Promise<TestSandbox>>();

  twoClusters(preset: string): Promise<TestSandbox> {
    let sb = this.others.get(preset);
    if (!sb) {
      this.log(`starting a sandbox with clusters east and west (preset ${preset})`);
      sb = startSandbox({ clusters: ['east', 'west'], preset, upTimeoutMs: 420_000 });
      this.others.set(preset, sb);
    }
    return sb;
  }

  async release(preset: string): Promise<void> {
    const p = this.others.get(preset);
    this.others.delete(preset);
    const sb = await p?.catch(() => undefined);
    if (sb) await sb.down();
  }

  async close(): Promise<void> {
    const all = [this.demoSb, ...this.others.values()].filter((x): x is Promise<TestSandbox> => x !== undefined);
    this.demoSb = undefined;
    this.others.clear();
    for (const p of all) {
      const sb = await p.catch(() => undefined);
      if (sb) await sb.down();
    }
  }
}

/** A sandbox someone else started (`sandbox up --dir DIR --preset demo --detach`): used as is, never stopped. */
export function attachSandbox(dir: string): TestSandbox {
  if (!existsSync(join(resolve(dir), 'kubeconfig'))) throw new Error(`BENCH_SANDBOX_DIR: no kubeconfig in ${dir}`);
  return sandboxAt(resolve(dir), async () => undefined);
}

export interface PodAddr {
  name: string;
  ip: string;
  node: string;
  ready: boolean;
}

export async function pods(sb: TestSandbox, ns: string, selector: string, context?: string): Promise<PodAddr[]> {
  const r = await sb.kubectl(['get', 'pods', '-n', ns, '-l', selector, '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.podIP} {.spec.nodeName} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'], { timeoutMs: 60_000, context });
  if (r.code !== 0) throw new Error(`kubectl get pods -l ${selector}: ${r.stderr.trim()}`);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => {
    const [name, ip, node, ready] = l.split(' ');
    return { name, ip: ip ?? '', node: node ?? '', ready: ready === 'True' };
  }).sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}

/** Every replica among these nodes has its replication link up (a cluster check passes while a replica still syncs). */
export async function replicasLinked(password: string, ips: string[]): Promise<boolean> {
  return (await replicaLinkState(password, ips)) === 'linked';
}

/**
 * 'linked': every replica's link up, to an address some pod has now; 'stale-ip': a replica follows an address no
 * pod has (a master's old IP); 'down': a link down to a current address (reconnecting or syncing); 'unknown': a pod
 * did not answer.
 */
export async function replicaLinkState(password: string, ips: string[]): Promise<'linked' | 'stale-ip' | 'down' | 'unknown'> {
  let state: 'linked' | 'down' = 'linked';
  for (const ip of ips) {
    const info = (await redisCli(ip, 6379, password, ['INFO', 'replication'], 10_000)).stdout;
    if (!info.includes('role:')) return 'unknown';
    if (!info.includes('role:slave')) continue;
    const host = /^master_host:(.*)$/m.exec(info)?.[1]?.trim();
    if (!host || !ips.includes(host)) return 'stale-ip';
    if (!info.includes('master_link_status:up')) state = 'down';
  }
  return state;
}

/**
 * Replicas whose link is down re-pointed at the master they already follow (`CLUSTER REPLICATE <its id>`): after
 * every pod restarted, a replica can keep its master's old IP while gossip knows the new one. Returns the pods fixed.
 */
export async function relinkReplicas(password: string, nodes: PodAddr[]): Promise<string[]> {
  const fixed: string[] = [];
  for (const p of nodes) {
    const info = (await redisCli(p.ip, 6379, password, ['INFO', 'replication'], 10_000)).stdout;
    if (!info.includes('role:slave') || info.includes('master_link_status:up')) continue;
    const me = (await redisCli(p.ip, 6379, password, ['CLUSTER', 'NODES'], 10_000)).stdout.split('\n').find((l) => l.split(' ')[2]?.includes('myself'));
    const master = me?.split(' ')[3];
    if (!master || master === '-') continue;
    const r = await redisCli(p.ip, 6379, password, ['CLUSTER', 'REPLICATE', master], 10_000);
    if (r.stdout.trim() === 'OK') fixed.push(p.name);
  }
  return fixed;
}

export function cliAvailable(command: string): Promise<boolean> {
  return run(process.execPath, [CLI, command, '--help'], { timeoutMs: 30_000 }).then((r) => r.code === 0 && !/not found/i.test(r.stderr));
}

/**
 * A group healthy enough to measure again: every pod Ready; a cluster passes redis-cli --cluster check (and, with
 * `linked`, every replica's link is up); a Sentinel or replication group has one master and every replica linked.
 */
export async function groupHealthy(sb: TestSandbox, ns: string, s: { selector: string; mode: string }, password: string, linked = false): Promise<boolean> {
  const ps = await podViews(sb, ns, s.selector);
  if (ps.length === 0 || ps.some((p) => !p.ready || !p.ip)) return false;
  if (s.mode === 'cluster') return (await clusterCheckResult(password, ps[0].ip, 30_000)).ok && (!linked || (await replicasLinked(password, ps.map((p) => p.ip))));
  let masters = 0;
  for (const p of ps) {
    const info = (await redisCli(p.ip, 6379, password, ['INFO', 'replication'], 10_000)).stdout;
    if (info.includes('role:master')) masters++;
    else if (!info.includes('master_link_status:up')) return false;
  }
  return masters === 1;
}
