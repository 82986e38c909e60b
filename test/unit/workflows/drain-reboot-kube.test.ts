// drain-reboot's Kubernetes side against a tiny local API: the journal on a ConfigMap (create, replace with the
// resourceVersion, 409 -> JournalConflict) and the atomic re-check before the reboot (a JSON patch that tests the
// node is still cordoned and still carries our exact mark; a failed test = not rebooted, RefusedError).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefusedError } from '../../../src/errors.js';
import { Journal, JournalConflict, type JournalDoc } from '../../../src/reconcile/journal.js';
import { ConfigMapJournalBackend, JOURNAL_KEY } from '../../../src/reconcile/journal-configmap.js';
import { DrainHelper } from '../../../src/workflows/drain-reboot/helper.js';
import { NODE_MARK_ANNOTATION, type NodeMark } from '../../../src/workflows/drain-reboot/node.js';
import { sendJson, startLocalApi } from '../kube/local-api.js';

test('the journal lives in a ConfigMap: created, replaced with its resourceVersion, a stale write is a JournalConflict', async () => {
  let stored: { metadata: { resourceVersion: string }; data: Record<string, string> } | undefined;
  let rv = 10;
  const api = await startLocalApi((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === '/api/v1/namespaces/kube-system/configmaps/j') {
      if (!stored) return sendJson(res, 404, { kind: 'Status', code: 404, reason: 'NotFound', message: 'configmaps "j" not found' });
      return sendJson(res, 200, stored);
    }
    if (req.method === 'POST' && path === '/api/v1/namespaces/kube-system/configmaps') {
      stored = { ...JSON.parse(req.body), metadata: { ...JSON.parse(req.body).metadata, resourceVersion: String(++rv) } };
      return sendJson(res, 201, stored);
    }
    if (req.method === 'PUT' && path === '/api/v1/namespaces/kube-system/configmaps/j') {
      const body = JSON.parse(req.body) as { metadata: { resourceVersion: string } };
      if (body.metadata.resourceVersion !== stored?.metadata.resourceVersion) return sendJson(res, 409, { kind: 'Status', code: 409, reason: 'Conflict', message: 'the object has been modified' });
      stored = { ...JSON.parse(req.body), metadata: { ...body.metadata, resourceVersion: String(++rv) } };
      return sendJson(res, 200, stored);
    }
    sendJson(res, 404, { kind: 'Status', code: 404, message: `no ${req.method} ${path}` });
  });
  try {
    const backend = new ConfigMapJournalBackend(api.kube, 'kube-system');
    assert.equal(await backend.load('j'), undefined);
    const opts = { operation: 'drain-reboot', target: 'nodes', holder: 'ann@laptop', args: { nodes: ['n1'] }, newId: () => 'dr-1', now: () => new Date('2026-01-01T00:00:00Z') };
    const j = await Journal.open(backend, 'j', opts);
    await j.done('n1:precheck');
    const loaded = await backend.load('j');
    assert.equal(loaded?.doc.steps['n1:precheck'].status, 'done');
    assert.equal((JSON.parse(stored!.data[JOURNAL_KEY]) as JournalDoc).id, 'dr-1');
    await assert.rejects(backend.save('j', loaded!.doc, '1'), JournalConflict);
    // the same command again resumes it
    await j.fail('interrupted');
    const again = await Journal.open(backend, 'j', opts);
    assert.equal(again.resumed, true);
    assert.equal(again.isDone('n1:precheck'), true);
  } finally {
    await api.close();
  }
});

const mark: NodeMark = { operationId: 'dr-1', holder: 'ann@laptop', step: 'delay', startedAt: '2026-01-01T00:00:00Z', cordonedBefore: false, bootIdBefore: 'b1' };

async function claimAgainst(node: { unschedulable: boolean; mark?: NodeMark }, patchAnswer: number) {
  const patches: unknown[] = [];
  const api = await startLocalApi((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === '/api/v1/nodes/n1') {
      return sendJson(res, 200, {
        metadata: { name: 'n1', annotations: node.mark ? { [NODE_MARK_ANNOTATION]: JSON.stringify(node.mark) } : {} },
        spec: { unschedulable: node.unschedulable },
      });
    }
    if (req.method === 'PATCH' && path === '/api/v1/nodes/n1') {
      patches.push({ contentType: req.headers['content-type'], body: JSON.parse(req.body) });
      if (patchAnswer !== 200) return sendJson(res, patchAnswer, { kind: 'Status', code: patchAnswer, reason: 'Invalid', message: 'test failed' });
      return sendJson(res, 200, { metadata: { name: 'n1' } });
    }
    sendJson(res, 404, { kind: 'Status', code: 404 });
  });
  const helper = new DrainHelper(api.kube, { ignoreDaemonSets: false, deleteEmptyDirData: false, timeoutMs: 1000, log: () => undefined });
  try {
    const result = await helper.claimForReboot('n1', 'dr-1', { ...mark, step: 'reboot' }).then(() => undefined, (e: unknown) => e);
    return { result, patches };
  } finally {
    await api.close();
  }
}

test('the re-check before the reboot is one JSON patch that tests cordon and our exact mark', async () => {
  const { result, patches } = await claimAgainst({ unschedulable: true, mark }, 200);
  assert.equal(result, undefined);
  assert.equal(patches.length, 1);
  const p = patches[0] as { contentType: string; body: Array<{ op: string; path: string; value: unknown }> };
  assert.equal(p.contentType, 'application/json-patch+json');
  assert.deepEqual(p.body.map((o) => o.op), ['test', 'test', 'replace']);
  assert.deepEqual(p.body[0], { op: 'test', path: '/spec/unschedulable', value: true });
  assert.equal(p.body[1].path, '/metadata/annotations/redis.kubectl.io~1drain-reboot');
  assert.equal(p.body[1].value, JSON.stringify(mark));
  assert.equal((JSON.parse(p.body[2].value as string) as NodeMark).step, 'reboot');
});

test('uncordoned (or changed under us) before the reboot: RefusedError, exit 4, and no patch sent when it is already visible', async () => {
  const uncordoned = await claimAgainst({ unschedulable: false, mark }, 200);
  assert.ok(uncordoned.result instanceof RefusedError);
  assert.equal(uncordoned.result.exitCode, 4);
  assert.match(uncordoned.result.message, /node "n1" was uncordoned while we waited; it may have new pods, so it was not rebooted/);
  assert.equal(uncordoned.patches.length, 0);
  const other = await claimAgainst({ unschedulable: true, mark: { ...mark, operationId: 'dr-2' } }, 200);
  assert.match((other.result as Error).message, /marked by another drain-reboot \(dr-2/);
  const raced = await claimAgainst({ unschedulable: true, mark }, 422);
  assert.ok(raced.result instanceof RefusedError, 'a failed test op refuses');
});
