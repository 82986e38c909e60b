// The single executable as krew installs it: the linux-amd64 archive of `npm run release` (reused when it is newer
// than every source, else built once here into a temporary directory with its own copy of plugin.yaml), its sha256
// against plugin.yaml, its contents, and the binary run with neither node nor node_modules: --help, --version,
// status against a sandbox, and kubectl's plugin completion through kubectl itself.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { ROOT, run, startSandbox, type RunResult, type TestSandbox } from '../support/sandbox.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const ARCHIVE = `${pkg.name}_${pkg.version}_linux_amd64.tar.gz`;
const supported = platform() === 'linux' && arch() === 'x64';

let work: string;
let archive: string;
let manifestPath: string;
let extracted: string;
let sandbox: TestSandbox | undefined;
let buildLog = '';

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newestMtime(join(path, n))));
}

/** The binary alone: no node on PATH, no node_modules near it. */
function bin(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run(join(extracted, 'kubectl-redis'), args, { cwd: extracted, env: { PATH: extracted, HOME: work, ...env }, timeoutMs: 20_000 });
}

before(async () => {
  if (!supported) return;
  work = mkdtempSync(join(tmpdir(), 'kubectl-redis-release-test-'));
  const sandboxUp = startSandbox({ preset: 'none', nodes: 1 });
  const built = join(ROOT, 'release', ARCHIVE);
  const sources = ['src', 'bin', 'scripts/release.mjs', 'package.json', 'package-lock.json', 'LICENSE'].map((p) => newestMtime(join(ROOT, p)));
  if (existsSync(built) && statSync(built).mtimeMs > Math.max(...sources)) {
    archive = built;
    manifestPath = join(ROOT, 'plugin.yaml');
  } else {
    const out = join(work, 'release');
    manifestPath = join(work, 'plugin.yaml');
    copyFileSync(join(ROOT, 'plugin.yaml'), manifestPath);
    const r = await run(process.execPath, [join(ROOT, 'scripts', 'release.mjs'), '--platforms', 'linux-x64', '--out', out, '--manifest', manifestPath], { timeoutMs: 120_000 });
    buildLog = `${r.stdout}${r.stderr}`;
    archive = join(out, ARCHIVE);
    if (r.code !== 0) {
      await (await sandboxUp).down();
      throw new Error(`npm run release failed (${r.code}): ${buildLog}`);
    }
  }
  extracted = join(work, 'x');
  mkdirSync(extracted);
  const x = await run('tar', ['-xzf', archive, '-C', extracted]);
  assert.equal(x.code, 0, x.stderr);
  sandbox = await sandboxUp;
});

after(async () => {
  await sandbox?.down();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('plugin.yaml names the archive and its sha256', { skip: !supported && 'linux-x64 only' }, () => {
  const manifest = parse(readFileSync(manifestPath, 'utf8')) as { spec: { version: string; platforms: Array<{ selector: { matchLabels: Record<string, string> }; uri: string; sha256: string; bin: string }> } };
  assert.equal(manifest.spec.version, `v${pkg.version}`);
  const p = manifest.spec.platforms.find((x) => x.selector.matchLabels.os === 'linux' && x.selector.matchLabels.arch === 'amd64');
  assert.ok(p, 'no linux/amd64 platform in plugin.yaml');
  assert.equal(basename(p.uri), ARCHIVE);
  const sha = createHash('sha256').update(readFileSync(archive)).digest('hex');
  assert.equal(p.sha256, sha, `plugin.yaml's sha256 is not the archive's${buildLog ? `\n${buildLog}` : ''}`);
  assert.ok(existsSync(join(extracted, p.bin)), `bin ${p.bin} is not in the archive`);
});

test('the archive holds the binary, the completer and LICENSE, executable', { skip: !supported && 'linux-x64 only' }, () => {
  assert.deepEqual(readdirSync(extracted).sort(), ['LICENSE', 'kubectl-redis', 'kubectl_complete-redis']);
  for (const f of ['kubectl-redis', 'kubectl_complete-redis']) assert.ok(statSync(join(extracted, f)).mode & 0o111, `${f} is not executable`);
  assert.equal(readFileSync(join(extracted, 'LICENSE'), 'utf8'), readFileSync(join(ROOT, 'LICENSE'), 'utf8'));
});

test('--help runs without node and lists every command in src/commands', { skip: !supported && 'linux-x64 only' }, async () => {
  const r = await bin(['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'nothing on stderr (no SEA or engine warnings)');
  const commands = r.stdout.slice(r.stdout.indexOf('COMMANDS'));
  const dir = join(ROOT, 'src', 'commands');
  const ids = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !/static (override )?hidden = true/.test(readFileSync(join(dir, f), 'utf8')))
    .map((f) => f.replace(/\.ts$/, '').replace(/\/index$/, '').split('/')[0] ?? '');
  assert.ok(ids.length > 0);
  for (const id of new Set(ids)) assert.match(commands, new RegExp(`^  ${id}\\b`, 'm'), `${id} is missing from --help`);
});

test('--version names this version', { skip: !supported && 'linux-x64 only' }, async () => {
  const r = await bin(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^${pkg.name}/${pkg.version.replace(/\./g, '\\.')} linux-x64 node-v`));
});

test('status reaches the sandbox', { skip: !supported && 'linux-x64 only' }, async () => {
  const r = await bin(['status', '-A', '-o', 'json'], { KUBECONFIG: sandbox?.kubeconfig ?? '' });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotThrow(() => JSON.parse(r.stdout), `not JSON: ${r.stdout}`);
});

test('kubectl completes `kubectl redis` through kubectl_complete-redis', { skip: !supported && 'linux-x64 only' }, async () => {
  const env = { ...process.env, PATH: `${extracted}:${process.env.PATH}`, KUBECONFIG: sandbox?.kubeconfig ?? '' };
  const commands = await run('kubectl', ['__complete', 'redis', 'st'], { env });
  assert.equal(commands.code, 0, commands.stderr);
  assert.match(commands.stdout, /^status(\t.*)?$/m);
  assert.match(commands.stdout, /^:4$/m);
  const flags = await run('kubectl', ['__complete', 'redis', 'status', '--out'], { env });
  assert.match(flags.stdout, /^--output\t/m);
  const namespaces = await run('kubectl', ['__complete', 'redis', 'status', '-n', ''], { env });
  assert.match(namespaces.stdout, /^kube-system$/m, namespaces.stdout + namespaces.stderr);
});

test('the binary linked as kubectl_complete-redis answers the protocol itself', { skip: !supported && 'linux-x64 only' }, async () => {
  const link = join(work, 'kubectl_complete-redis');
  symlinkSync(join(extracted, 'kubectl-redis'), link);
  const r = await run(link, ['status', '-o', ''], { env: { PATH: extracted, HOME: work } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['table', 'wide', 'json', 'yaml', ':4']);
});
