import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeError } from '../../../src/errors.js';
import { kubeconfigPaths, loadKubeconfig, resolveContext } from '../../../src/kube/kubeconfig.js';

function kubeconfigText(opts: { clusters: Array<[string, string]>; contexts: Array<[string, string, string?]>; current?: string; ca?: string }): string {
  const lines = ['apiVersion: v1', 'kind: Config', 'clusters:'];
  for (const [name, server] of opts.clusters) {
    lines.push(`- name: ${name}`, '  cluster:', `    server: ${server}`);
    if (opts.ca) lines.push(`    certificate-authority: ${opts.ca}`);
  }
  lines.push('users:', '- name: u', '  user:', '    token: t', 'contexts:');
  for (const [name, cluster, ns] of opts.contexts) {
    lines.push(`- name: ${name}`, '  context:', `    cluster: ${cluster}`, '    user: u');
    if (ns) lines.push(`    namespace: ${ns}`);
  }
  if (opts.current !== undefined) lines.push(`current-context: "${opts.current}"`);
  return `${lines.join('\n')}\n`;
}

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('several KUBECONFIG files merge as kubectl does: first file wins per name, first current-context wins', () => {
  withDir((dir) => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const c = join(dir, 'c');
    writeFileSync(a, kubeconfigText({ clusters: [['east', 'https://a-east:6443']], contexts: [['east', 'east', 'redis']] }));
    writeFileSync(b, kubeconfigText({ clusters: [['east', 'https://b-east:6443'], ['west', 'https://b-west:6443']], contexts: [['east', 'west'], ['west', 'west']], current: 'west' }));
    writeFileSync(c, kubeconfigText({ clusters: [['north', 'https://c:6443']], contexts: [['north', 'north']], current: 'north' }));
    const merged = loadKubeconfig({ env: { KUBECONFIG: [a, join(dir, 'missing'), b, c].join(':') } });
    assert.deepEqual(merged.sources, [a, b, c]);
    assert.deepEqual(merged.clusters.map((x) => [x.name, x.cluster.server]), [['east', 'https://a-east:6443'], ['west', 'https://b-west:6443'], ['north', 'https://c:6443']]);
    assert.deepEqual(merged.contexts.map((x) => x.name), ['east', 'west', 'north']);
    assert.equal(merged['current-context'], 'west', 'a file without current-context does not set it; the first one that does wins');
    const east = resolveContext(merged, 'east');
    assert.equal(east.server, 'https://a-east:6443', 'context "east" from file a, which points at cluster "east" from file a');
    assert.equal(east.namespace, 'redis');
    const current = resolveContext(merged);
    assert.equal(current.name, 'west');
    assert.equal(current.namespace, 'default', 'no namespace in the context means "default"');
  });
});

test('relative certificate paths are relative to the file that names them', () => {
  withDir((dir) => {
    const file = join(dir, 'config');
    writeFileSync(file, kubeconfigText({ clusters: [['east', 'https://x']], contexts: [['east', 'east']], current: 'east', ca: 'certs/ca.crt' }));
    const merged = loadKubeconfig({ explicit: file });
    assert.equal(merged.clusters[0].cluster['certificate-authority'], join(dir, 'certs/ca.crt'));
  });
});

test('an unknown context names itself and the contexts that exist', () => {
  withDir((dir) => {
    const file = join(dir, 'config');
    writeFileSync(file, kubeconfigText({ clusters: [['east', 'https://x'], ['west', 'https://y']], contexts: [['east', 'east'], ['west', 'west']], current: 'east' }));
    const merged = loadKubeconfig({ explicit: file });
    assert.throws(() => resolveContext(merged, 'does-not-exist'), (e: unknown) => {
      assert.ok(e instanceof KubeError);
      assert.equal(e.message, 'context "does-not-exist" does not exist in the kubeconfig; available contexts: east, west');
      assert.equal(e.exitCode, 1);
      return true;
    });
  });
});

test('no current-context and a current-context naming nothing are both explained', () => {
  withDir((dir) => {
    const none = join(dir, 'none');
    writeFileSync(none, kubeconfigText({ clusters: [['east', 'https://x']], contexts: [['east', 'east']] }));
    assert.throws(() => resolveContext(loadKubeconfig({ explicit: none })), /no current context is set in the kubeconfig ".*none"; available contexts: east/);
    const dangling = join(dir, 'dangling');
    writeFileSync(dangling, kubeconfigText({ clusters: [['east', 'https://x']], contexts: [['east', 'nowhere']], current: 'gone' }));
    assert.throws(() => resolveContext(loadKubeconfig({ explicit: dangling })), /context "gone" \(the current-context\) does not exist/);
    assert.throws(() => resolveContext(loadKubeconfig({ explicit: dangling }), 'east'), /context "east" refers to cluster "nowhere", which is not in the kubeconfig/);
  });
});

test('a missing or unreadable kubeconfig names its path', () => {
  withDir((dir) => {
    assert.throws(() => loadKubeconfig({ explicit: join(dir, 'nope') }), (e: unknown) => e instanceof KubeError && e.message === `cannot read kubeconfig "${join(dir, 'nope')}": no such file`);
    assert.throws(() => loadKubeconfig({ env: {}, home: dir }), new RegExp(`cannot read kubeconfig "${join(dir, '.kube', 'config')}": no such file`));
    assert.throws(() => loadKubeconfig({ env: { KUBECONFIG: `${join(dir, 'x')}:${join(dir, 'y')}` } }), /none of the files in KUBECONFIG exist/);
    const bad = join(dir, 'bad');
    writeFileSync(bad, 'clusters: [unclosed\n');
    assert.throws(() => loadKubeconfig({ explicit: bad }), new RegExp(`kubeconfig "${bad}" is not valid YAML`));
    if (process.getuid?.() !== 0) {
      const locked = join(dir, 'locked');
      writeFileSync(locked, 'kind: Config\n');
      chmodSync(locked, 0o000);
      assert.throws(() => loadKubeconfig({ explicit: locked }), /permission denied/);
    }
  });
});

test('--kubeconfig beats KUBECONFIG, which beats ~/.kube/config', () => {
  assert.deepEqual(kubeconfigPaths({ explicit: '/x/flag', env: { KUBECONFIG: '/x/a:/x/b' } }).paths, ['/x/flag']);
  assert.deepEqual(kubeconfigPaths({ env: { KUBECONFIG: '/x/a::/x/b:/x/a' } }).paths, ['/x/a', '/x/b']);
  assert.deepEqual(kubeconfigPaths({ env: {}, home: '/home/me' }).paths, ['/home/me/.kube/config']);
});
