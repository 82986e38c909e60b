// The pure decisions behind riding through API faults (src/kube/retry.ts, eviction's transient retries, heal's
// sentence for a Redis that does not answer), and the client applying them to a local HTTP "API server": only
// safe requests are repeated, a bounded number of times, following Retry-After.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeError } from '../../../src/errors.js';
import { evictionRetryDelay } from '../../../src/kube/eviction.js';
import { isVersionGuarded, patchObject } from '../../../src/kube/patch.js';
import { backoffDelay, DEFAULT_RETRY, isRetrySafe, parseRetryAfter, retryDelay, withConflictRetry, type RetryPolicy } from '../../../src/kube/retry.js';
import { remainingFailure } from '../../../src/workflows/heal/index.js';
import type { Finding } from '../../../src/reconcile/types.js';
import { sendJson, startLocalApi } from './local-api.js';

const e500 = new KubeError('the API server failed to get pods (500 InternalError)', { statusCode: 500 });
const e429 = new KubeError('too many requests', { statusCode: 429 });
const e409 = new KubeError('conflict', { statusCode: 409 });
const unreachable = new KubeError('cannot reach the API server at https://x (ECONNRESET) to list pods');
const timedOut = new KubeError('the API server at https://x did not answer in time to list pods');
const half = () => 0.5;

test('only reads and requests marked idempotent are safe to repeat', () => {
  assert.equal(isRetrySafe('GET', undefined), true);
  for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) assert.equal(isRetrySafe(m, undefined), false, m);
  assert.equal(isRetrySafe('PATCH', true), true);
});

test('transient failures of safe requests are retried; conflicts, client errors, timeouts and unsafe requests are not', () => {
  const base = { method: 'GET', attempt: 1, elapsedMs: 0 };
  assert.equal(typeof retryDelay({ ...base, error: e500 }, DEFAULT_RETRY, half), 'number');
  assert.equal(typeof retryDelay({ ...base, error: e429 }, DEFAULT_RETRY, half), 'number');
  assert.equal(typeof retryDelay({ ...base, error: unreachable }, DEFAULT_RETRY, half), 'number');
  assert.equal(retryDelay({ ...base, error: e409 }), undefined, 'a conflict needs a fresh read, not the same request again');
  assert.equal(retryDelay({ ...base, error: new KubeError('nope', { statusCode: 404 }) }), undefined);
  assert.equal(retryDelay({ ...base, error: new KubeError('invalid', { statusCode: 422 }) }), undefined);
  assert.equal(retryDelay({ ...base, error: new KubeError('forbidden', { statusCode: 403 }) }), undefined);
  assert.equal(retryDelay({ ...base, error: timedOut }), undefined, '--request-timeout already bounded it');
  assert.equal(retryDelay({ ...base, error: new Error('not ours') }), undefined);
  assert.equal(retryDelay({ ...base, method: 'POST', error: e500 }), undefined, 'a create is never repeated blindly');
  assert.equal(retryDelay({ ...base, method: 'PATCH', error: e500 }), undefined);
  assert.equal(typeof retryDelay({ ...base, method: 'PATCH', idempotent: true, error: e500 }, DEFAULT_RETRY, half), 'number');
});

test('a server never reached in this process fails at once (a wrong context); one that answered before is retried', () => {
  const base = { method: 'GET', attempt: 1, elapsedMs: 0 };
  assert.equal(retryDelay({ ...base, error: unreachable, serverAnswered: false }), undefined);
  assert.equal(typeof retryDelay({ ...base, error: unreachable, serverAnswered: true }, DEFAULT_RETRY, half), 'number');
  // an HTTP error is an answer: a 500 from a server is retried even on the first request
  assert.equal(typeof retryDelay({ ...base, error: e500, serverAnswered: false }, DEFAULT_RETRY, half), 'number');
});

test('retries are bounded by attempts and by a time budget', () => {
  const p: RetryPolicy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000, budgetMs: 1000, maxRetryAfterMs: 5000 };
  assert.equal(typeof retryDelay({ method: 'GET', error: e500, attempt: 2, elapsedMs: 0 }, p, half), 'number');
  assert.equal(retryDelay({ method: 'GET', error: e500, attempt: 3, elapsedMs: 0 }, p, half), undefined);
  assert.equal(retryDelay({ method: 'GET', error: e500, attempt: 1, elapsedMs: 950 }, p, half), undefined, 'the wait would pass the budget');
  // the default rides through ~15 s of an unreachable server and no more than 20 s
  let elapsed = 0;
  let attempt = 1;
  for (;;) {
    const d = retryDelay({ method: 'GET', error: unreachable, attempt, elapsedMs: elapsed }, DEFAULT_RETRY, () => 1);
    if (d === undefined) break;
    elapsed += d;
    attempt++;
  }
  assert.ok(elapsed >= 10_000 && elapsed <= DEFAULT_RETRY.budgetMs, `retried for ${elapsed} ms`);
  assert.ok(attempt <= DEFAULT_RETRY.maxAttempts);
});

test('backoff doubles from the base, is capped, and jitters within [d/2, d]', () => {
  const p: RetryPolicy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, p, () => 1)), [100, 200, 400, 800, 1000, 1000]);
  assert.deepEqual([1, 2, 3].map((n) => backoffDelay(n, p, () => 0)), [50, 100, 200]);
});

