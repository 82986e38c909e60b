// `npm test`: type-check, lint, build (the e2e tests run the built CLI), then every test file through node:test, three
// files at a time (the e2e files mostly wait on sandboxes and real Redis, so three keep 2 cores busy).
// `npm test -- unit` (or `npm run test:unit`): the unit tests only, without the build.
// `npm test -- chaos` (or `npm run test:chaos`): build, then only the reliability suite under test/chaos (crash-resume,
// API and Redis faults during each command); plain `npm test` runs it too, last.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
const unitOnly = args.includes('unit');
const chaosOnly = args.includes('chaos');

function testFiles(dir) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs)
    .sort()
    .flatMap((name) => {
      const path = join(abs, name);
      if (statSync(path).isDirectory()) return testFiles(relative(root, path));
      return name.endsWith('.test.ts') ? [relative(root, path)] : [];
    });
}

function step(title, cmd, args) {
  console.log(`==> ${title}`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    console.error(`error: ${title} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
  console.log(`    ${title}: ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

const bin = (name) => join(root, 'node_modules', '.bin', name);
// The OS packages the tests run (redis-server, redis-sentinel, redis-cli, kubectl, ...), installed when missing.
step('set-up', process.execPath, [join(root, 'scripts', 'setup.mjs'), '--tests']);
if (!unitOnly) {
  step('type-check', bin('tsc'), ['--noEmit', '-p', '.']);
  step('lint', bin('eslint'), ['src', 'sandbox', 'test', 'bench', 'scripts', 'bin']);
  step('build', process.execPath, [join(root, 'scripts', 'build.mjs')]);
}

const files = unitOnly
  ? testFiles('test/unit')
  : chaosOnly
    ? testFiles('test/chaos')
    : [...testFiles('test/unit'), ...testFiles('test/sandbox'), ...testFiles('test/e2e'), ...testFiles('test/chaos')];
if (files.length === 0) {
  console.error('error: no test files found under test/');
  process.exit(1);
}
console.log(`==> ${files.length} test files`);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=3', ...files], { cwd: root, stdio: 'inherit', env: process.env });
process.exit(r.status ?? 1);
