import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { ForbiddenError, KubeError, NotFoundError, RefusedError } from '../../../src/errors.js';
import { fromStatus, networkCode, parseStatus, toKubeError } from '../../../src/kube/errors.js';

const call = { verb: 'patch', resource: 'redisclusters.redis.redis.opstreelabs.in', namespace: 'redis', name: 'orders', server: 'https://127.0.0.1:6443' };

function status(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
}

test('a 403 ApiException becomes ForbiddenError with the API server\'s own sentence', () => {
  const said = 'redisclusters.redis.redis.opstreelabs.in "orders" is forbidden: User "viewer" cannot patch resource "redisclusters" in API group "redis.redis.opstreelabs.in" in the namespace "redis"';
  const err = toKubeError(new k8s.ApiException(403, 'Forbidden', status(403, 'Forbidden', said), {}), call);
  assert.ok(err instanceof ForbiddenError);
  assert.equal(err.message, said);
  assert.equal(err.exitCode, 1);
  assert.match(err.hint ?? '', /deploy\/rbac/);
});

test('401 names the server and the attempted action', () => {
  const err = toKubeError(new k8s.ApiException(401, 'Unauthorized', status(401, 'Unauthorized', 'Unauthorized'), {}), call);
  assert.ok(err instanceof ForbiddenError);
  assert.equal(err.message, 'the API server at https://127.0.0.1:6443 rejected the credentials (401 Unauthorized) when trying to patch redisclusters.redis.redis.opstreelabs.in "orders" in namespace "redis"');
});

test('404, 409, 422, 429 and 500 map to one sentence each with the status code kept', () => {
  const nf = fromStatus(404, status(404, 'NotFound', 'redisclusters.redis.redis.opstreelabs.in "orders" not found'), call);
  assert.ok(nf instanceof NotFoundError);
  assert.equal(nf.message, 'redisclusters.redis.redis.opstreelabs.in "orders" not found');
  const conflict = fromStatus(409, status(409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again'), call);
  assert.equal(conflict.statusCode, 409);
  assert.equal(conflict.reason, 'Conflict');
  assert.match(conflict.message, /^could not patch redisclusters\.redis\.redis\.opstreelabs\.in "orders" in namespace "redis": the object has been modified/);
  assert.match(fromStatus(422, status(422, 'Invalid', 'spec.x: Invalid value'), call).message, /^the API server refused to patch .*: spec\.x: Invalid value$/);
  assert.equal(fromStatus(429, status(429, 'TooManyRequests', 'slow down'), call).statusCode, 429);
  const server = fromStatus(500, status(500, 'InternalError', 'etcd is sad'), call);
  assert.equal(server.message, 'the API server failed to patch redisclusters.redis.redis.opstreelabs.in "orders" in namespace "redis" (500 InternalError): etcd is sad');
  assert.ok(!server.message.includes('\n'));
});

test('a body that is not JSON still yields its first line', () => {
  assert.deepEqual(parseStatus('upstream connect error\nmore'), { message: 'upstream connect error' });
  assert.equal(parseStatus(''), undefined);
  assert.equal(fromStatus(502, '<html>bad gateway</html>', { verb: 'list', resource: 'pods' }).message, 'the API server failed to list pods (502): <html>bad gateway</html>');
});

test('a refused connection names the server URL; our own errors pass through untouched', () => {
  const refused = Object.assign(new Error('request to https://127.0.0.1:1/ failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  assert.equal(networkCode(refused), 'ECONNREFUSED');
  const err = toKubeError(refused, { verb: 'list', resource: 'pods', namespace: 'redis', server: 'https://127.0.0.1:1' });
  assert.ok(err instanceof KubeError);
  assert.equal(err.message, 'cannot reach the API server at https://127.0.0.1:1 (ECONNREFUSED) to list pods in namespace "redis"');
  const tls = toKubeError(Object.assign(new Error('self-signed'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), { verb: 'list', resource: 'pods', server: 'https://h' });
  assert.match(tls.message, /cannot verify the TLS certificate of the API server at https:\/\/h/);
  const ours = new RefusedError('no');
  assert.equal(toKubeError(ours, call), ours);
});
