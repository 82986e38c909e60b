// scripts/setup.mjs, the set-up before `npm run demo`, `npm test` and .ci/run: run as a process with a PATH made of
// links to the real tools, leaving out the ones a fresh machine would lack; --dry-run, so nothing is installed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const SETUP = join(ROOT, 'scripts', 'setup.mjs');
const TOOLS = ['redis-server', 'redis-sentinel', 'redis-cli', 'openssl', 'unzip', 'kubectl', 'apt-get', 'sudo'];

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Run setup.mjs with PATH = a directory holding links to the real TOOLS except `without`. */
function runSetup(without: string[], args: string[] = ['--dry-run']): { code: number | null; out: string; err: string } {
  const dir = mkdtempSync(join(tmpdir(), 'setup-path-'));
  try {
    for (const t of TOOLS) {
      if (without.includes(t)) continue;
      const real = which(t);
      if (t === 'sudo' && !real) continue; // only used when not root
      assert.ok(real, `${t} must be on this machine's PATH for the test to build a PATH from it`);
      symlinkSync(real, join(dir, t));
    }
    const r = spawnSync(process.execPath, [SETUP, ...args], { encoding: 'utf8', env: { PATH: dir, CI: 'true' }, input: '' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const root = process.getuid?.() === 0;
const sudo = root ? '' : 'sudo -n ';

test('everything on PATH: nothing to install, exit 0', () => {
  const r = runSetup([]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /nothing to install/);
  assert.doesNotMatch(r.out, /apt-get/);
});

test('a machine without redis: names what is missing and prints the exact apt-get commands it would run', () => {
  const r = runSetup(['redis-server', 'redis-sentinel', 'redis-cli']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /need redis-server, redis-sentinel, redis-cli \(package redis-tools\), not found on PATH/);
  assert.ok(r.out.includes(`  ${sudo}apt-get update -qq\n`), r.out);
  assert.ok(r.out.includes(`  ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server redis-sentinel redis-tools\n`), r.out);
  // kubectl is on PATH, so kubernetes-client is not installed over it.
  assert.doesNotMatch(r.out, /kubernetes-client/);
});

test('kubernetes-client only when no kubectl is on PATH', () => {
  const r = runSetup(['kubectl', 'unzip']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /--no-install-recommends unzip kubernetes-client\n/);
});

test('no apt-get: one sentence saying what is missing and what to do, exit 1', () => {
  const r = runSetup(['redis-server', 'apt-get'], []);
  assert.equal(r.code, 1);
  assert.match(r.err, /^error: the demo and the tests need redis-server, not found on PATH, and this machine has no apt-get to install them; install them with your package manager/);
});

test('an unknown argument: exit 2, nothing run', () => {
  const r = runSetup(['redis-server'], ['--frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown argument --frobnicate; use --dry-run or --yes/);
  assert.equal(r.out, '');
});

test('npm run demo, npm test and .ci/run all run the set-up; npm ci runs no install script', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.demo, /^node scripts\/setup\.mjs && /);
  assert.match(readFileSync(join(ROOT, 'scripts', 'test.mjs'), 'utf8'), /step\('set-up', process\.execPath, \[join\(root, 'scripts', 'setup\.mjs'\), '--tests'\]\)/);
  assert.match(readFileSync(join(ROOT, '.ci', 'run'), 'utf8'), /\nnode scripts\/setup\.mjs --tests <\/dev\/null\n[^]*\nnpm ci /);
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare', 'prepublish']) assert.equal(pkg.scripts[hook], undefined, `package.json has a ${hook} script`);
});
