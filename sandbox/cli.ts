// `npm run sandbox -- <up|down|fault|user> ...`: the sandbox's command line (see shared/design/SANDBOX.md).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { releaseSlot } from './core/ipslot.js';
import { addSandboxUser } from './apiserver/kubeconfig.js';
import { KUBE_MINORS } from './apiserver/discovery.js';

class UsageError extends Error {}

const USAGE = `usage:
  sandbox up    --dir DIR [--clusters east,west] [--nodes 3] [--preset demo|none|NAME] [--kube-version 1.32|1.35] [--detach]
  sandbox down  --dir DIR
  sandbox fault --dir DIR <latency|error|drop-watches|unreachable|clear|list|node-reboot|node-hang|node-resume|kill|freeze|thaw> [--cluster C]
                [--ms N] [--seconds N] [--code 409|429|500] [--verbs get,list] [--resource pods/eviction] [--count N]
                [--node NODE] [--namespace NS] [--pod POD] [--container C]
  sandbox user  --dir DIR --name NAME [--group G]...
  sandbox node-file --dir DIR --node NODE [--cluster C] [--path /var/run/reboot-required] [--content TEXT] [--remove]
                (a file on the node's host filesystem, as unattended-upgrades writes /var/run/reboot-required)`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function requireDir(v: string | undefined): string {
  if (!v) throw new UsageError('--dir is required');
  return resolve(v);
}

