import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeMarkPatch, readNodeMark, rebootPod, whyNotOursToReboot, NODE_MARK_ANNOTATION, type NodeMark } from '../../../src/workflows/drain-reboot/node.js';
import type { KubeObject } from '../../../src/kube/types.js';

const mark: NodeMark = { operationId: 'op-1', holder: 'ann@laptop', step: 'delay', startedAt: '2026-01-01T00:00:00Z', cordonedBefore: false, bootIdBefore: 'b1' };
const node = (unschedulable: boolean, m?: NodeMark | string): KubeObject => ({
  metadata: { name: 'east-node-2', annotations: m === undefined ? {} : { [NODE_MARK_ANNOTATION]: typeof m === 'string' ? m : JSON.stringify(m) } },
  spec: { unschedulable },
});

test('the mark round-trips through the annotation and a patch can remove it', () => {
  const patch = nodeMarkPatch(mark) as { metadata: { annotations: Record<string, string> } };
  const n = node(true);
  n.metadata.annotations = patch.metadata.annotations;
  assert.deepEqual(readNodeMark(n), mark);
  assert.deepEqual(nodeMarkPatch(null), { metadata: { annotations: { [NODE_MARK_ANNOTATION]: null } } });
});

test('a garbled mark reads as no mark', () => {
  assert.equal(readNodeMark(node(true, '{not json')), undefined);
  assert.equal(readNodeMark(node(true, '{"step":1}')), undefined);
});

test('the re-check after the delay refuses an uncordoned node, a lost mark, and another operation', () => {
  assert.equal(whyNotOursToReboot(node(true, mark), 'op-1'), undefined);
  assert.match(whyNotOursToReboot(node(false, mark), 'op-1') ?? '', /was uncordoned while we waited/);
  assert.match(whyNotOursToReboot(node(true), 'op-1') ?? '', /lost our drain-reboot mark/);
  assert.match(whyNotOursToReboot(node(true, { ...mark, operationId: 'op-2' }), 'op-1') ?? '', /another drain-reboot/);
});

test('the reboot pod is pinned, privileged, hostPID and never restarted', () => {
  const p = rebootPod('east-node-2', 'op-1', 'kube-system');
  const spec = p.spec as { nodeName: string; hostPID: boolean; restartPolicy: string; containers: Array<{ command: string[]; securityContext: { privileged: boolean } }> };
  assert.equal(spec.nodeName, 'east-node-2');
  assert.equal(spec.hostPID, true);
  assert.equal(spec.restartPolicy, 'Never');
  assert.equal(spec.containers[0].securityContext.privileged, true);
  assert.deepEqual(spec.containers[0].command.slice(0, 3), ['nsenter', '-t', '1']);
  assert.ok(p.metadata.name.length <= 63);
});
