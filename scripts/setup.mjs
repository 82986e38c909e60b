// The set-up that `npm run demo`, `npm test` and .ci/run do first: the sandbox runs real redis-server and
// redis-sentinel processes, the tests run real kubectl, redis-cli, openssl and unzip. What is missing from PATH is
// installed from the OS packages (Debian/Ubuntu apt), after asking in a terminal and saying exactly what runs; with
// CI=true or no terminal it runs unattended. Plain Node, no dependency: it runs before `npm ci` in .ci/run, and is
// never an npm install script (those print warnings on `npm ci` and run where nobody asked).
//
//   node scripts/setup.mjs             install what is missing (asks first in a terminal)
//   node scripts/setup.mjs --dry-run   say what is missing and the commands that would install it; change nothing
//   node scripts/setup.mjs --yes       do not ask
//   node scripts/setup.mjs --tests     also what only the tests need (prometheus)
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline/promises';

/** What the demo and the tests run, and the Debian package that ships it. kubectl only when none is on PATH. */
export const NEEDS = [
  { command: 'redis-server', pkg: 'redis-server' },
  { command: 'redis-sentinel', pkg: 'redis-sentinel' },
  { command: 'redis-cli', pkg: 'redis-tools' },
  { command: 'openssl', pkg: 'openssl' },
  { command: 'unzip', pkg: 'unzip' },
  { command: 'kubectl', pkg: 'kubernetes-client' },
  // tests only (--tests): drain-reboot's --prometheus-url gate is tested against a real Prometheus
  { command: 'prometheus', pkg: 'prometheus', tests: true },
];

/** The absolute path of `command` on PATH, or undefined. */
export function onPath(command, path = process.env.PATH ?? '') {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The commands to run for the missing packages: apt-get update, then install; through sudo unless root. */
export function plan(missingPkgs, { root, tty }) {
  if (missingPkgs.length === 0) return [];
  // sudo may ask for a password in a terminal; without one, -n makes it fail at once instead of hanging.
  const sudo = root ? [] : tty ? ['sudo'] : ['sudo', '-n'];
  return [
    [...sudo, 'apt-get', 'update', '-qq'],
    [...sudo, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missingPkgs],
  ];
}

async function main() {
  const args = process.argv.slice(2);
  const dryRun = args.includes('--dry-run');
  const yes = args.includes('--yes') || args.includes('-y');
  const tests = args.includes('--tests');
  const unknown = args.filter((a) => !['--dry-run', '--yes', '-y', '--tests'].includes(a));
  if (unknown.length > 0) {
    console.error(`error: unknown argument ${unknown[0]}; use --dry-run or --yes.`);
    return 2;
  }
  const needs = NEEDS.filter((n) => tests || !n.tests);
  const missing = needs.filter((n) => !onPath(n.command));
  if (missing.length === 0) {
    if (dryRun) console.log(`set-up: ${needs.map((n) => n.command).join(', ')} are all on PATH; nothing to install.`);
    return 0;
  }
  const pkgs = missing.map((n) => n.pkg);
  const what = missing.map((n) => (n.command === n.pkg ? n.command : `${n.command} (package ${n.pkg})`)).join(', ');
  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY) && process.env.CI !== 'true';
  const interactive = tty && !yes;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const cmds = plan(pkgs, { root, tty });
  const shown = cmds.map((c) => `  ${c.join(' ')}`).join('\n');

  if (!onPath('apt-get')) {
    console.error(`error: the demo and the tests need ${what}, not found on PATH, and this machine has no apt-get to install them; install them with your package manager (e.g. brew install redis kubernetes-cli) and run again.`);
    return 1;
  }
  if (!root && !onPath('sudo')) {
    console.error(`error: the demo and the tests need ${what}, not found on PATH; installing them needs root and there is no sudo: as root, run\n${plan(pkgs, { root: true, tty: false }).map((c) => `  ${c.join(' ')}`).join('\n')}`);
    return 1;
  }
  console.log(`set-up: the demo and the tests need ${what}, not found on PATH. This runs:\n${shown}`);
  if (dryRun) return 0;
  if (interactive) {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = (await rl.question('Run it now? [Y/n] ')).trim().toLowerCase();
    rl.close();
    if (answer !== '' && answer !== 'y' && answer !== 'yes') {
      console.error('error: nothing installed; run the commands above yourself (or answer y), then run again.');
      return 1;
    }
  }
  for (const cmd of cmds) {
    console.log(`==> ${cmd.join(' ')}`);
    const r = spawnSync(cmd[0], cmd.slice(1), { stdio: tty ? 'inherit' : ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) {
      console.error(`error: \`${cmd.join(' ')}\` failed (exit ${r.status ?? r.signal}); nothing else was run. Fix that and run again.`);
      return 1;
    }
  }
  const still = needs.filter((n) => !onPath(n.command));
  if (still.length > 0) {
    console.error(`error: after installing, ${still.map((n) => n.command).join(', ')} is still not on PATH; check that the package put it in a directory on PATH.`);
    return 1;
  }
  console.log('set-up: done.');
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(await main());
