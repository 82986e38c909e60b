// Host processes for containers: each in its own process group (so a signal reaches a shell's children too), its pid
// recorded as an empty file DIR/pids/<pid> while it runs, its output appended to a log file; and a watchdog that
// SIGKILLs every recorded process group if the sandbox process dies without stopping them.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface Tracked {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (128+signal when killed) once the process is gone. */
  exited: Promise<number>;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGSTOP: 19, SIGCONT: 18, SIGABRT: 6, SIGSEGV: 11 };

export function spawnTracked(pidsDir: string, argv: string[], opts: { env: Record<string, string>; cwd: string; logFile?: string; stdio?: 'pipe' }): Tracked {
  let fd: number | undefined;
  if (opts.logFile) {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    fd = openSync(opts.logFile, 'a');
  }
  mkdirSync(opts.cwd, { recursive: true });
  const child = spawn(argv[0], argv.slice(1), {
    env: opts.env,
    cwd: opts.cwd,
    detached: true,
    stdio: opts.stdio === 'pipe' ? ['pipe', 'pipe', 'pipe'] : ['ignore', fd ?? 'ignore', fd ?? 'ignore'],
  });
  if (fd !== undefined) closeSync(fd);
  const pid = child.pid ?? -1;
  const pidFile = join(pidsDir, String(pid));
  if (pid > 0) {
    mkdirSync(pidsDir, { recursive: true });
    writeFileSync(pidFile, '');
  }
  const exited = new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      if (pid > 0) rmSync(pidFile, { force: true });
      resolve(code);
    };
    child.on('error', () => finish(127));
    child.on('exit', (code, signal) => finish(code ?? 128 + (signal ? (SIGNALS[signal] ?? 9) : 0)));
  });
  return { child, pid, exited };
}

/** Signal a whole process group (falls back to the process). Quiet if it is gone. */
export function signalGroup(pid: number, sig: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // gone
    }
  }
}

/** A detached shell that outlives a crashed sandbox just long enough to kill what it recorded. */
export function startWatchdog(pidsDir: string): ChildProcess {
  mkdirSync(pidsDir, { recursive: true });
  const script =
    'while kill -0 "$SANDBOX_PID" 2>/dev/null; do sleep 1; done; ' +
    'for f in "$PIDS_DIR"/*; do p="${f##*/}"; case "$p" in *[!0-9]*|"") continue;; esac; kill -9 -"$p" 2>/dev/null || kill -9 "$p" 2>/dev/null; rm -f "$f"; done';
  const child = spawn('/bin/sh', ['-c', script], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SANDBOX_PID: String(process.pid), PIDS_DIR: pidsDir },
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child;
}
