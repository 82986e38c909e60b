import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeError } from '../../../src/errors.js';
import { resourceName, resourcePath } from '../../../src/kube/client.js';
import { patchObject } from '../../../src/kube/patch.js';
import { DEFAULT_RETRY } from '../../../src/kube/retry.js';
import { sendJson, startLocalApi } from './local-api.js';

const CRD = { group: 'redis.redis.opstreelabs.in', version: 'v1beta2', plural: 'redisclusters', kind: 'RedisCluster', namespaced: true };
const STS = { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true };
const NODES = { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false };

test('paths and names follow the API and kubectl', () => {
  assert.equal(resourcePath(STS, 'redis'), '/apis/apps/v1/namespaces/redis/statefulsets');
  assert.equal(resourcePath(STS, undefined), '/apis/apps/v1/statefulsets');
  assert.equal(resourcePath(NODES, 'ignored', 'n1'), '/api/v1/nodes/n1');
  assert.equal(resourcePath({ group: '', version: 'v1', plural: 'pods', namespaced: true }, 'redis', 'p', 'eviction'), '/api/v1/namespaces/redis/pods/p/eviction');
  assert.equal(resourceName(CRD), 'redisclusters.redis.redis.opstreelabs.in');
  assert.equal(resourceName(NODES), 'nodes');
});

test('the reader lists with selectors, fills in kind, treats an unserved CRD as empty and a missing object as undefined', async () => {
  const api = await startLocalApi((req, res) => {
    if (req.url.startsWith('/apis/redis.redis.opstreelabs.in/')) return sendJson(res, 404, { kind: 'Status', code: 404, reason: 'NotFound', message: 'the server could not find the requested resource' });
    if (req.url.startsWith('/apis/apps/v1/namespaces/redis/statefulsets/gone')) return sendJson(res, 404, { kind: 'Status', code: 404, reason: 'NotFound', message: 'statefulsets.apps "gone" not found' });
    if (req.url.startsWith('/apis/apps/v1/namespaces/redis/statefulsets')) return sendJson(res, 200, { kind: 'StatefulSetList', items: [{ metadata: { name: 'cache', namespace: 'redis' } }] });
    sendJson(res, 500, { kind: 'Status', code: 500, reason: 'InternalError', message: 'boom' });
  });
  try {
    const items = await api.kube.list(STS, 'redis', { labelSelector: 'app=cache,tier in (a,b)' });
    assert.deepEqual(items, [{ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'cache', namespace: 'redis' } }]);
    const url = new URL(api.requests[0].url, api.url);
    assert.equal(url.searchParams.get('labelSelector'), 'app=cache,tier in (a,b)');
    assert.deepEqual(await api.kube.list(CRD, undefined), []);
    assert.equal(await api.kube.get(STS, 'redis', 'gone'), undefined);
    // a read is retried on a 500, a bounded number of times, then fails with the server's words and how long it tried
    api.kube.retryPolicy = { ...DEFAULT_RETRY, baseDelayMs: 1, maxDelayMs: 2 };
    const before = api.requests.length;
    await assert.rejects(api.kube.list(NODES, undefined), (e: unknown) => e instanceof KubeError && /^the API server failed to list nodes \(500 InternalError\): boom \(tried 8 times over \d+s\)$/.test(e.message));
    assert.equal(api.requests.length - before, DEFAULT_RETRY.maxAttempts);
  } finally {
    await api.close();
  }
});

test('one patch helper sends the right Content-Type for merge, strategic and JSON patch', async () => {
  const api = await startLocalApi((req, res) => sendJson(res, 200, { metadata: { name: 'cache', namespace: 'redis', annotations: {} } }));
  try {
    await patchObject(api.kube, STS, 'redis', 'cache', { metadata: { annotations: { a: 'b' } } });
    await patchObject(api.kube, STS, 'redis', 'cache', { spec: { replicas: 3 } }, { kind: 'strategic', dryRun: true });
    await patchObject(api.kube, STS, 'redis', 'cache', [{ op: 'test', path: '/metadata/resourceVersion', value: '7' }]);
    await patchObject(api.kube, STS, 'redis', 'cache', { spec: { replicas: 0 } }, { subresource: 'scale' });
    assert.deepEqual(
      api.requests.map((r) => r.headers['content-type']),
      ['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json', 'application/merge-patch+json'],
    );
    assert.ok(api.requests.every((r) => r.method === 'PATCH'));
    assert.equal(new URL(api.requests[1].url, api.url).searchParams.get('dryRun'), 'All');
    assert.equal(new URL(api.requests[3].url, api.url).pathname, '/apis/apps/v1/namespaces/redis/statefulsets/cache/scale');
    assert.deepEqual(JSON.parse(api.requests[2].body), [{ op: 'test', path: '/metadata/resourceVersion', value: '7' }]);
  } finally {
    await api.close();
  }
});

test('--request-timeout bounds a request that never answers', async () => {
  const api = await startLocalApi(() => undefined, { requestTimeoutMs: 200 });
  try {
    await assert.rejects(api.kube.list(STS, 'redis'), /did not answer in time to list statefulsets\.apps in namespace "redis"/);
  } finally {
    await api.close();
  }
});