async function up(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string' },
      clusters: { type: 'string', default: 'east' },
      nodes: { type: 'string', default: '3' },
      preset: { type: 'string', default: 'none' },
      'kube-version': { type: 'string', default: '1.32' },
      detach: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const kv = /^v?1\.(\d+)$/.exec(String(values['kube-version']));
  const kubeMinor = kv ? Number(kv[1]) : NaN;
  if (!(KUBE_MINORS as readonly number[]).includes(kubeMinor)) {
    throw new UsageError(`--kube-version takes ${KUBE_MINORS.map((m) => `1.${m}`).join(' or ')} (the versions whose authorization the sandbox copies), not "${values['kube-version']}"`);
  }
  const dir = requireDir(values.dir);
  mkdirSync(dir, { recursive: true });
  const pidFile = join(dir, 'sandbox.pid');
  const running = readPid(pidFile);
  if (running !== undefined && running !== process.pid && alive(running)) throw new Error(`a sandbox is already running in ${dir} (pid ${running}); run down first`);
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes)) throw new UsageError(`--nodes must be a number, not "${values.nodes}"`);
  const clusters = String(values.clusters).split(',').map((c) => c.trim()).filter(Boolean);
  const readyFile = join(dir, 'ready');
  rmSync(readyFile, { force: true });

  if (values.detach) {
    const logFile = join(dir, 'sandbox.log');
    const out = openSync(logFile, 'w');
    const args = ['up', '--dir', dir, '--clusters', clusters.join(','), '--nodes', String(nodes), '--preset', String(values.preset), '--kube-version', `1.${kubeMinor}`];
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...args], { detached: true, stdio: ['ignore', out, out], env: process.env });
    closeSync(out);
    writeFileSync(pidFile, `${child.pid}\n`);
    let exited: number | null | undefined;
    child.on('exit', (code) => {
      exited = code;
    });
    child.unref();
    const deadline = Date.now() + Number(process.env.SANDBOX_UP_TIMEOUT_MS ?? 600_000);
    while (!existsSync(readyFile)) {
      if (exited !== undefined || Date.now() > deadline) {
        const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n') : '';
        if (exited === undefined && child.pid) process.kill(child.pid, 'SIGTERM');
        throw new Error(`sandbox did not come up (${exited !== undefined ? `exited with ${exited}` : 'timed out'}); log tail:\n${tail}`);
      }
      await sleep(100);
    }
    process.stdout.write(`export KUBECONFIG=${join(dir, 'kubeconfig')}\n`);
    return;
  }

  writeFileSync(pidFile, `${process.pid}\n`);
  const { startSandbox } = await import('./cluster.js');
  const sandbox = await startSandbox({ dir, clusters, nodes, preset: String(values.preset), kubeMinor });
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${new Date().toISOString()} ${signal}: stopping the sandbox\n`);
    sandbox
      .stop()
      .catch((e: unknown) => process.stderr.write(`stop: ${e instanceof Error ? e.message : String(e)}\n`))
      .finally(() => {
        rmSync(readyFile, { force: true });
        if (readPid(pidFile) === process.pid) rmSync(pidFile, { force: true });
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));
  writeFileSync(readyFile, `${new Date().toISOString()}\n`);
  process.stdout.write(`export KUBECONFIG=${sandbox.kubeconfig}\n`);
  setInterval(() => undefined, 1 << 30);
}

/** SIGKILL every process the kubelets recorded under DIR/pids/. */
function killRecorded(dir: string): number {
  const pidsDir = join(dir, 'pids');
  if (!existsSync(pidsDir)) return 0;
  let n = 0;
  for (const f of readdirSync(pidsDir)) {
    const pid = Number(f);
    if (Number.isInteger(pid) && pid > 1 && pid !== process.pid && alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
        n++;
      } catch {
        // gone meanwhile
      }
    }
    rmSync(join(pidsDir, f), { force: true });
  }
  return n;
}

async function down(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { dir: { type: 'string' } }, strict: true });
  const dir = requireDir(values.dir);
  const pidFile = join(dir, 'sandbox.pid');
  const pid = readPid(pidFile);
  if (pid !== undefined && alive(pid)) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 20_000;
    while (alive(pid) && Date.now() < deadline) await sleep(100);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  killRecorded(dir);
  const slotFile = join(dir, 'slot');
  if (existsSync(slotFile)) {
    const [slot, holder] = readFileSync(slotFile, 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(slot) && Number.isInteger(holder)) releaseSlot(slot, holder);
    unlinkSync(slotFile);
  }
  rmSync(join(dir, 'ready'), { force: true });
  rmSync(pidFile, { force: true });
}

interface ClusterAccess {
  server: string;
  ca: string;
  token: string;
}

function clusterAccess(dir: string, cluster: string | undefined): ClusterAccess {
  const file = join(dir, 'kubeconfig');
  if (!existsSync(file)) throw new Error(`no sandbox in ${dir}: ${file} is missing`);
  const cfg = parseYaml(readFileSync(file, 'utf8')) as {
    clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data': string } }>;
    'current-context': string;
  };
  const name = cluster ?? cfg['current-context'];
  const c = cfg.clusters.find((x) => x.name === name);
  if (!c) throw new Error(`no cluster "${name}" in ${file} (have: ${cfg.clusters.map((x) => x.name).join(', ')})`);
  const tokens = readFileSync(join(dir, 'tokens.csv'), 'utf8').split('\n');
  const admin = tokens.map((l) => l.split(',')).find((f) => f[1] === 'admin');
  if (!admin) throw new Error(`no admin token in ${join(dir, 'tokens.csv')}`);
  return { server: c.cluster.server, ca: Buffer.from(c.cluster['certificate-authority-data'], 'base64').toString('utf8'), token: admin[0] };
}

function call(access: ClusterAccess, method: string, path: string, body?: unknown): Promise<{ code: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const url = new URL(path, access.server);
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        ca: access.ca,
        headers: { Authorization: `Bearer ${access.token}`, 'Content-Type': 'application/json', ...(data ? { 'Content-Length': Buffer.byteLength(data) } : {}) },
        timeout: 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolvePromise({ code: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.href} timed out`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

