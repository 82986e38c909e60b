// List pagination (`limit` / `continue`) as kube-apiserver serves it from etcd, after
// kubernetes/kubernetes v1.32 staging/src/k8s.io/apiserver/pkg/storage/continue.go (the token) and
// pkg/storage/etcd3/store.go GetList (paging, remainingItemCount, the errors) and pkg/storage/cacher/cacher.go
// (shouldDelegateList: a list at resourceVersion "0" is served whole from the watch cache, limit ignored).
//
// A continue token is base64url(JSON {"v":"meta.k8s.io/v1","rv":<list resourceVersion>,"start":"<next key>"}), the
// next key being the last returned object's key (relative to the list's key prefix) + "\0". Continuing reads the
// list as it was at that resourceVersion: etcd keeps old revisions until compaction, which kube-apiserver runs every
// 5 minutes (--etcd-compaction-interval). The sandbox keeps the snapshot a first page was cut from for as long; a
// token whose snapshot is gone is answered 410 Expired with a fresh token (rv -1: continue at the latest state).
import type { KObject } from '../core/store.js';
import { ApiError, apiError } from './status.js';

/** --etcd-compaction-interval's default. */
export const COMPACTION_MS = 5 * 60_000;
const MAX_SNAPSHOTS = 64;

const INCONSISTENT_CONTINUE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

interface Token {
  v: string;
  rv: number;
  start: string;
}

export function encodeContinue(start: string, rv: number): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

/** storage.DecodeContinue: the start key (relative to the prefix) and rv, or 400 "invalid continue token: ...". */
export function decodeContinue(token: string): { start: string; rv: number } {
  const bad = (why: string): ApiError => apiError(400, `invalid continue token: ${why}`);
  if (!/^[A-Za-z0-9_-]*$/.test(token)) throw bad('continue key is not valid: illegal base64 data at input byte 0');
  let c: Partial<Token>;
  try {
    c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<Token>;
  } catch (e) {
    throw bad(`continue key is not valid: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (c === null || typeof c !== 'object') throw bad('continue key is not valid: not an object');
  if (c.v !== 'meta.k8s.io/v1') throw bad(`server does not recognize this encoded version ${String(c.v ?? '')}`);
  if (!c.rv) throw bad('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  if (!c.start) throw bad('continue key is not valid: encoded start key empty (version meta.k8s.io/v1)');
  // path.Clean defends against ranging above the key prefix
  const key = c.start.startsWith('/') ? c.start : `/${c.start}`;
  if (key.split('/').some((s, i) => (i > 0 && s === '') || s === '.' || s === '..')) throw bad(`continue key is not valid: ${c.start}`);
  return { start: key.slice(1), rv: Number(c.rv) };
}

/** The object's etcd key below /registry/<resource>/: `<ns>/<name>` or `<name>`. */
function objectKey(o: KObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

/** etcd ranges in byte order. */
function byteOrder(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
}

export interface PageRequest {
  /** Every object of the resource (all namespaces), at `rv`. */
  all(): KObject[];
  rv: number;
  /** The namespace of a namespaced list; undefined for a cluster-wide one. */
  namespace?: string;
  limit?: string | null;
  continueToken?: string | null;
  resourceVersion?: string | null;
  /** Label / field selector (the list's predicate). */
  matches(o: KObject): boolean;
  /** No selector at all: remainingItemCount is exact. */
  unfiltered: boolean;
}

export interface Page {
  items: KObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/** The snapshots continuations read from, per resource and resourceVersion. */
export class Paginator {
  private readonly snapshots = new Map<string, { items: KObject[]; at: number }>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Forget every snapshot (as an etcd compaction would): outstanding continue tokens get 410. */
  compact(): void {
    this.snapshots.clear();
  }

  private expire(): void {
    const now = this.clock();
    for (const [k, s] of this.snapshots) if (now - s.at > COMPACTION_MS) this.snapshots.delete(k);
    while (this.snapshots.size > MAX_SNAPSHOTS) this.snapshots.delete(this.snapshots.keys().next().value as string);
  }

  page(resource: string, req: PageRequest): Page {
    const limitRaw = req.limit ?? '';
    const limit = limitRaw === '' ? 0 : Number(limitRaw);
    if (!Number.isInteger(limit)) throw apiError(400, `strconv.ParseInt: parsing "${limitRaw}": invalid syntax`);
    const token = req.continueToken ?? '';
    const rvParam = req.resourceVersion ?? '';
    let start = '';
    let rv = req.rv;
    let items: KObject[] | undefined;
    this.expire();
    if (token) {
      const c = decodeContinue(token);
      if (rvParam !== '' && rvParam !== '0') throw apiError(400, 'specifying resource version is not allowed when using continue');
      start = c.start;
      if (c.rv > 0) {
        items = this.snapshots.get(`${resource}@${c.rv}`)?.items;
        if (!items) {
          const e = apiError(410, INCONSISTENT_CONTINUE, undefined, 'Expired');
          const restart = encodeContinue(start, -1);
          throw Object.assign(e, { listContinue: restart }) as ApiError;
        }
        rv = c.rv;
      }
    } else if (limit > 0 && rvParam === '0') {
      // served from the watch cache, which does not page
      return { items: this.sorted(req.all()).filter((o) => this.inScope(o, req) && req.matches(o)), resourceVersion: String(req.rv) };
    }
    if (!items) {
      items = this.sorted(req.all());
      if (limit > 0) this.snapshots.set(`${resource}@${rv}`, { items, at: this.clock() });
    }
    const prefix = req.namespace !== undefined ? `${req.namespace}/` : '';
    const inRange = items.filter((o) => this.inScope(o, req) && (start === '' || byteOrder(objectKey(o).slice(prefix.length), start) >= 0));
    if (limit <= 0) return { items: inRange.filter(req.matches), resourceVersion: String(rv) };
    const out: KObject[] = [];
    let i = 0;
    for (; i < inRange.length && out.length < limit; i++) if (req.matches(inRange[i])) out.push(inRange[i]);
    const hasMore = i < inRange.length;
    if (!hasMore) return { items: out, resourceVersion: String(rv) };
    const last = objectKey(inRange[i - 1]).slice(prefix.length);
    return {
      items: out,
      resourceVersion: String(rv),
      continue: encodeContinue(`${last}\u0000`, rv),
      ...(req.unfiltered ? { remainingItemCount: inRange.length - i } : {}),
    };
  }

  private inScope(o: KObject, req: PageRequest): boolean {
    return req.namespace === undefined || o.metadata.namespace === req.namespace;
  }

  private sorted(items: KObject[]): KObject[] {
    return [...items].sort((a, b) => byteOrder(objectKey(a), objectKey(b)));
  }
}

/** The Status of a 410 for an expired continue token carries the token to go on with in its ListMeta. */
export function expiredContinue(e: unknown): string | undefined {
  return (e as { listContinue?: string }).listContinue;
}
