// Lists in pages, as kubectl and client-go do: `limit` (kubectl's --chunk-size default, 500) and the server's
// `continue` token until it stops sending one, so a cluster with thousands of pods is never asked for all of them in
// one response. A token that expires mid-way (410 Expired: etcd compacted the snapshot the pages came from) falls back
// to one unpaged list, as client-go's pager does with FullListIfExpired (k8s.io/client-go/tools/pager, v0.32).
import type { KubeError } from '../errors.js';

/** kubectl's --chunk-size default. */
export const LIST_PAGE_SIZE = 500;

/**
 * The page size. KUBECTL_REDIS_TEST_LIST_PAGE_SIZE exists for tests only (so that a small test cluster spans many
 * pages); anything but a positive integer there means the default.
 */
export function listPageSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.KUBECTL_REDIS_TEST_LIST_PAGE_SIZE);
  return Number.isInteger(n) && n > 0 ? n : LIST_PAGE_SIZE;
}

export interface ListPage<T> {
  items?: T[];
  metadata?: { continue?: string; resourceVersion?: string };
}

/** One request of a list: `limit` 0 means unpaged. */
export type FetchPage<T> = (query: { limit?: number; continue?: string }) => Promise<ListPage<T> | undefined>;

/** Every item of a list, page by page. */
export async function listAllPages<T>(fetch: FetchPage<T>, pageSize: number): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  for (;;) {
    let page: ListPage<T> | undefined;
    try {
      page = await fetch({ limit: pageSize, continue: token });
    } catch (e) {
      if (token === undefined || (e as KubeError).statusCode !== 410) throw e;
      const full = await fetch({});
      return full?.items ?? [];
    }
    items.push(...(page?.items ?? []));
    token = page?.metadata?.continue || undefined;
    if (token === undefined) return items;
  }
}
