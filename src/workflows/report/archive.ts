// The archive being built: its files and the manifest's list of parts (what was collected, failed or skipped, and
// why). Every failure is kept, one sentence each; a 403 also names the permission that was missing, the way the
// preflight of the other commands names it (describePermission). Scrubbing happens once, when the zip is made.
import { KubeError } from '../../errors.js';
import { describePermission, type Permission } from '../../kube/access.js';
import { zip, type ZipEntry } from '../../util/zip.js';
import { scrub, scrubList } from './redact.js';

export type PartStatus = 'collected' | 'failed' | 'skipped';

export interface Part {
  /** What it is: "CLUSTER NODES of orders-leader-0", "Pod redis/orders-leader-0". */
  what: string;
  /** Its file in the archive. */
  path: string;
  status: PartStatus;
  bytes?: number;
  /** Why it failed or was skipped. */
  reason?: string;
  /** The permission the API server refused, as `get pods/log in namespace "redis"`. */
  missingPermission?: string;
}

const errText = (e: unknown): string => ((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '').trim();

export class Archive {
  readonly parts: Part[] = [];
  private readonly files = new Map<string, string>();
  private readonly secrets = new Set<string>();

  /** A value that must not appear anywhere in the archive. */
  secret(value: string | undefined): void {
    if (value) this.secrets.add(value);
  }

  add(path: string, what: string, text: string): void {
    if (this.files.has(path)) throw new Error(`report: ${path} collected twice`);
    this.files.set(path, text);
    this.parts.push({ what, path, status: 'collected', bytes: Buffer.byteLength(text) });
  }

  fail(path: string, what: string, err: unknown, permission?: Permission): Part {
    const part: Part = { what, path, status: 'failed', reason: errText(err) };
    if (permission && err instanceof KubeError && err.statusCode === 403) {
      // one sentence for every part refused the same permission (the server's names the object), so they group
      part.missingPermission = describePermission(permission);
      part.reason = `you may not ${part.missingPermission}`;
    }
    this.parts.push(part);
    return part;
  }

  skip(path: string, what: string, reason: string): void {
    this.parts.push({ what, path, status: 'skipped', reason });
  }

  /** Runs fn; its text becomes `path`, its failure a failed part. Resolves whether it was collected. */
  async collect(path: string, what: string, fn: () => Promise<string>, permission?: Permission): Promise<boolean> {
    try {
      this.add(path, what, await fn());
      return true;
    } catch (e) {
      this.fail(path, what, e, permission);
      return false;
    }
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  /** The zip: every file, then manifest.json (built last, from the final list of parts), all scrubbed. */
  build(manifest: (parts: Part[], scrubbed: number) => unknown, now: Date): { zip: Buffer; scrubbed: number; manifest: unknown } {
    const list = scrubList(this.secrets);
    let scrubbed = 0;
    const entries: ZipEntry[] = [];
    const sizes = new Map<string, number>();
    for (const [name, text] of [...this.files].sort(([a], [b]) => a.localeCompare(b))) {
      const s = scrub(text, list);
      scrubbed += s.replaced;
      sizes.set(name, Buffer.byteLength(s.text));
      entries.push({ name, data: s.text, mtime: now });
    }
    for (const p of this.parts) if (p.status === 'collected') p.bytes = sizes.get(p.path);
    const doc = manifest(this.parts, scrubbed);
    const m = scrub(`${JSON.stringify(doc, null, 2)}\n`, list);
    entries.unshift({ name: 'manifest.json', data: m.text, mtime: now });
    return { zip: zip(entries, now), scrubbed: scrubbed + m.replaced, manifest: JSON.parse(m.text) as unknown };
  }

  /** Text for the terminal, scrubbed like the archive. */
  scrubText(text: string): string {
    return scrub(text, scrubList(this.secrets)).text;
  }
}
