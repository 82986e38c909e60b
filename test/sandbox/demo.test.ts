// `npm run demo` (scripts/demo.ts) runs to the end, exits 0, and leaves no process and no directory behind; on
// SIGINT in the middle of bringing the sandbox up, it tears everything down too.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/sandbox.js';
import { eventually } from '../support/redis.js';

/** Processes whose command line or working directory mentions `dir`. */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // not ours to read
      }
      if (cmd.includes(dir) || cwd.startsWith(dir)) found.push(`${pid} ${cmd.trim()}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function startDemo(args: string[] = []) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/demo.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const dir = () => out.match(/--dir (\/\S+kubectl-redis-demo-\w+)/)?.[1];
  return { child, exited, output: () => out, dir };
}

describe('npm run demo', { timeout: 300_000 }, () => {
  test('runs to the end, exits 0, leaves no process or directory behind', async () => {
    const demo = startDemo();
    const code = await demo.exited;
    const out = demo.output();
    assert.equal(code, 0, out);
    const dir = demo.dir();
    assert.ok(dir, `the demo names its sandbox directory:\n${out}`);
    assert.match(out, new RegExp(`export KUBECONFIG=${dir}/kubeconfig`));
    assert.match(out, /kubectl redis status -n redis/);
    assert.match(out, /==> Demo done/);
    assert.deepEqual(processesUnder(dir), []);
    assert.equal(existsSync(dir), false);
  });

  test('Ctrl-C while the sandbox comes up tears it down', async () => {
    const demo = startDemo();
    const dir = await eventually('the demo to start the sandbox', () => demo.dir(), 30_000, 100);
    await eventually('the sandbox process to start', () => existsSync(join(dir, 'sandbox.pid')), 30_000, 100);
    await new Promise((r) => setTimeout(r, 2000));
    demo.child.kill('SIGINT');
    assert.equal(await demo.exited, 130, demo.output());
    assert.match(demo.output(), /SIGINT: stopping the demo/);
    assert.deepEqual(processesUnder(dir), []);
    assert.equal(existsSync(dir), false);
  });
});
