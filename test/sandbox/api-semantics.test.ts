// API semantics that Kubernetes' own kubectl command tests (test/cmd) expect, with the real kubectl and the command
// lines a user runs: list pagination, patches that break the schema, unconditional updates, managedFields, and the
// StatefulSet revision history behind `rollout history` / `rollout undo`.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { encodeContinue } from '../../sandbox/apiserver/paging.js';
import { startSandbox, type RunResult, type TestSandbox } from '../support/sandbox.js';
import { startKubectlApi, type KubectlApi } from '../support/apiserver.js';

/** The GET requests kubectl -v=6 logged, as URLs. */
function gets(stderr: string): URL[] {
  return [...stderr.matchAll(/GET (https:\/\/\S+) 200 OK/g)].map((m) => new URL(m[1]));
}

describe('kubectl against the API server: paging, patch validation, unconditional update, managedFields', () => {
  let api: KubectlApi;
  const kubectl = (args: string[], input?: string): Promise<RunResult> => api.kubectl(args, input);
  const ok = (args: string[], input?: string): Promise<string> => api.ok(args, input);

  before(async () => {
    api = await startKubectlApi('api-semantics');
    await ok(['create', 'namespace', 'p']);
    for (const name of ['valid-pod', 'b', 'c', 'd', 'e']) await ok(['run', name, '-n', 'p', '--image=redis:7', '--labels=name=valid-pod']);
  });

  after(async () => {
    await api.stop();
  });

  test('kubectl get --chunk-size=2 reads three pages (Table) following continue, and prints every pod once', async () => {
    const r = await kubectl(['get', 'pods', '-n', 'p', '--chunk-size=2', '--no-headers', '-v=6']);
    assert.equal(r.code, 0, r.stderr);
    const lists = gets(r.stderr).filter((u) => u.pathname === '/api/v1/namespaces/p/pods');
    assert.deepEqual(lists.map((u) => u.searchParams.get('limit')), ['2', '2', '2']);
    assert.equal(lists[0].searchParams.get('continue'), null);
    assert.ok(lists[1].searchParams.get('continue') && lists[2].searchParams.get('continue'));
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]), ['b', 'c', 'd', 'e', 'valid-pod']);
    // the default chunk size (500) is one page here
    const whole = await kubectl(['get', 'pods', '-A', '-v=6']);
    assert.deepEqual(gets(whole.stderr).filter((u) => u.pathname === '/api/v1/pods').map((u) => u.searchParams.get('limit')), ['500']);
  });

  test('a page carries continue and remainingItemCount; continuing reads the list as it was (a consistent snapshot)', async () => {
    const first = JSON.parse(await ok(['get', '--raw', '/api/v1/namespaces/p/pods?limit=2'])) as { metadata: { continue?: string; remainingItemCount?: number; resourceVersion: string }; items: Array<{ metadata: { name: string } }> };
    assert.deepEqual(first.items.map((i) => i.metadata.name), ['b', 'c']);
    assert.equal(first.metadata.remainingItemCount, 3);
    const token = first.metadata.continue ?? '';
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString()) as { v: string; rv: number; start: string };
    assert.deepEqual(decoded, { v: 'meta.k8s.io/v1', rv: Number(first.metadata.resourceVersion), start: 'c\u0000' });
    // a pod created after the first page is not in the rest of this list
    await ok(['run', 'ca', '-n', 'p', '--image=redis:7']);
    const rest = JSON.parse(await ok(['get', '--raw', `/api/v1/namespaces/p/pods?limit=2&continue=${token}`])) as typeof first;
    assert.deepEqual(rest.items.map((i) => i.metadata.name), ['d', 'e']);
    assert.equal(rest.metadata.resourceVersion, first.metadata.resourceVersion);
    assert.equal(rest.metadata.remainingItemCount, 1);
    // with a selector there is no remainingItemCount (it would count what the selector drops)
    const sel = JSON.parse(await ok(['get', '--raw', '/api/v1/namespaces/p/pods?limit=1&labelSelector=name%3Dvalid-pod'])) as typeof first;
    assert.ok(sel.metadata.continue);
    assert.equal(sel.metadata.remainingItemCount, undefined);
    await ok(['delete', 'pod', 'ca', '-n', 'p']);
  });

  test('an expired continue token is 410 Expired with a token to go on with; a malformed one is 400', async () => {
    // a token of a snapshot the server no longer has (as after etcd's compaction)
    const stale = encodeContinue('c\u0000', 2);
    const gone = await kubectl(['get', '--raw', `/api/v1/namespaces/p/pods?limit=2&continue=${stale}`]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^Error from server \(Expired\): The provided continue parameter is too old to display a consistent list result\. You can start a new list without the continue parameter, or use the continue token in this response/m);
    const bad = await kubectl(['get', '--raw', '/api/v1/namespaces/p/pods?limit=2&continue=not-a-token']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Error from server \(BadRequest\): invalid continue token: continue key is not valid/);
    const both = await kubectl(['get', '--raw', `/api/v1/namespaces/p/pods?limit=2&resourceVersion=5&continue=${encodeContinue('c\u0000', 2)}`]);
    assert.match(both.stderr, /specifying resource version is not allowed when using continue/);
  });

  test('a patch that puts a string where the schema has a map is refused (core.sh "Patch fails with type restore error")', async () => {
    const smp = await kubectl(['patch', 'pod', 'valid-pod', '-n', 'p', '-p', '{"metadata":{"labels":"invalid"}}']);
    assert.equal(smp.code, 1);
    assert.match(smp.stderr, /The request is invalid: patch: Invalid value: "map\[metadata:map\[labels:invalid\]\]": cannot restore map from string/);
    const merge = await kubectl(['patch', 'pod', 'valid-pod', '-n', 'p', '--type=merge', '-p', '{"metadata":{"labels":"invalid"}}']);
    assert.equal(merge.code, 1);
    assert.match(merge.stderr, /json: cannot unmarshal string into Go struct field ObjectMeta\.metadata\.labels of type map\[string\]string/);
    const json = await kubectl(['patch', 'pod', 'valid-pod', '-n', 'p', '--type=json', '-p', '[{"op":"replace","path":"/spec/containers/0/image","value":7}]']);
    assert.match(json.stderr, /json: cannot unmarshal number into Go struct field Container\.spec\.containers\.image of type string/);
    const list = await kubectl(['patch', 'pod', 'valid-pod', '-n', 'p', '-p', '{"spec":{"containers":"redis"}}']);
    assert.match(list.stderr, /cannot restore slice from string/);
    assert.equal(await ok(['get', 'pod', 'valid-pod', '-n', 'p', '-o', 'jsonpath={.metadata.labels}']), '{"name":"valid-pod"}', 'nothing was stored');
    assert.match(await ok(['patch', 'pod', 'valid-pod', '-n', 'p', '-p', '{"metadata":{"labels":{"name":"valid-pod"}}}']), /patched \(no change\)/);
    assert.match(await ok(['patch', 'pod', 'valid-pod', '-n', 'p', '-p', '{"metadata":{"labels":{"tier":"db"}}}']), /pod\/valid-pod patched/);
  });

  test('an update with resourceVersion "0" is unconditional where the kind allows it, a stale one is a conflict', async () => {
    await ok(['create', '-f', '-'], '{"kind":"Node","apiVersion":"v1","metadata":{"name":"node-v1-test"}}');
    await ok(['annotate', 'node', 'node-v1-test', 'touched=yes']); // the stored resourceVersion moves on
    assert.match(await ok(['replace', '-f', '-'], '{"kind":"Node","apiVersion":"v1","metadata":{"name":"node-v1-test","resourceVersion":"0"},"spec":{"unschedulable":true}}'), /node\/node-v1-test replaced/);
    assert.equal(await ok(['get', 'node', 'node-v1-test', '-o', 'jsonpath={.spec.unschedulable}']), 'true');
    const stale = await kubectl(['replace', '-f', '-'], '{"kind":"Node","apiVersion":"v1","metadata":{"name":"node-v1-test","resourceVersion":"1"},"spec":{}}');
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /Error from server \(Conflict\): .*the object has been modified; please apply your changes to the latest version and try again/);
    // a Lease's strategy does not allow it: 422
    await ok(['create', '-f', '-'], '{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"l","namespace":"p"},"spec":{"holderIdentity":"a"}}');
    const lease = await kubectl(['replace', '-f', '-'], '{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"l","namespace":"p","resourceVersion":"0"},"spec":{"holderIdentity":"b"}}');
    assert.equal(lease.code, 1);
    assert.match(lease.stderr, /metadata\.resourceVersion: Invalid value: 0x0: must be specified for an update/);
  });

  test('managedFields record who set which fields (kubectl get --show-managed-fields)', async () => {
    await ok(['create', 'configmap', 'mf', '-n', 'p', '--from-literal=a=1']);
    await ok(['label', 'configmap', 'mf', '-n', 'p', 'x=y']);
    await ok(['apply', '--server-side', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mf, namespace: p}\ndata: {b: "2"}\n');
    const shown = JSON.parse(await ok(['get', 'configmap', 'mf', '-n', 'p', '-o', 'json', '--show-managed-fields'])) as { metadata: { managedFields: Array<Record<string, unknown>> } };
    const mf = shown.metadata.managedFields;
    assert.deepEqual(mf.map((e) => [e.manager, e.operation, e.apiVersion, e.fieldsType]), [
      ['kubectl-create', 'Update', 'v1', 'FieldsV1'],
      ['kubectl-label', 'Update', 'v1', 'FieldsV1'],
      ['kubectl', 'Apply', 'v1', 'FieldsV1'],
    ]);
    assert.ok(mf.every((e) => typeof e.time === 'string' && !Number.isNaN(Date.parse(e.time as string))));
    assert.deepEqual(mf[0].fieldsV1, { 'f:data': { '.': {}, 'f:a': {} } });
    assert.deepEqual(mf[1].fieldsV1, { 'f:metadata': { 'f:labels': { '.': {}, 'f:x': {} } } });
    assert.deepEqual(mf[2].fieldsV1, { 'f:data': { 'f:b': {} } });
    const hidden = JSON.parse(await ok(['get', 'configmap', 'mf', '-n', 'p', '-o', 'json'])) as { metadata: Record<string, unknown> };
    assert.equal(hidden.metadata.managedFields, undefined, 'kubectl hides them unless asked');
  });
});

