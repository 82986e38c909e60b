// The product's lists meet a paged API server (issue 26): `status -A` and drain-reboot, run with the test-only page
// size KUBECTL_REDIS_TEST_LIST_PAGE_SIZE=1 so that every list they make (targets, operator Deployments, each
// target's pods, the nodes, a node's pods in every namespace) spans several pages, get every object a single
// unpaged view shows. (A real cluster pages at 500: creating more than 500 pods per node in the sandbox would cost a
// process per pod; the product's 500 itself is covered by test/unit/kube/paging.test.ts.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TargetReport } from '../../src/workflows/status/report.js';
import { startSandbox, type TestSandbox } from '../support/sandbox.js';

const PAGED = { KUBECTL_REDIS_TEST_LIST_PAGE_SIZE: '1' };

interface PodJson {
  metadata: { name: string; namespace: string; uid: string; ownerReferences?: Array<{ kind: string }>; annotations?: Record<string, string> };
  spec: { nodeName?: string };
}

let sb: TestSandbox;

async function kjson<T>(args: string[]): Promise<T> {
  const r = await sb.kubectl([...args, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

async function status(env?: Record<string, string>): Promise<TargetReport[]> {
  const r = await sb.cli(['status', '-A', '-o', 'json'], { env, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { kind: string; items: TargetReport[] }).items;
}

describe('status -A and drain-reboot against a paged API server', { timeout: 900_000 }, () => {
  before(async () => {
    sb = await startSandbox({ preset: 'ot-replication', nodes: 3 });
  });
  after(async () => {
    await sb?.down();
  });

  test('the sandbox pages: a list with limit=1 returns one pod and a continue token', async () => {
    const r = await sb.kubectl(['get', '--raw', '/api/v1/pods?limit=1']);
    assert.equal(r.code, 0, r.stderr);
    const page = JSON.parse(r.stdout) as { items: unknown[]; metadata: { continue?: string; remainingItemCount?: number } };
    assert.equal(page.items.length, 1);
    assert.ok(page.metadata.continue, 'a client that stops at the first page misses pods');
    assert.ok((page.metadata.remainingItemCount ?? 0) >= 3);
  });

  test('status -A in pages of one sees every target, every pod and the operator', async () => {
    const whole = await status();
    const paged = await status(PAGED);
    const view = (rs: TargetReport[]) => rs.map((r) => ({ ref: r.ref, namespace: r.namespace, pods: r.podReports.map((p) => p.pod).sort(), operator: r.operator.deployment })).sort((a, b) => a.ref.localeCompare(b.ref));
    assert.ok(whole.length >= 2, `targets: ${whole.map((r) => r.ref).join(', ')}`);
    assert.deepEqual(view(paged), view(whole));
    assert.ok(paged.every((r) => r.operator.present && r.operator.deployment), 'the operator Deployment was found across pages');
    // and every Redis pod kubectl lists in the targets' namespace is in some report (a sentinel's report shows the pods
    // it watches too)
    const pods = await kjson<{ items: PodJson[] }>(['get', 'pods', '-n', 'redis']);
    assert.deepEqual([...new Set(paged.flatMap((r) => r.podReports.map((p) => p.pod)))].sort(), pods.items.map((p) => p.metadata.name).sort());
    assert.ok(pods.items.length >= 4);
  });

  test('drain-reboot in pages of one evicts every pod of the node', async () => {
    const before = (await kjson<{ items: PodJson[] }>(['get', 'pods', '-A'])).items;
    const perNode = new Map<string, PodJson[]>();
    for (const p of before) if (p.spec.nodeName) perNode.set(p.spec.nodeName, [...(perNode.get(p.spec.nodeName) ?? []), p]);
    const [node, onNode] = [...perNode].sort((a, b) => b[1].length - a[1].length)[0];
    // a drain leaves DaemonSet pods and the kubelet's mirror pods (kubectl drain's filters)
    const evictable = onNode.filter((p) => !(p.metadata.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet') && p.metadata.annotations?.['kubernetes.io/config.mirror'] === undefined);
    assert.ok(evictable.length >= 2, `${node} has ${evictable.length} pods`);
    const r = await sb.cli(['drain-reboot', node, '--delete-emptydir-data', '--ignore-daemonsets', '--timeout', '4m', '--delay', '1s', '--yes', '-o', 'json'], { env: PAGED, timeoutMs: 400_000 });
    assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    const [result] = JSON.parse(r.stdout) as Array<{ node: string; result: string; podsEvicted: number }>;
    assert.deepEqual([result.node, result.result], [node, 'rebooted']);
    assert.equal(result.podsEvicted, evictable.length, r.stderr);
    for (const p of evictable) assert.match(r.stderr, new RegExp(`evicted pod ${p.metadata.namespace}/${p.metadata.name}\\b`));
    const after = (await kjson<{ items: PodJson[] }>(['get', 'pods', '-A'])).items;
    const stayed = after.filter((p) => evictable.some((e) => e.metadata.uid === p.metadata.uid));
    assert.deepEqual(stayed.map((p) => p.metadata.name), [], 'every pod that was on the node was evicted');
  });
});