test('Retry-After is followed (seconds or a date), capped, and wins over backoff', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter(['2'], now), 2000);
  assert.equal(parseRetryAfter('Wed, 25 Nov 2026 12:00:04 GMT', now), 4000);
  assert.equal(parseRetryAfter('Wed, 25 Nov 2026 11:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
  assert.equal(retryDelay({ method: 'GET', error: e429, attempt: 1, elapsedMs: 0, retryAfterMs: 3000 }), 3000);
  assert.equal(retryDelay({ method: 'GET', error: e429, attempt: 1, elapsedMs: 0, retryAfterMs: 600_000 }), DEFAULT_RETRY.maxRetryAfterMs);
});

test('a merge patch naming a resourceVersion is guarded; a plain one or a JSON patch is not', () => {
  assert.equal(isVersionGuarded({ metadata: { resourceVersion: '42', annotations: { a: 'b' } } }), true);
  assert.equal(isVersionGuarded({ metadata: { annotations: { a: 'b' } } }), false);
  assert.equal(isVersionGuarded({ metadata: { resourceVersion: '' } }), false);
  assert.equal(isVersionGuarded([{ op: 'test', path: '/metadata/resourceVersion', value: '42' }]), false);
});

test('a 409 re-runs the whole read-modify-write, a bounded number of times; other errors go straight through', async () => {
  const seen: number[] = [];
  const noSleep = async () => undefined;
  const r = await withConflictRetry(async (n) => {
    seen.push(n);
    if (n < 3) throw e409;
    return 'done';
  }, { sleep: noSleep });
  assert.equal(r, 'done');
  assert.deepEqual(seen, [1, 2, 3]);
  let calls = 0;
  await assert.rejects(withConflictRetry(async () => {
    calls++;
    throw e409;
  }, { maxAttempts: 4, sleep: noSleep }), (e: unknown) => e === e409);
  assert.equal(calls, 4);
  calls = 0;
  await assert.rejects(withConflictRetry(async () => {
    calls++;
    throw e500;
  }, { sleep: noSleep }), (e: unknown) => e === e500);
  assert.equal(calls, 1);
});

test('an eviction that fails transiently is tried again with backoff, within its retries and its timeout', () => {
  assert.equal(typeof evictionRetryDelay(e500, 1, 6, 60_000), 'number');
  assert.equal(typeof evictionRetryDelay(unreachable, 6, 6, 60_000), 'number');
  assert.equal(evictionRetryDelay(unreachable, 7, 6, 60_000), undefined);
  assert.equal(evictionRetryDelay(e500, 1, 6, 0), undefined);
  assert.equal(evictionRetryDelay(new KubeError('forbidden', { statusCode: 403 }), 1, 6, 60_000), undefined);
  assert.ok((evictionRetryDelay(e500, 1, 6, 100) ?? Infinity) <= 100, 'never past the timeout');
});

test('heal names the Redis that does not answer when it stops', () => {
  const f = (kind: Finding['kind'], pods: string[]): Finding => ({ kind, severity: 'warning', pods, nodes: [], nodeIds: [], objects: [], message: '', evidence: [] });
  assert.match(remainingFailure([f('node-unreachable', ['cache-4'])]), /^the Redis in pod "cache-4" does not answer .*kubectl describe pod cache-4.*re-run heal/);
  assert.match(remainingFailure([f('node-unreachable', ['b']), f('node-unreachable', ['a']), f('open-slot', ['c'])]), /pods "a", "b" do not answer/);
  assert.equal(remainingFailure([f('open-slot', ['c'])]), 'findings remain that heal has no action for (open-slot)');
});

test('the client repeats a GET after 500 and 429 (waiting Retry-After), never an unguarded PATCH, and a guarded one', async () => {
  let gets = 0;
  let patches = 0;
  const api = await startLocalApi((req, res) => {
    if (req.method === 'GET') {
      gets++;
      if (gets === 1) return sendJson(res, 500, { kind: 'Status', code: 500, reason: 'InternalError', message: 'boom' });
      if (gets === 2) {
        res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '1' });
        return res.end(JSON.stringify({ kind: 'Status', code: 429, reason: 'TooManyRequests', message: 'slow down' }));
      }
      return sendJson(res, 200, { metadata: { name: 'p', namespace: 'redis' } });
    }
    patches++;
    if (patches < 3) return sendJson(res, 500, { kind: 'Status', code: 500, reason: 'InternalError', message: 'boom' });
    return sendJson(res, 200, { metadata: { name: 'p', namespace: 'redis' } });
  });
  const PODS = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };
  try {
    api.kube.retryPolicy = { ...DEFAULT_RETRY, baseDelayMs: 5, maxDelayMs: 10 };
    const retries: number[] = [];
    api.kube.onRetry = (i) => retries.push(i.delayMs);
    const t0 = Date.now();
    assert.equal((await api.kube.get(PODS, 'redis', 'p'))?.metadata.name, 'p');
    assert.equal(gets, 3);
    assert.ok(Date.now() - t0 >= 1000, 'waited the Retry-After');
    assert.equal(retries[1], 1000);
    await assert.rejects(patchObject(api.kube, PODS, 'redis', 'p', { metadata: { labels: { a: 'b' } } }), /500 InternalError/);
    assert.equal(patches, 1, 'an unguarded patch is sent once');
    await patchObject(api.kube, PODS, 'redis', 'p', { metadata: { resourceVersion: '7', labels: { a: 'b' } } });
    assert.equal(patches, 3, 'a resourceVersion-guarded patch is sent again');
  } finally {
    await api.close();
  }
});