const STS = (image: string, cause: string): string => `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  namespace: hist
  annotations: {kubernetes.io/change-cause: "${cause}"}
spec:
  replicas: 1
  serviceName: web
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: redis
        image: ${image}
`;

describe('kubectl against a whole sandbox: StatefulSet history, drain in chunks', () => {
  let sb: TestSandbox;
  before(async () => {
    sb = await startSandbox({ clusters: ['east'], nodes: 2, preset: 'none' });
  });
  after(async () => {
    await sb?.down();
  });
  const ok = async (args: string[], input?: string, timeoutMs = 30_000): Promise<string> => {
    const r = await sb.kubectl(args, { input, timeoutMs });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  /** `rollout history` as [revision, change-cause] rows. */
  const history = async (): Promise<string[][]> =>
    (await ok(['rollout', 'history', 'sts/web', '-n', 'hist']))
      .split('\n')
      .filter((l) => /^\d+\s/.test(l))
      .map((l) => l.trim().split(/\s{2,}/));
  const waitHistory = async (want: string[][]): Promise<void> => {
    let got: string[][] = [];
    for (let i = 0; i < 100; i++) {
      got = await history();
      if (JSON.stringify(got) === JSON.stringify(want)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(got, want);
  };

  test('rollout history shows change-cause per revision; rollout undo renumbers the revision it goes back to', async () => {
    await ok(['create', 'namespace', 'hist']);
    await ok(['apply', '-f', '-'], STS('redis:7', 'first'));
    await waitHistory([['1', 'first']]);
    await ok(['apply', '-f', '-'], STS('redis:7.2', 'second'));
    await waitHistory([['1', 'first'], ['2', 'second']]);
    assert.match(await ok(['rollout', 'history', 'sts/web', '-n', 'hist', '--revision=1']), /Image:\s+redis:7\n/);
    assert.match(await ok(['rollout', 'undo', 'sts/web', '-n', 'hist', '--to-revision=1']), /statefulset.apps\/web rolled back/);
    await waitHistory([['2', 'second'], ['3', 'first']]);
    assert.equal(await ok(['get', 'sts', 'web', '-n', 'hist', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']), 'redis:7');
    assert.match(await ok(['rollout', 'undo', 'sts/web', '-n', 'hist', '--to-revision=3']), /skipped rollback \(current template already matches revision 3\)/);
    // undo without a revision goes to the previous one, which becomes the newest
    assert.match(await ok(['rollout', 'undo', 'sts/web', '-n', 'hist']), /rolled back/);
    await waitHistory([['3', 'first'], ['4', 'second']]);
    const revs = JSON.parse(await ok(['get', 'controllerrevisions', '-n', 'hist', '-o', 'json'])) as { items: Array<{ metadata: { labels: Record<string, string>; annotations?: Record<string, string> } }> };
    assert.ok(revs.items.every((r) => r.metadata.labels.app === 'web' && r.metadata.labels['controller.kubernetes.io/hash']), 'labelled with the template labels and the hash');
    await ok(['rollout', 'status', 'sts/web', '-n', 'hist', '--timeout=60s'], undefined, 65_000);
  });

  test('kubectl drain --chunk-size=1 lists the node\'s pods page by page and evicts every one', async () => {
    await ok(['scale', 'sts/web', '-n', 'hist', '--replicas=4']);
    await ok(['rollout', 'status', 'sts/web', '-n', 'hist', '--timeout=90s'], undefined, 95_000);
    const pods = (await ok(['get', 'pods', '-n', 'hist', '-o', 'jsonpath={range .items[*]}{.spec.nodeName}{"\\n"}{end}'])).trim().split('\n');
    const counts = new Map<string, number>();
    for (const n of pods) counts.set(n, (counts.get(n) ?? 0) + 1);
    const [node, count] = [...counts].sort((a, b) => b[1] - a[1])[0];
    assert.ok(count >= 2, `a node with more than one pod: ${JSON.stringify([...counts])}`);
    const drain = await sb.kubectl(['drain', node, '--chunk-size=1', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=60s', '-v=6'], { timeoutMs: 65_000 });
    assert.equal(drain.code, 0, drain.stderr);
    const lists = gets(drain.stderr).filter((u) => u.pathname === '/api/v1/pods' && u.searchParams.get('fieldSelector') === `spec.nodeName=${node}`);
    assert.ok(lists.length >= count, `one page per pod: ${lists.length} lists for ${count} pods`);
    assert.ok(lists.every((u) => u.searchParams.get('limit') === '1'));
    assert.ok(lists.some((u) => u.searchParams.get('continue')), 'continued');
    const evicted = (drain.stdout + drain.stderr).match(/evicting pod hist\/web-\d+/g) ?? [];
    assert.equal(new Set(evicted).size, count, drain.stdout);
    await ok(['uncordon', node]);
  });
});
