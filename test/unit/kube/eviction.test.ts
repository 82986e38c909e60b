import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockingPdb, evictPod, EvictionBlockedError } from '../../../src/kube/eviction.js';
import { sendJson, startLocalApi } from './local-api.js';

const PDB_429 = {
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message: "Cannot evict pod as it would violate the pod's disruption budget.",
  reason: 'TooManyRequests',
  details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget orders-leader needs 2 healthy pods and has 2 currently' }] },
  code: 429,
};

test('eviction retries while the API answers 429, then succeeds, and says which PDB blocked', async () => {
  let answered = 0;
  const api = await startLocalApi((req, res) => {
    answered++;
    if (answered <= 2) sendJson(res, 429, PDB_429);
    else sendJson(res, 201, { kind: 'Status', status: 'Success', code: 201 });
  });
  try {
    const blocked: Array<string | undefined> = [];
    const sleeps: number[] = [];
    const result = await evictPod(api.kube, 'redis', 'orders-leader-1', {
      timeoutMs: 60_000,
      retryIntervalMs: 5000,
      onBlocked: (info) => blocked.push(info.pdb),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    assert.deepEqual(result, { evicted: true, attempts: 3, blockedBy: 'orders-leader' });
    assert.deepEqual(blocked, ['orders-leader', 'orders-leader']);
    assert.deepEqual(sleeps, [5000, 5000]);
    assert.equal(api.requests.length, 3);
    const first = api.requests[0];
    assert.equal(first.method, 'POST');
    assert.equal(first.url, '/api/v1/namespaces/redis/pods/orders-leader-1/eviction');
    assert.equal(first.headers.authorization, 'Bearer test-token');
    assert.deepEqual(JSON.parse(first.body), { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'orders-leader-1', namespace: 'redis' } });
  } finally {
    await api.close();
  }
});

test('an eviction still refused at the timeout throws, naming the pod and the PDB', async () => {
  const api = await startLocalApi((_req, res) => sendJson(res, 429, PDB_429));
  let now = 0;
  try {
    await assert.rejects(
      evictPod(api.kube, 'redis', 'orders-leader-1', {
        timeoutMs: 12_000,
        retryIntervalMs: 5000,
        clock: () => now,
        sleep: async (ms) => {
          now += ms;
        },
      }),
      (e: unknown) => {
        assert.ok(e instanceof EvictionBlockedError);
        assert.equal(e.pdb, 'orders-leader');
        assert.match(e.message, /^could not evict pod "orders-leader-1" in namespace "redis": blocked by PodDisruptionBudget "orders-leader" for 12s/);
        return true;
      },
    );
    assert.equal(api.requests.length, 4, 'attempts at 0, 5, 10 and 12 s');
  } finally {
    await api.close();
  }
});

test('a pod already gone is not an error; other failures are not retried', async () => {
  const api = await startLocalApi((req, res) => {
    if (req.url.includes('/gone/')) sendJson(res, 404, { kind: 'Status', code: 404, reason: 'NotFound', message: 'pods "gone" not found' });
    else sendJson(res, 403, { kind: 'Status', code: 403, reason: 'Forbidden', message: 'pods "p" is forbidden: User "x" cannot create resource "pods/eviction"' });
  });
  try {
    assert.deepEqual(await evictPod(api.kube, 'redis', 'gone', { timeoutMs: 1000 }), { evicted: false, attempts: 1, blockedBy: undefined });
    await assert.rejects(evictPod(api.kube, 'redis', 'p', { timeoutMs: 1000 }), /cannot create resource "pods\/eviction"/);
    assert.equal(api.requests.length, 2);
  } finally {
    await api.close();
  }
});

test('the PDB name is read from the causes or the message', () => {
  assert.equal(blockingPdb(PDB_429), 'orders-leader');
  assert.equal(blockingPdb(JSON.stringify({ message: 'The disruption budget cache-pdb needs 5 healthy pods and has 5 currently' })), 'cache-pdb');
  assert.equal(blockingPdb({ message: "Cannot evict pod as it would violate the pod's disruption budget." }), undefined);
});
