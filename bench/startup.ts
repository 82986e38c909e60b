// `npx tsx bench/startup.ts [runs]`: start-up time of the installed CLI (bin/run.js on the built bundle) for
// `--help` and `--version`, median of N runs, beside `kubectl version --client`, with PASS/MISS against 0.3 s.
// Prints figures only; tests never assert wall time.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const TARGET_MS = 300;
const runs = Number(process.argv[2] ?? 11);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function time(cmd: string, args: string[]): number | undefined {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return r.status === 0 ? ms : undefined;
}

function measure(label: string, cmd: string, args: string[], judged: boolean): void {
  time(cmd, args); // warm the file cache once
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const ms = time(cmd, args);
    if (ms === undefined) {
      console.log(`${label.padEnd(34)} failed (${cmd} ${args.join(' ')} exited non-zero)`);
      return;
    }
    samples.push(ms);
  }
  const m = median(samples);
  const verdict = judged ? (m <= TARGET_MS ? 'PASS' : 'MISS') : '';
  console.log(`${label.padEnd(34)} median ${m.toFixed(0).padStart(5)} ms   min ${Math.min(...samples).toFixed(0).padStart(5)} ms   ${verdict}`);
}

if (!existsSync(join(ROOT, 'dist', 'commands'))) {
  console.error('error: dist/ is missing; run npm run build first');
  process.exit(1);
}
const cli = join(ROOT, 'bin', 'run.js');
console.log(`start-up, median of ${runs} runs (target <= ${TARGET_MS} ms)`);
measure('kubectl-redis --help', process.execPath, [cli, '--help'], true);
measure('kubectl-redis --version', process.execPath, [cli, '--version'], true);
measure('kubectl-redis status --help', process.execPath, [cli, 'status', '--help'], true);
measure('node -e 0 (floor)', process.execPath, ['-e', '0'], false);
measure('kubectl version --client', 'kubectl', ['version', '--client'], false);
