// report's summary: path and size, counts, failures grouped by their one reason, and the permissions to ask for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { palette } from '../../../src/render/color.js';
import { reportText } from '../../../src/render/report.js';
import type { Manifest, ReportResult } from '../../../src/workflows/report/index.js';

const plain = palette({ isTTY: false });

function result(parts: Manifest['parts']): ReportResult {
  const count = (s: string) => parts.filter((p) => p.status === s).length;
  return {
    path: '/tmp/r.zip', bytes: 2048,
    manifest: {
      apiVersion: 'redis.kubectl.io/v1alpha1', kind: 'Report', createdAt: '', command: '', kubectlRedis: { version: '0.1.0' }, kubernetes: { context: 'east', server: '' },
      targets: [{ ref: 'sts/cache', kind: 'StatefulSet', name: 'cache', namespace: 'redis', system: 'bitnami', topology: 'cluster', redisVersions: {} }], operators: [],
      options: { logs: true, direct: false, timeoutMs: 5000 }, summary: { collected: count('collected'), failed: count('failed'), skipped: count('skipped') },
      redaction: { secretsRead: ['redis/cache'], valuesScrubbed: 0, configKeysRedacted: [], note: '' }, parts,
    },
  };
}

test('a clean report: path, size, counts', () => {
  const t = reportText(result([{ what: 'Pod redis/cache-0', path: 'objects/redis/Pod/cache-0.yaml', status: 'collected', bytes: 10 }]), plain);
  assert.equal(t, '/tmp/r.zip (2.0KiB): report on redis/sts/cache\n  1 part collected, 0 failed, 0 skipped; 1 Secret read, their values kept out\n');
});

test('failures with one reason share a line; missing permissions are named once', () => {
  const frozen = 'Redis in pod redis/cache-2 did not answer on port 6379 within 2000 ms';
  const logs = 'you may not get pods/log in namespace "redis"';
  const t = reportText(result([
    ...['CLUSTER NODES', 'CLUSTER INFO', 'INFO all', 'ROLE'].map((w) => ({ what: `${w} of cache-2`, path: 'x', status: 'failed' as const, reason: frozen })),
    { what: 'log of cache-0', path: 'l0', status: 'failed', reason: logs, missingPermission: 'get pods/log in namespace "redis"' },
    { what: 'log of cache-1', path: 'l1', status: 'failed', reason: logs, missingPermission: 'get pods/log in namespace "redis"' },
  ]), plain);
  assert.match(t, /6 failed/);
  assert.match(t, /^ {2}CLUSTER NODES of cache-2, CLUSTER INFO of cache-2 and 2 more like them: Redis in pod redis\/cache-2 did not answer/m);
  assert.match(t, /^ {2}log of cache-0, log of cache-1: you may not get pods\/log in namespace "redis"$/m);
  assert.match(t, /To collect them, ask for: get pods\/log in namespace "redis" \(see deploy\/rbac\/report\.yaml\)\./);
});
