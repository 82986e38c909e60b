// What every real node runs besides Redis: the sandbox's DaemonSet controller (kube-proxy on every node, a
// DaemonSet that does not tolerate a taint, cordon, delete, reboot, rollout) and the kubelet's mirror pod of a static
// pod, seen through the real kubectl; and drain-reboot leaving both alone by default as Kured does, refusing them
// with --ignore-daemonsets=false as the real `kubectl drain --dry-run=server` does on the same node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type TestSandbox } from '../support/sandbox.js';

let sb: TestSandbox;

async function ok(args: string[], input?: string): Promise<string> {
  const r = await sb.kubectl(args, { input, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** node -> pod names of a label selector in kube-system */
async function podsByNode(selector: string): Promise<Map<string, string[]>> {
  const out = await ok(['get', 'pods', '-n', 'kube-system', '-l', selector, '-o', 'jsonpath={range .items[*]}{.spec.nodeName} {.metadata.name} {.metadata.deletionTimestamp}{"\\n"}{end}']);
  const m = new Map<string, string[]>();
  for (const line of out.split('\n').filter(Boolean)) {
    const [node, name, deleting] = line.split(' ');
    if (deleting) continue;
    m.set(node, [...(m.get(node) ?? []), name]);
  }
  return m;
}

const MIRROR = 'nginx-proxy-east-node-1';

before(async () => {
  sb = await startSandbox({ clusters: ['east'], nodes: 3, preset: 'none' });
});
after(async () => {
  await sb?.down();
});

describe('DaemonSets and mirror pods', () => {
  test('kube-proxy runs on every node; kubectl get ds -A and rollout status say so', async () => {
    await until('kube-proxy on 3 nodes', async () => (await podsByNode('k8s-app=kube-proxy')).size === 3);
    const rs = await ok(['rollout', 'status', 'ds/kube-proxy', '-n', 'kube-system', '--timeout=30s']);
    assert.match(rs, /daemon set "kube-proxy" successfully rolled out/);
    assert.match(await ok(['get', 'ds', '-A']), /kube-system\s+kube-proxy\s+3\s+3\s+3\s+3\s+3\s+kubernetes\.io\/os=linux/);
    for (const [node, pods] of await podsByNode('k8s-app=kube-proxy')) {
      assert.equal(pods.length, 1, `one kube-proxy on ${node}`);
      const aff = await ok(['get', 'pod', '-n', 'kube-system', pods[0], '-o', 'jsonpath={.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values[0]}']);
      assert.equal(aff, node, 'pinned to its node by metadata.name, as the DaemonSet controller does');
    }
  });

  test('a taint it does not tolerate keeps a DaemonSet off a node; cordon does not; a deleted pod comes back', async () => {
    await ok(['taint', 'node', 'east-node-3', 'dedicated=redis:NoSchedule']);
    await ok(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'log-agent', namespace: 'kube-system' },
      spec: { selector: { matchLabels: { app: 'log-agent' } }, template: { metadata: { labels: { app: 'log-agent' } }, spec: { containers: [{ name: 'agent', image: 'docker.io/fluent/fluent-bit:3.1' }] } } },
    }));
    await ok(['cordon', 'east-node-1']);
    await until('log-agent on nodes 1 and 2', async () => {
      const m = await podsByNode('app=log-agent');
      return m.size === 2 && m.has('east-node-1') && m.has('east-node-2');
    });
    await ok(['rollout', 'status', 'ds/log-agent', '-n', 'kube-system', '--timeout=30s']);
    assert.match(await ok(['get', 'ds', 'log-agent', '-n', 'kube-system']), /log-agent\s+2\s+2\s+2\s+2\s+2\s+<none>/);
    const [old] = (await podsByNode('app=log-agent')).get('east-node-2') ?? [];
    await ok(['delete', 'pod', '-n', 'kube-system', old, '--wait=false']);
    await until('a new log-agent on east-node-2', async () => {
      const now = (await podsByNode('app=log-agent')).get('east-node-2') ?? [];
      return now.length === 1 && now[0] !== old;
    });
    await ok(['uncordon', 'east-node-1']);
    await ok(['taint', 'node', 'east-node-3', 'dedicated-']);
    await until('log-agent on 3 nodes once the taint is gone', async () => (await podsByNode('app=log-agent')).size === 3);
    await ok(['delete', 'ds', 'log-agent', '-n', 'kube-system']);
  });

  test('a template change rolls out; kubectl rollout status waits for it', async () => {
    await ok(['set', 'image', 'ds/kube-proxy', '-n', 'kube-system', 'kube-proxy=registry.k8s.io/kube-proxy:v1.32.9']);
    assert.match(await ok(['rollout', 'status', 'ds/kube-proxy', '-n', 'kube-system', '--timeout=60s']), /successfully rolled out/);
    const images = await ok(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-proxy', '-o', 'jsonpath={.items[*].spec.containers[0].image}']);
    assert.deepEqual(images.split(' '), Array(3).fill('registry.k8s.io/kube-proxy:v1.32.9'));
  });

  test('the mirror pod: owned by its Node, annotated config.mirror, made again when deleted', async () => {
    const meta = JSON.parse(await ok(['get', 'pod', '-n', 'kube-system', MIRROR, '-o', 'jsonpath={.metadata}'])) as { uid: string; ownerReferences: Array<{ kind: string; name: string; controller: boolean }>; annotations: Record<string, string> };
    assert.deepEqual(meta.ownerReferences.map((r) => [r.kind, r.name, r.controller]), [['Node', 'east-node-1', true]]);
    assert.ok(meta.annotations['kubernetes.io/config.mirror']);
    assert.equal(meta.annotations['kubernetes.io/config.source'], 'file');
    await ok(['delete', 'pod', '-n', 'kube-system', MIRROR]);
    await until('the mirror pod back', async () => {
      const r = await sb.kubectl(['get', 'pod', '-n', 'kube-system', MIRROR, '-o', 'jsonpath={.metadata.uid} {.status.phase}']);
      return r.code === 0 && !r.stdout.startsWith(meta.uid) && r.stdout.endsWith('Running');
    });
  });

  test('after a node reboot its DaemonSet and mirror pods run again', async () => {
    const r = await sb.sandbox(['fault', 'node-reboot', '--node', 'east-node-1']);
    assert.equal(r.code, 0, r.stderr);
    await until('east-node-1 pods restarted and Running', async () => {
      const out = await ok(['get', 'pods', '-n', 'kube-system', '--field-selector', 'spec.nodeName=east-node-1', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].ready}{"\\n"}{end}']);
      const lines = out.split('\n').filter(Boolean);
      return lines.length === 2 && lines.every((l) => / Running [1-9]\d* true$/.test(l));
    }, 60_000);
  });
});

describe('drain-reboot and the pods every node runs', () => {
  test('by default the plan leaves the DaemonSet and mirror pods, as Kured does', async () => {
    const r = await sb.cli(['drain-reboot', 'east-node-1', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    const [proxy] = (await podsByNode('k8s-app=kube-proxy')).get('east-node-1') ?? [];
    assert.ok(proxy);
    assert.match(r.stdout + r.stderr, new RegExp(`drain\\s+evict the pods of east-node-1: 0 pods; leaves DaemonSet pod kube-system/${proxy}, mirror pod kube-system/${MIRROR}`));
    assert.doesNotMatch(r.stdout + r.stderr, /WOULD REFUSE/);
  });

  test('--ignore-daemonsets=false refuses the node as kubectl drain --dry-run=server does', async () => {
    const [proxy] = (await podsByNode('k8s-app=kube-proxy')).get('east-node-1') ?? [];
    const ours = await sb.cli(['drain-reboot', 'east-node-1', '--dry-run', '--ignore-daemonsets=false']);
    const theirs = await sb.kubectl(['drain', 'east-node-1', '--dry-run=server']);
    assert.notEqual(theirs.code, 0);
    const refusal = `cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/${proxy}`;
    assert.ok(theirs.stderr.includes(refusal), theirs.stderr);
    assert.ok((ours.stdout + ours.stderr).includes(`WOULD REFUSE: cannot drain node "east-node-1": ${refusal}`), ours.stdout + ours.stderr);
    // and with the flag both leave the DaemonSet pod and the mirror pod
    const kubectlOk = await sb.kubectl(['drain', 'east-node-1', '--dry-run=server', '--ignore-daemonsets']);
    assert.equal(kubectlOk.code, 0, kubectlOk.stderr);
    assert.match(kubectlOk.stderr, new RegExp(`Warning: ignoring DaemonSet-managed Pods: kube-system/${proxy}`));
    assert.doesNotMatch(kubectlOk.stdout, new RegExp(`evicting pod kube-system/(${proxy}|${MIRROR})`));
    assert.equal((await ok(['get', 'node', 'east-node-1', '-o', 'jsonpath={.spec.unschedulable}'])), '', 'server dry runs cordoned nothing');
  });
});

describe('Pod Security admission and the reboot pod', () => {
  test('an enforce label rejects a privileged pod with the admission\'s message; no label admits it', async () => {
    await ok(['create', 'namespace', 'apps']);
    await ok(['label', 'namespace', 'apps', 'pod-security.kubernetes.io/enforce=baseline']);
    const r = await sb.kubectl(['run', 'snoop', '-n', 'apps', '--image=busybox', '--privileged', '--', 'sleep', '1']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim(), 'Error from server (Forbidden): pods "snoop" is forbidden: violates PodSecurity "baseline:latest": privileged (container "snoop" must not set securityContext.privileged=true)');
    await ok(['label', 'namespace', 'apps', 'pod-security.kubernetes.io/enforce-', 'pod-security.kubernetes.io/enforce-version=v1.32']);
    await ok(['run', 'snoop', '-n', 'apps', '--image=busybox', '--privileged', '--dry-run=server']);
  });

  test('drain-reboot into a restricted namespace is refused with the namespace and the label, before any change', async () => {
    await ok(['create', 'namespace', 'locked']);
    await ok(['label', 'namespace', 'locked', 'pod-security.kubernetes.io/enforce=restricted']);
    const r = await sb.cli(['drain-reboot', 'east-node-2', '--reboot-namespace', 'locked', '--delay', '1s', '--yes']);
    assert.equal(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: Pod Security in namespace "locked" refuses the reboot pod \(privileged, hostPID\): label it pod-security\.kubernetes\.io\/enforce=privileged \(kubectl label namespace locked pod-security\.kubernetes\.io\/enforce=privileged --overwrite\), or name one that allows it with --reboot-namespace; nothing was changed/m);
    assert.equal(await ok(['get', 'node', 'east-node-2', '-o', 'jsonpath={.spec.unschedulable}']), '', 'not cordoned');
    const bad = await sb.cli(['drain-reboot', 'east-node-2', '--reboot-namespace', 'Not_A_Name', '--dry-run']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--reboot-namespace takes a namespace name, not "Not_A_Name"/);
  });

  test('a reboot from a mirrored image in a namespace labelled privileged reboots the node', async () => {
    await ok(['create', 'namespace', 'node-ops']);
    await ok(['label', 'namespace', 'node-ops', 'pod-security.kubernetes.io/enforce=privileged']);
    const boot = await ok(['get', 'node', 'east-node-3', '-o', 'jsonpath={.status.nodeInfo.bootID}']);
    const r = await sb.cli(['drain-reboot', 'east-node-3', '--reboot-namespace', 'node-ops', '--reboot-image', 'mirror.example/library/alpine:3.20', '--delay', '1s', '--timeout', '2m', '--yes'], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(await ok(['get', 'node', 'east-node-3', '-o', 'jsonpath={.status.nodeInfo.bootID}']), boot, 'rebooted');
    assert.match(r.stderr, /created reboot pod node-ops\/kubectl-redis-reboot-east-node-3 \(image mirror\.example\/library\/alpine:3\.20\)/);
    const events = await ok(['get', 'events', '-n', 'node-ops', '-o', 'jsonpath={range .items[*]}{.involvedObject.name} {.message}{"\\n"}{end}']);
    assert.match(events, /kubectl-redis-reboot-east-node-3 Started container reboot/, 'the reboot pod ran in node-ops');
  });
});
