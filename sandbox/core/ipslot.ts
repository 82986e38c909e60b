// A machine-unique slot per running sandbox, so that two sandboxes never hand out the same pod IPs:
// slot s gives cluster i the pod network 127.(10 + 4s + i).x.y.
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MAX_SLOTS = 50;
export const MAX_CLUSTERS = 4;

export function slotDir(): string {
  return join(tmpdir(), 'kubectl-redis-sandbox-slots');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claim a free slot for `pid` (default: this process); reclaims slots whose holder is dead. */
export function claimSlot(pid = process.pid): number {
  const dir = slotDir();
  mkdirSync(dir, { recursive: true });
  for (let s = 0; s < MAX_SLOTS; s++) {
    const file = join(dir, String(s));
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        writeSync(fd, String(pid));
        closeSync(fd);
        return s;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const holder = Number(readFileSync(file, 'utf8').trim());
        if (Number.isInteger(holder) && holder > 0 && alive(holder)) break;
        try {
          unlinkSync(file);
        } catch {
          // another sandbox reclaimed it first
        }
      }
    }
  }
  throw new Error(`no free sandbox slot: ${MAX_SLOTS} sandboxes are running on this machine (see ${dir})`);
}

/** Release a slot if `pid` (default: this process) still holds it. */
export function releaseSlot(slot: number, pid = process.pid): void {
  const file = join(slotDir(), String(slot));
  try {
    if (Number(readFileSync(file, 'utf8').trim()) === pid) unlinkSync(file);
  } catch {
    // not held
  }
}

export function podNetPrefix(slot: number, clusterIndex: number): string {
  if (clusterIndex >= MAX_CLUSTERS) throw new Error(`a sandbox has at most ${MAX_CLUSTERS} clusters`);
  return `127.${10 + slot * 4 + clusterIndex}`;
}
