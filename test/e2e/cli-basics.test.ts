// The CLI as a user runs it: a process (the built bin/run.js when dist/ exists), its streams and exit codes, and
// kubectl's plugin discovery finding `kubectl-redis` on PATH.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, run, type RunResult } from '../support/sandbox.js';

let dir: string;
let kubeconfig: string;
let pathDir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-basics-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- {name: east, cluster: {server: "https://127.0.0.1:1"}}',
      '- {name: west, cluster: {server: "https://127.0.0.1:2"}}',
      'users:',
      '- {name: admin, user: {token: t}}',
      'contexts:',
      '- {name: east, context: {cluster: east, user: admin}}',
      '- {name: west, context: {cluster: west, user: admin}}',
      'current-context: east',
      '',
    ].join('\n'),
  );
  // what an install does: a `kubectl-redis` on PATH (here a symlink to the repo's launcher)
  pathDir = join(dir, 'bin');
  mkdirSync(pathDir);
  symlinkSync(join(ROOT, 'bin', 'kubectl-redis'), join(pathDir, 'kubectl-redis'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, KUBECONFIG: kubeconfig, CI: 'true', NO_COLOR: '1', ...extra };
}

function cli(args: string[], extra: Record<string, string> = {}): Promise<RunResult> {
  return run(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], { env: env(extra), timeoutMs: 30_000 });
}

function assertNoStack(r: RunResult): void {
  assert.doesNotMatch(r.stderr, /^\s+at /m, `no stack trace expected:\n${r.stderr}`);
}

test('--help lists every command; --version prints the version', async () => {
  const help = await cli(['--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^ {2}status\s+Show every Redis in scope/m);
  assert.match(help.stdout, /^ {2}autocomplete\s/m);
  const version = await cli(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^kubectl-redis\/\d+\.\d+\.\d+ /);
});

test('an unknown context: one sentence naming it and the contexts that exist, exit 1, no stack trace', async () => {
  const r = await cli(['status', '--context', 'does-not-exist']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'error: context "does-not-exist" does not exist in the kubeconfig; available contexts: east, west\n');
  assertNoStack(r);
});

test('a kubeconfig that does not exist is named, exit 1; -v adds the stack trace', async () => {
  const r = await cli(['status', '--kubeconfig', '/nonexistent']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.split('\n')[0], 'error: cannot read kubeconfig "/nonexistent": no such file');
  assertNoStack(r);
  const verbose = await cli(['status', '--kubeconfig', '/nonexistent', '-v']);
  assert.equal(verbose.code, 1);
  assert.match(verbose.stderr, /^\s+at /m);
});

test('an unreachable API server is named by its URL, exit 1', async () => {
  const r = await cli(['status', '--context', 'west']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: cannot reach the API server at https:\/\/127\.0\.0\.1:2 \(ECONNREFUSED\)/);
  assertNoStack(r);
});

test('bad usage exits 2 with one sentence', async () => {
  const flag = await cli(['status', '--no-such-flag']);
  assert.equal(flag.code, 2);
  assert.equal(flag.stderr.split('\n')[0], 'error: unknown flag: --no-such-flag');
  assertNoStack(flag);
  const output = await cli(['status', '-o', 'xml']);
  assert.equal(output.code, 2);
  assert.match(output.stderr, /^error: Expected --output=xml to be one of: table, wide, json, yaml\n/);
  const duration = await cli(['status', '--request-timeout', 'soon']);
  assert.equal(duration.code, 2);
  assert.match(duration.stderr, /^error: --request-timeout "soon" is not a duration/);
});

test('kubectl finds kubectl-redis on PATH and `kubectl redis --help` shows the commands', async () => {
  const pathEnv = { PATH: `${pathDir}:${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  const list = await run('kubectl', ['plugin', 'list'], { env: env(pathEnv), timeoutMs: 30_000 });
  assert.match(list.stdout, new RegExp(`^${pathDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/kubectl-redis$`, 'm'), `${list.stdout}\n${list.stderr}`);
  const help = await run('kubectl', ['redis', '--help'], { env: env(pathEnv), timeoutMs: 30_000 });
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^ {2}status\s+Show every Redis in scope/m);
});
