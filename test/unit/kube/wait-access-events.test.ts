import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeError, TimeoutError } from '../../../src/errors.js';
import { notYet, waitFor } from '../../../src/kube/wait.js';
import { describePermission, forbidden, requirePermissions } from '../../../src/kube/access.js';
import { buildEvent } from '../../../src/kube/events.js';
import { sendJson, startLocalApi } from './local-api.js';

test('waitFor returns the first value, retries transient API errors and names what it waited for on timeout', async () => {
  let now = 0;
  const fake = { clock: () => now, sleep: async (ms: number) => void (now += ms) };
  let calls = 0;
  const value = await waitFor(
    'pod "orders-0" to be Ready',
    async () => {
      calls++;
      if (calls === 1) throw new KubeError('the API server failed (503)', { statusCode: 503 });
      return calls < 4 ? notYet(`phase Pending (${calls})`) : 'ready';
    },
    { timeoutMs: 60_000, intervalMs: 1000, ...fake },
  );
  assert.equal(value, 'ready');
  assert.equal(now, 3000);
  const states: string[] = [];
  await assert.rejects(
    waitFor('node "east-node-2" to be cordoned', async () => notYet('schedulable'), { timeoutMs: 5000, intervalMs: 2000, onState: (s) => states.push(s), ...fake }),
    (e: unknown) => e instanceof TimeoutError && e.message === 'timed out after 5s waiting for node "east-node-2" to be cordoned (last seen: schedulable)',
  );
  assert.deepEqual(states, ['schedulable'], 'a repeated state is reported once');
  await assert.rejects(waitFor('x', async () => { throw new KubeError('forbidden', { statusCode: 403 }); }, { timeoutMs: 5000, ...fake }), /forbidden/);
});

test('a missing permission is named in one sentence with what to do', () => {
  const p = { verb: 'patch', group: 'redis.redis.opstreelabs.in', resource: 'redisclusters', namespace: 'redis' };
  assert.equal(forbidden(p).message, 'you may not patch redisclusters.redis.redis.opstreelabs.in in namespace "redis": ask for a Role that allows it (see deploy/rbac)');
  assert.equal(describePermission({ verb: 'create', group: '', resource: 'pods', subresource: 'eviction', namespace: 'redis', name: 'p' }), 'create pods/eviction "p" in namespace "redis"');
  assert.match(forbidden({ verb: 'patch', group: '', resource: 'nodes' }).message, /^you may not patch nodes: ask for a ClusterRole/);
});

test('requirePermissions asks a SelfSubjectAccessReview per permission and reports the first one denied', async () => {
  const api = await startLocalApi((req, res) => {
    const attrs = JSON.parse(req.body).spec.resourceAttributes;
    sendJson(res, 201, { kind: 'SelfSubjectAccessReview', status: { allowed: attrs.verb === 'get' } });
  });
  try {
    await requirePermissions(api.kube, [{ verb: 'get', group: 'apps', resource: 'statefulsets', namespace: 'redis' }]);
    await assert.rejects(
      requirePermissions(api.kube, [
        { verb: 'get', group: 'apps', resource: 'statefulsets', namespace: 'redis' },
        { verb: 'patch', group: 'redis.redis.opstreelabs.in', resource: 'redisclusters', namespace: 'redis' },
        { verb: 'delete', group: '', resource: 'pods', namespace: 'redis' },
      ]),
      /^ForbiddenError: you may not patch redisclusters\.redis\.redis\.opstreelabs\.in in namespace "redis"/,
    );
    assert.equal(api.requests.at(-1)?.url, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
  } finally {
    await api.close();
  }
});

test('an Event names kubectl-redis as reporting component and source', () => {
  const event = buildEvent({ apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'RedisCluster', name: 'orders', namespace: 'redis', uid: 'u1' }, { reason: 'Paused', message: 'reconcile paused by kubectl-redis' }, Date.parse('2025-01-01T00:00:00Z'), 'laptop');
  assert.equal(event.reportingComponent, 'kubectl-redis');
  assert.deepEqual(event.source, { component: 'kubectl-redis', host: 'laptop' });
  assert.deepEqual(event.involvedObject, { apiVersion: 'redis.redis.opstreelabs.in/v1beta2', kind: 'RedisCluster', name: 'orders', namespace: 'redis', uid: 'u1' });
  assert.equal(event.type, 'Normal');
  assert.equal(event.firstTimestamp, '2025-01-01T00:00:00.000Z');
  assert.deepEqual(event.metadata, { generateName: 'orders.', namespace: 'redis' });
});