async function fault(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      cluster: { type: 'string' },
      ms: { type: 'string' },
      seconds: { type: 'string' },
      code: { type: 'string' },
      verbs: { type: 'string' },
      resource: { type: 'string' },
      count: { type: 'string' },
      node: { type: 'string' },
      namespace: { type: 'string' },
      pod: { type: 'string' },
      container: { type: 'string' },
    },
    strict: true,
  });
  const dir = requireDir(values.dir);
  const kind = positionals[0];
  if (!kind || positionals.length > 1) throw new UsageError('fault takes exactly one kind');
  const access = clusterAccess(dir, values.cluster);
  if (kind === 'list') {
    const r = await call(access, 'GET', '/sandbox/v1/faults');
    if (r.code !== 200) throw new Error(`listing faults failed (${r.code}): ${r.body}`);
    process.stdout.write(r.body + '\n');
    return;
  }
  const num = (v: string | undefined, flag: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, not "${v}"`);
    return n;
  };
  const spec: Record<string, unknown> = { kind };
  const set = (k: string, v: unknown): void => {
    if (v !== undefined) spec[k] = v;
  };
  set('ms', num(values.ms, 'ms'));
  set('seconds', num(values.seconds, 'seconds'));
  set('code', num(values.code, 'code'));
  set('count', num(values.count, 'count'));
  set('verbs', values.verbs?.split(',').filter(Boolean));
  set('resource', values.resource);
  set('node', values.node);
  set('namespace', values.namespace);
  set('pod', values.pod);
  set('container', values.container);
  const need: Record<string, string[]> = {
    latency: ['ms'],
    error: ['code'],
    unreachable: ['seconds'],
    'node-reboot': ['node'],
    'node-hang': ['node'],
    'node-resume': ['node'],
    kill: ['namespace', 'pod'],
    freeze: ['namespace', 'pod'],
    thaw: ['namespace', 'pod'],
    'drop-watches': [],
    clear: [],
  };
  if (!(kind in need)) throw new UsageError(`unknown fault "${kind}"`);
  for (const f of need[kind]) if (spec[f] === undefined) throw new UsageError(`fault ${kind} needs --${f}`);
  const r = await call(access, 'POST', '/sandbox/v1/faults', spec);
  if (r.code !== 200) {
    let msg = r.body;
    try {
      msg = (JSON.parse(r.body) as { message?: string }).message ?? r.body;
    } catch {
      // not JSON
    }
    throw new Error(`fault ${kind} failed (${r.code}): ${msg}`);
  }
  process.stdout.write(`fault ${kind} injected in ${values.cluster ?? 'the current cluster'}\n`);
}

async function user(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { dir: { type: 'string' }, name: { type: 'string' }, group: { type: 'string', multiple: true } }, strict: true });
  const dir = requireDir(values.dir);
  if (!values.name) throw new UsageError('--name is required');
  const out = addSandboxUser(dir, values.name, values.group ?? []);
  process.stdout.write(`user ${values.name} added; contexts: ${out.contexts.join(', ')}\n`);
}

/**
 * Writes (or removes) a file on a simulated node's host filesystem: the directory hostPath volumes of pods on that
 * node see (kubelet/volumes.ts). Debian's update-notifier / unattended-upgrades touch /var/run/reboot-required when an
 * update needs a reboot, and Kured's --reboot-sentinel looks for that file; /run is a tmpfs, so a reboot clears it
 * (the kubelet's reboot empties <node root>/run and /var/run).
 */
async function nodeFile(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { dir: { type: 'string' }, node: { type: 'string' }, cluster: { type: 'string' }, path: { type: 'string' }, content: { type: 'string' }, remove: { type: 'boolean' } },
    strict: true,
  });
  const dir = requireDir(values.dir);
  if (!values.node) throw new UsageError('--node is required');
  const path = values.path ?? '/var/run/reboot-required';
  if (!path.startsWith('/') || path.split('/').includes('..')) throw new UsageError(`--path must be an absolute path without "..", not "${path}"`);
  const cfg = parseYaml(readFileSync(join(dir, 'kubeconfig'), 'utf8')) as { 'current-context': string };
  const cluster = values.cluster ?? cfg['current-context'];
  const nodeDir = join(dir, cluster, 'nodes', values.node);
  if (!existsSync(nodeDir)) throw new UsageError(`no node "${values.node}" in cluster "${cluster}" of ${dir}`);
  const file = join(nodeDir, 'root', path);
  if (values.remove) {
    rmSync(file, { force: true });
    process.stdout.write(`removed ${path} on ${values.node}\n`);
    return;
  }
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, values.content ?? '*** System restart required ***\n');
  process.stdout.write(`wrote ${path} on ${values.node}\n`);
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  switch (cmd) {
    case 'up':
      return up(rest);
    case 'down':
      return down(rest);
    case 'fault':
      return fault(rest);
    case 'user':
      return user(rest);
    case 'node-file':
      return nodeFile(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      if (cmd === undefined) process.exitCode = 2;
      return;
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`sandbox: ${msg}\n`);
  if (e instanceof UsageError) process.stderr.write(USAGE + '\n');
  process.exit(e instanceof UsageError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 2 : 1);
});
