import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeDrainErrors, selectPodsToEvict, type DrainOptions } from '../../../src/workflows/drain-reboot/filters.js';
import type { KubeObject } from '../../../src/kube/types.js';

const base: DrainOptions = { ignoreDaemonSets: false, deleteEmptyDirData: false, force: false, skipWaitForDeleteTimeoutSeconds: 0 };
const now = Date.parse('2026-01-01T00:10:00Z');

function pod(name: string, extra: { owner?: string; emptyDir?: boolean; mirror?: boolean; phase?: string; deletedAt?: string } = {}): KubeObject {
  return {
    metadata: {
      name,
      namespace: 'redis',
      ownerReferences: extra.owner ? [{ apiVersion: 'apps/v1', kind: extra.owner, name: 'x', uid: 'u', controller: true }] : undefined,
      annotations: extra.mirror ? { 'kubernetes.io/config.mirror': 'abc' } : undefined,
      deletionTimestamp: extra.deletedAt,
    },
    spec: { volumes: extra.emptyDir ? [{ name: 'tmp', emptyDir: {} }] : [] },
    status: { phase: extra.phase ?? 'Running' },
  };
}

const table: Array<{ name: string; pod: KubeObject; opts?: Partial<DrainOptions>; evict: boolean; error?: RegExp; warning?: RegExp }> = [
  { name: 'statefulset pod is evicted', pod: pod('a', { owner: 'StatefulSet' }), evict: true },
  { name: 'daemonset pod refused without flag', pod: pod('b', { owner: 'DaemonSet' }), evict: false, error: /--ignore-daemonsets/ },
  { name: 'daemonset pod ignored with flag', pod: pod('b', { owner: 'DaemonSet' }), opts: { ignoreDaemonSets: true }, evict: false, warning: /ignoring DaemonSet/ },
  { name: 'mirror pod skipped silently', pod: pod('c', { mirror: true }), evict: false },
  { name: 'emptyDir refused without flag', pod: pod('d', { owner: 'ReplicaSet', emptyDir: true }), evict: false, error: /--delete-emptydir-data/ },
  { name: 'emptyDir evicted with flag', pod: pod('d', { owner: 'ReplicaSet', emptyDir: true }), opts: { deleteEmptyDirData: true }, evict: true, warning: /local storage/ },
  { name: 'finished emptyDir pod needs no flag', pod: pod('d2', { owner: 'Job', emptyDir: true, phase: 'Succeeded' }), evict: true },
  { name: 'bare pod refused without --force', pod: pod('e'), evict: false, error: /--force/ },
  { name: 'bare pod evicted with --force', pod: pod('e'), opts: { force: true }, evict: true, warning: /no controller/ },
  { name: 'long-deleted pod skipped', pod: pod('f', { owner: 'StatefulSet', deletedAt: '2026-01-01T00:00:00Z' }), opts: { skipWaitForDeleteTimeoutSeconds: 60 }, evict: false },
  { name: 'recently deleted pod still waited for', pod: pod('g', { owner: 'StatefulSet', deletedAt: '2026-01-01T00:09:30Z' }), opts: { skipWaitForDeleteTimeoutSeconds: 60 }, evict: true },
];

for (const c of table) {
  test(`drain filter: ${c.name}`, () => {
    const sel = selectPodsToEvict([c.pod], { ...base, ...c.opts }, now);
    assert.equal(sel.evict.length, c.evict ? 1 : 0);
    const errors = [...sel.errors.keys()].join('|');
    const warnings = [...sel.warnings.keys()].join('|');
    if (c.error) assert.match(errors, c.error);
    else assert.equal(errors, '');
    if (c.warning) assert.match(warnings, c.warning);
    else assert.equal(warnings, '');
  });
}

test('errors are grouped per message and named in one sentence', () => {
  const sel = selectPodsToEvict([pod('x'), pod('y'), pod('z', { owner: 'DaemonSet' })], base, now);
  const msg = describeDrainErrors('east-node-1', sel.errors);
  assert.match(msg, /^cannot drain node "east-node-1": /);
  assert.match(msg, /redis\/x, redis\/y/);
  assert.match(msg, /redis\/z/);
});
