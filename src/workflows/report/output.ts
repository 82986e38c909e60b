// Where the archive goes. Checked before anything is collected (an existing file without --force, a directory that
// does not exist or cannot be written is one sentence and exit 1, at once); the zip is written to a `.partial` file
// beside it, created at the start (which proves the directory writable, even for root on a read-only file system),
// and renamed over the final name only when the report is complete.
import { existsSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { KubectlRedisError } from '../../errors.js';

export interface OutputFile {
  path: string;
  partial: string;
  /** Writes the archive and moves it into place. */
  commit(data: Buffer): void;
  /** Removes the partial file (on failure). */
  abandon(): void;
}

function why(code: string | undefined): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return code ?? 'unknown error';
  }
}

/** A name that sorts by time and says what it holds: kubectl-redis-report-redis-rediscluster-orders-20261203T105000Z.zip. */
export function defaultOutputName(what: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `kubectl-redis-report-${what.replace(/[^A-Za-z0-9.-]+/g, '-')}-${stamp}.zip`;
}

export function openOutput(file: string, force: boolean, cwd = process.cwd()): OutputFile {
  const path = resolve(cwd, file);
  const dir = dirname(path);
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) throw new KubectlRedisError(`--output-file ${file} is a directory: name a file, such as ${file.replace(/\/$/, '')}/report.zip`);
    if (!force) throw new KubectlRedisError(`${file} already exists: choose another --output-file, or add --force to overwrite it`);
  }
  if (!existsSync(dir)) throw new KubectlRedisError(`cannot write ${file}: directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new KubectlRedisError(`cannot write ${file}: ${dir} is not a directory`);
  const partial = resolve(dir, `.${basename(path)}.${process.pid}.partial`);
  try {
    writeFileSync(partial, '', { flag: 'wx', mode: 0o600 });
  } catch (e) {
    throw new KubectlRedisError(`cannot write to directory ${dir} (${why((e as NodeJS.ErrnoException).code)}): choose another --output-file`);
  }
  return {
    path,
    partial,
    commit(data: Buffer) {
      try {
        writeFileSync(partial, data);
        if (!force && existsSync(path)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
        renameSync(partial, path);
      } catch (e) {
        this.abandon();
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new KubectlRedisError(`${file} appeared while the report was being collected: choose another --output-file, or add --force to overwrite it`);
        throw new KubectlRedisError(`cannot write ${path} (${why(code)})`);
      }
    },
    abandon() {
      try {
        unlinkSync(partial);
      } catch {
        // already gone
      }
    },
  };
}
