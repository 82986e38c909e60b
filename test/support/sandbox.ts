// The helper every e2e test uses: a detached sandbox in a fresh temporary directory, kubectl and the plugin's
// CLI pointed at it, and down() at the end.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** kubeconfig context (cluster name, or `<user>@<cluster>`). */
  context?: string;
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface SandboxOptions {
  clusters?: string[];
  nodes?: number;
  preset?: string;
  /** Use this directory instead of a fresh temporary one. */
  dir?: string;
  upTimeoutMs?: number;
  /** `sandbox up --kube-version`: the Kubernetes version the clusters report and authorize as (default 1.32). */
  kubeVersion?: string;
}

export interface TestSandbox {
  dir: string;
  kubeconfig: string;
  env: Record<string, string>;
  kubectl(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Run the plugin (kubectl-redis) against the sandbox. */
  cli(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** The plugin as a child to watch while it runs: its stderr line by line, its pid, kill(). */
  spawnCli(args: string[], opts?: LiveOptions): LiveCli;
  /** Run `sandbox <cmd>` (fault, user...) against this sandbox's directory. */
  sandbox(args: string[], opts?: RunOptions): Promise<RunResult>;
  down(): Promise<void>;
}

export interface LiveOptions {
  env?: Record<string, string>;
  /** Each whole line of stderr as it comes. */
  onLine?: (line: string) => void;
  /** Then SIGKILL, and code 124. Default 10 minutes. */
  timeoutMs?: number;
}

export interface LiveResult extends RunResult {
  /** Wall time from spawn to exit. */
  ms: number;
}

export interface LiveCli {
  pid: number;
  /** Exit code: the process's own, 137 when SIGKILLed (by itself or by kill()), 124 on the timeout. */
  result: Promise<LiveResult>;
  stderr(): string;
  kill(): void;
}

/** Spawn a child whose stderr can be watched as it runs (see LiveCli). */
export function spawnLive(cmd: string, args: string[], env: NodeJS.ProcessEnv, opts: LiveOptions = {}): LiveCli {
  const started = Date.now();
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let partial = '';
  let timedOut = false;
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    partial += c.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) opts.onLine?.(l);
  });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 600_000);
  const result = new Promise<LiveResult>((resolvePromise, reject) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (timedOut ? 124 : signal === 'SIGKILL' ? 137 : 1), stdout, stderr, ms: Date.now() - started });
    });
  });
  return { pid: child.pid ?? -1, result, stderr: () => stderr, kill: () => child.kill('SIGKILL') };
}

/** Run a command, bounded by a timeout (then SIGKILL and code 124). */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 124 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // the child may exit before reading its input
    child.stdin.end(opts.input ?? '');
  });
}

function tsxArgs(script: string): string[] {
  return ['--import', 'tsx', join(ROOT, script)];
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<TestSandbox> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'kubectl-redis-sandbox-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const env: Record<string, string> = { KUBECONFIG: kubeconfig };
  const childEnv = (extra?: Record<string, string>): NodeJS.ProcessEnv => ({ ...process.env, ...env, ...(extra ?? {}) });
  const sandboxCmd = (args: string[], o: RunOptions = {}): Promise<RunResult> =>
    run(process.execPath, [...tsxArgs('sandbox/cli.ts'), ...args], { env: childEnv(o.env), input: o.input, timeoutMs: o.timeoutMs ?? 60_000 });
  const upArgs = ['up', '--dir', dir, '--clusters', (opts.clusters ?? ['east']).join(','), '--nodes', String(opts.nodes ?? 3), '--preset', opts.preset ?? 'none', ...(opts.kubeVersion ? ['--kube-version', opts.kubeVersion] : []), '--detach'];
  const up = await sandboxCmd(upArgs, { timeoutMs: opts.upTimeoutMs ?? 300_000 });
  if (up.code !== 0) {
    await sandboxCmd(['down', '--dir', dir]);
    throw new Error(`sandbox up failed (${up.code}; its files are kept in ${dir}): ${up.stderr.trim()}`);
  }
  return sandboxAt(dir, async () => {
    const r = await sandboxCmd(['down', '--dir', dir]);
    if (r.code !== 0) throw new Error(`sandbox down failed (${r.code}): ${r.stderr.trim()}`);
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  });
}

/** The handle on a sandbox that runs in `dir`; `down` is what ending it means to the caller. */
export function sandboxAt(dir: string, down: () => Promise<void>): TestSandbox {
  const kubeconfig = join(dir, 'kubeconfig');
  // kubectl caches API discovery per server host:port for 10 minutes: a sandbox started on a port an earlier one used
  // (with other CRDs, or another version of them) would be asked for resources it does not serve. One cache each.
  const env: Record<string, string> = { KUBECONFIG: kubeconfig, KUBECACHEDIR: join(dir, 'kube-cache') };
  const childEnv = (extra?: Record<string, string>): NodeJS.ProcessEnv => ({ ...process.env, ...env, ...(extra ?? {}) });
  // the CLI under test: this checkout's, or another build's (`npm run bench -- --compare REF` runs a worktree's)
  const cliRoot = process.env.KUBECTL_REDIS_CLI_ROOT ? resolve(process.env.KUBECTL_REDIS_CLI_ROOT) : ROOT;
  const pluginEntry = existsSync(join(cliRoot, 'bin/run.js')) && existsSync(join(cliRoot, 'dist')) ? 'bin/run.js' : 'bin/dev.js';
  const plugin = [...(pluginEntry === 'bin/dev.js' ? ['--import', 'tsx'] : []), join(cliRoot, pluginEntry)];
  return {
    dir,
    kubeconfig,
    env,
    kubectl: (args, o = {}) => run('kubectl', [...(o.context ? ['--context', o.context] : []), ...args], { env: childEnv(o.env), input: o.input, timeoutMs: o.timeoutMs }),
    cli: (args, o = {}) => run(process.execPath, [...plugin, ...args, ...(o.context ? ['--context', o.context] : [])], { env: childEnv(o.env), input: o.input, timeoutMs: o.timeoutMs }),
    spawnCli: (args, o = {}) => spawnLive(process.execPath, [...plugin, ...args], childEnv(o.env), o),
    sandbox: (args, o = {}) => run(process.execPath, [...tsxArgs('sandbox/cli.ts'), ...args, '--dir', dir], { env: childEnv(o.env), input: o.input, timeoutMs: o.timeoutMs ?? 60_000 }),
    down,
  };
}
