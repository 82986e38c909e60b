// The product lists in pages of 500 (kubectl's --chunk-size) and follows `continue` to the end; an expired token
// falls back to one unpaged list, as client-go's pager does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIST_PAGE_SIZE, listAllPages, listPageSize } from '../../../src/kube/paging.js';
import { sendJson, startLocalApi } from './local-api.js';

const PODS = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };
const pod = (i: number) => ({ metadata: { name: `p${String(i).padStart(4, '0')}`, namespace: 'a' } });

test('the page size is 500; only a positive integer in the test variable changes it', () => {
  assert.equal(LIST_PAGE_SIZE, 500);
  assert.equal(listPageSize({}), 500);
  assert.equal(listPageSize({ KUBECTL_REDIS_TEST_LIST_PAGE_SIZE: '3' }), 3);
  for (const bad of ['0', '-2', '1.5', 'many', '']) assert.equal(listPageSize({ KUBECTL_REDIS_TEST_LIST_PAGE_SIZE: bad }), 500, bad);
});

test('every list goes page by page with limit=500 and continue, keeping the selectors on each page', async () => {
  const all = Array.from({ length: 1234 }, (_, i) => pod(i));
  const api = await startLocalApi((req, res) => {
    const q = new URL(req.url, 'http://x').searchParams;
    const limit = Number(q.get('limit') ?? 0);
    const start = q.get('continue') ? Number(Buffer.from(q.get('continue') ?? '', 'base64url').toString()) : 0;
    const items = limit > 0 ? all.slice(start, start + limit) : all;
    const next = start + items.length;
    sendJson(res, 200, { kind: 'PodList', metadata: { resourceVersion: '7', ...(limit > 0 && next < all.length ? { continue: Buffer.from(String(next)).toString('base64url') } : {}) }, items });
  });
  try {
    const got = await api.kube.list(PODS, undefined, { fieldSelector: 'spec.nodeName=n1' });
    assert.equal(got.length, 1234);
    assert.deepEqual(got.map((p) => p.metadata.name), all.map((p) => p.metadata.name));
    assert.equal(got[1233].kind, 'Pod');
    const queries = api.requests.map((r) => new URL(r.url, 'http://x').searchParams);
    assert.equal(queries.length, 3);
    assert.deepEqual(queries.map((q) => q.get('limit')), ['500', '500', '500']);
    assert.deepEqual(queries.map((q) => q.get('continue')), [null, Buffer.from('500').toString('base64url'), Buffer.from('1000').toString('base64url')]);
    assert.ok(queries.every((q) => q.get('fieldSelector') === 'spec.nodeName=n1'));
  } finally {
    await api.close();
  }
});

test('a continue token that expired mid-way (410) falls back to one full list; a 410 on the first page is an error', async () => {
  const pages: Array<{ limit?: number; continue?: string }> = [];
  const items = await listAllPages<number>(async (q) => {
    pages.push(q);
    if (q.continue) throw Object.assign(new Error('too old'), { statusCode: 410 });
    return q.limit ? { items: [1, 2], metadata: { continue: 'tok' } } : { items: [1, 2, 3, 4, 5] };
  }, 2);
  assert.deepEqual(items, [1, 2, 3, 4, 5]);
  assert.deepEqual(pages, [{ limit: 2, continue: undefined }, { limit: 2, continue: 'tok' }, {}]);
  await assert.rejects(
    listAllPages(async () => {
      throw Object.assign(new Error('gone'), { statusCode: 410 });
    }, 2),
    /gone/,
  );
});
