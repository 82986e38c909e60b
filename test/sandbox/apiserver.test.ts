// The sandbox API server through HTTP (admin and non-admin tokens) and through client-node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Store, type KObject } from '../../sandbox/core/store.js';
import { ensureTls } from '../../sandbox/core/tls.js';
import { startApiServer, writeKubeconfig, type ApiServer } from '../../sandbox/apiserver/index.js';

const ADMIN = 'admin-token';
const VIEWER = 'viewer-token';
let dir: string;
let server: ApiServer;
let ca: string;
let store: Store;

interface Reply {
  code: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test bodies are read field by field
  json: any;
}

function call(method: string, path: string, body?: unknown, opts: { token?: string | null; contentType?: string; accept?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string | number> = {};
    if (opts.token !== null) headers.Authorization = `Bearer ${opts.token ?? ADMIN}`;
    if (data !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(data);
    }
    if (opts.accept) headers.Accept = opts.accept;
    const req = request(new URL(path, server.url), { method, ca, headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ code: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/** Open a watch and collect its events until `until` says stop (or the timeout). */
function watchEvents(path: string, until: (events: Array<{ type: string; object: KObject }>) => boolean, timeoutMs = 5000): Promise<Array<{ type: string; object: KObject }>> {
  return new Promise((resolve, reject) => {
    const events: Array<{ type: string; object: KObject }> = [];
    let buf = '';
    const req = request(new URL(path, server.url), { method: 'GET', ca, headers: { Authorization: `Bearer ${ADMIN}` } }, (res) => {
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, i)) as { type: string; object: KObject });
          buf = buf.slice(i + 1);
        }
        if (until(events)) {
          clearTimeout(timer);
          req.destroy();
          resolve(events);
        }
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve(events);
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`watch ${path} timed out with ${JSON.stringify(events.map((e) => e.type))}`));
    }, timeoutMs);
    req.on('error', () => undefined);
    req.end();
  });
}

function pod(name: string, labels: Record<string, string> = {}, extra: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'redis', image: 'redis:7', ports: [{ containerPort: 6379 }] }], ...extra } };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'apiserver-test-'));
  const tls = ensureTls(dir);
  ca = tls.caCert;
  writeFileSync(join(dir, 'tokens.csv'), `${ADMIN},admin,admin,"system:masters"\n${VIEWER},viewer,viewer-uid,""\n`);
  store = new Store();
  server = await startApiServer({
    ctx: { name: 'east', index: 0, podNetPrefix: '127.10', store, dir, storageDir: join(dir, 'storage'), nodeNames: [], log: () => undefined },
    tls,
    tokenFile: join(dir, 'tokens.csv'),
    bookmarkIntervalMs: 200,
  });
  writeKubeconfig(join(dir, 'kubeconfig'), [{ name: 'east', server: server.url }], ca, ADMIN);
  assert.equal((await call('POST', '/api/v1/namespaces', { metadata: { name: 'redis' } })).code, 201);
});

after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('version, health and discovery; 401 without a valid token', async () => {
  const v = await call('GET', '/version', undefined, { token: null });
  assert.equal(v.json.major, '1');
  assert.match(v.json.gitVersion, /^v1\.32\./);
  assert.equal((await call('GET', '/readyz', undefined, { token: null })).text, 'ok');
  const unauth = await call('GET', '/api/v1/pods', undefined, { token: 'nope' });
  assert.equal(unauth.code, 401);
  assert.equal(unauth.json.kind, 'Status');
  const core = await call('GET', '/api/v1');
  const evict = core.json.resources.find((r: { name: string }) => r.name === 'pods/eviction');
  assert.deepEqual([evict.group, evict.version, evict.kind], ['policy', 'v1', 'Eviction']);
  const apps = await call('GET', '/apis/apps/v1');
  const scale = apps.json.resources.find((r: { name: string }) => r.name === 'statefulsets/scale');
  assert.deepEqual([scale.group, scale.version, scale.kind], ['autoscaling', 'v1', 'Scale']);
  const groups = (await call('GET', '/apis')).json.groups.map((g: { name: string }) => g.name);
  for (const g of ['apps', 'policy', 'coordination.k8s.io', 'authorization.k8s.io', 'rbac.authorization.k8s.io', 'apiextensions.k8s.io', 'storage.k8s.io', 'events.k8s.io']) {
    assert.ok(groups.includes(g), g);
  }
  const oapi = await call('GET', '/openapi/v3');
  assert.ok(oapi.json.paths['apis/apps/v1'].serverRelativeURL.startsWith('/openapi/v3/apis/apps/v1?hash='));
  const sc = await call('GET', '/apis/storage.k8s.io/v1/storageclasses/standard');
  assert.equal(sc.json.metadata.annotations['storageclass.kubernetes.io/is-default-class'], 'true');
});

test('CRUD with defaulting, 409 on a stale update, Status errors', async () => {
  const created = await call('POST', '/api/v1/namespaces/redis/pods', pod('crud-0', { app: 'crud' }));
  assert.equal(created.code, 201);
  assert.equal(created.json.status.phase, 'Pending');
  assert.equal(created.json.spec.restartPolicy, 'Always');
  assert.equal(created.json.spec.terminationGracePeriodSeconds, 30);
  assert.equal(created.json.spec.containers[0].imagePullPolicy, 'IfNotPresent');
  assert.equal(created.json.metadata.namespace, 'redis');
  assert.ok(created.json.metadata.uid);

  const dup = await call('POST', '/api/v1/namespaces/redis/pods', pod('crud-0'));
  assert.equal(dup.code, 409);
  assert.equal(dup.json.reason, 'AlreadyExists');
  assert.equal(dup.json.message, 'pods "crud-0" already exists');

  const got = await call('GET', '/api/v1/namespaces/redis/pods/crud-0');
  const first = structuredClone(got.json);
  got.json.metadata.labels.extra = 'yes';
  const upd = await call('PUT', '/api/v1/namespaces/redis/pods/crud-0', got.json);
  assert.equal(upd.code, 200);
  assert.notEqual(upd.json.metadata.resourceVersion, first.metadata.resourceVersion);
  const stale = await call('PUT', '/api/v1/namespaces/redis/pods/crud-0', first);
  assert.equal(stale.code, 409);
  assert.deepEqual(
    { kind: stale.json.kind, apiVersion: stale.json.apiVersion, status: stale.json.status, reason: stale.json.reason, code: stale.json.code },
    { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Conflict', code: 409 },
  );
  assert.equal(stale.json.message, 'Operation cannot be fulfilled on pods "crud-0": the object has been modified; please apply your changes to the latest version and try again');

  const missing = await call('GET', '/apis/apps/v1/namespaces/redis/statefulsets/nope');
  assert.equal(missing.code, 404);
  assert.equal(missing.json.message, 'statefulsets.apps "nope" not found');
  assert.deepEqual(missing.json.details, { name: 'nope', group: 'apps', kind: 'statefulsets' });

  const badName = await call('POST', '/api/v1/namespaces/redis/pods', pod('Bad_Name'));
  assert.equal(badName.code, 422);
  assert.equal(badName.json.reason, 'Invalid');
  assert.match(badName.json.message, /^Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);

  const noNs = await call('POST', '/api/v1/namespaces/ghost/configmaps', { metadata: { name: 'x' } });
  assert.equal(noNs.code, 404);
  assert.equal(noNs.json.message, 'namespaces "ghost" not found');

  const gen = await call('POST', '/api/v1/namespaces/redis/configmaps', { metadata: { generateName: 'cfg-' }, data: { a: '1' } });
  assert.match(gen.json.metadata.name, /^cfg-[a-z0-9]{5}$/);

  const dry = await call('POST', '/api/v1/namespaces/redis/configmaps?dryRun=All', { metadata: { name: 'dry' } });
  assert.equal(dry.code, 201);
  assert.equal((await call('GET', '/api/v1/namespaces/redis/configmaps/dry')).code, 404);

  const del = await call('DELETE', '/api/v1/namespaces/redis/pods/crud-0');
  assert.equal(del.code, 200);
  assert.equal((await call('GET', '/api/v1/namespaces/redis/pods/crud-0')).code, 404);
});

test('label and field selectors', async () => {
  await call('POST', '/api/v1/namespaces/redis/pods', pod('sel-a', { app: 'sel', role: 'leader' }, { nodeName: 'east-node-1' }));
  await call('POST', '/api/v1/namespaces/redis/pods', pod('sel-b', { app: 'sel', role: 'follower' }, { nodeName: 'east-node-2' }));
  const names = async (q: string): Promise<string[]> => (await call('GET', `/api/v1/namespaces/redis/pods?${q}`)).json.items.map((p: KObject) => p.metadata.name);
  assert.deepEqual(await names('labelSelector=app%3Dsel'), ['sel-a', 'sel-b']);
  assert.deepEqual(await names('labelSelector=app%3Dsel,role!%3Dleader'), ['sel-b']);
  assert.deepEqual(await names('labelSelector=role+in+(leader,x)'), ['sel-a']);
  assert.deepEqual(await names('fieldSelector=spec.nodeName%3Deast-node-2'), ['sel-b']);
  assert.deepEqual(await names('fieldSelector=metadata.name%3Dsel-a,status.phase%3DPending'), ['sel-a']);
  const all = await call('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Deast-node-1');
  assert.deepEqual(all.json.items.map((p: KObject) => p.metadata.name), ['sel-a']);
  assert.equal(all.json.kind, 'PodList');
  const bad = await call('GET', '/api/v1/namespaces/redis/pods?labelSelector=a%3D%3D%3D');
  assert.equal(bad.code, 400);
  const table = await call('GET', '/api/v1/namespaces/redis/pods?labelSelector=app%3Dsel', undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
  assert.equal(table.json.kind, 'Table');
  assert.deepEqual(table.json.columnDefinitions.slice(0, 4).map((c: { name: string }) => c.name), ['Name', 'Ready', 'Status', 'Restarts']);
  assert.deepEqual(table.json.rows[0].cells.slice(0, 3), ['sel-a', '0/1', 'Pending']);
});

test('watch from a resourceVersion, with selectors and bookmarks', async () => {
  const cm = await call('POST', '/api/v1/namespaces/redis/configmaps', { metadata: { name: 'w1', labels: { w: 'yes' } }, data: { v: '1' } });
  const rv = cm.json.metadata.resourceVersion;
  cm.json.data.v = '2';
  await call('PUT', '/api/v1/namespaces/redis/configmaps/w1', cm.json);
  await call('POST', '/api/v1/namespaces/redis/configmaps', { metadata: { name: 'w2' } });
  const replay = await watchEvents(`/api/v1/namespaces/redis/configmaps?watch=true&resourceVersion=${rv}&labelSelector=w%3Dyes`, (ev) => ev.length >= 1, 3000);
  assert.equal(replay[0].type, 'MODIFIED');
  assert.equal((replay[0].object as unknown as { data: { v: string } }).data.v, '2');

  const live = watchEvents(`/api/v1/namespaces/redis/configmaps?watch=1&resourceVersion=${store.resourceVersion}&allowWatchBookmarks=true`, (ev) => ev.some((e) => e.type === 'BOOKMARK') && ev.some((e) => e.type === 'DELETED'));
  await new Promise((r) => setTimeout(r, 50));
  await call('DELETE', '/api/v1/namespaces/redis/configmaps/w2');
  const events = await live;
  const deleted = events.find((e) => e.type === 'DELETED');
  assert.equal(deleted?.object.metadata.name, 'w2');
  const bm = events.find((e) => e.type === 'BOOKMARK');
  assert.equal(bm?.object.kind, 'ConfigMap');
  assert.ok(Number(bm?.object.metadata.resourceVersion) > 0);

  const initial = await watchEvents('/api/v1/namespaces/redis/configmaps?watch=true&labelSelector=w%3Dyes', (ev) => ev.length >= 1, 3000);
  assert.deepEqual(initial.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'w1']]);
});

test('every patch type', async () => {
  await call('POST', '/apis/apps/v1/namespaces/redis/statefulsets', {
    metadata: { name: 'p' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'p' } },
      template: {
        metadata: { labels: { app: 'p' } },
        spec: { containers: [{ name: 'redis', image: 'redis:7', env: [{ name: 'A', value: '1' }] }, { name: 'exporter', image: 'exp:1' }] },
      },
    },
  });
  const base = '/apis/apps/v1/namespaces/redis/statefulsets/p';
  const merge = await call('PATCH', base, { metadata: { annotations: { a: 'b' } }, spec: { replicas: 3 } }, { contentType: 'application/merge-patch+json' });
  assert.equal(merge.code, 200);
  assert.equal(merge.json.spec.replicas, 3);
  assert.equal(merge.json.metadata.annotations.a, 'b');
  assert.equal(merge.json.metadata.generation, 2);

  const smp = await call(
    'PATCH',
    base,
    { spec: { template: { spec: { containers: [{ name: 'redis', image: 'redis:7.2', env: [{ name: 'B', value: '2' }] }, { name: 'exporter', $patch: 'delete' }] } } } },
    { contentType: 'application/strategic-merge-patch+json' },
  );
  assert.equal(smp.code, 200);
  const cs = smp.json.spec.template.spec.containers;
  assert.deepEqual(cs.map((c: { name: string }) => c.name), ['redis']);
  assert.equal(cs[0].image, 'redis:7.2');
  assert.deepEqual(cs[0].env.map((e: { name: string }) => e.name), ['A', 'B']);

  const jp = await call('PATCH', base, [{ op: 'replace', path: '/spec/replicas', value: 5 }, { op: 'add', path: '/metadata/labels', value: { x: 'y' } }], { contentType: 'application/json-patch+json' });
  assert.equal(jp.json.spec.replicas, 5);
  assert.equal(jp.json.metadata.labels.x, 'y');
  const badTest = await call('PATCH', base, [{ op: 'test', path: '/spec/replicas', value: 9 }], { contentType: 'application/json-patch+json' });
  assert.equal(badTest.code, 422);

  const staleRv = await call('PATCH', base, { metadata: { resourceVersion: '1' }, spec: { replicas: 1 } }, { contentType: 'application/merge-patch+json' });
  assert.equal(staleRv.code, 409);

  const ssaYaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  k: v1\n';
  const noManager = await call('PATCH', '/api/v1/namespaces/redis/configmaps/ssa', ssaYaml, { contentType: 'application/apply-patch+yaml' });
  assert.equal(noManager.code, 422);
  const ssa1 = await call('PATCH', '/api/v1/namespaces/redis/configmaps/ssa?fieldManager=test&force=true', ssaYaml, { contentType: 'application/apply-patch+yaml' });
  assert.equal(ssa1.code, 201);
  const ssa2 = await call('PATCH', '/api/v1/namespaces/redis/configmaps/ssa?fieldManager=test', ssaYaml.replace('k: v1', 'k: v2'), { contentType: 'application/apply-patch+yaml' });
  assert.equal(ssa2.code, 200);
  assert.equal(ssa2.json.data.k, 'v2');

  const scale = await call('GET', `${base}/scale`);
  assert.equal(scale.json.kind, 'Scale');
  assert.equal(scale.json.spec.replicas, 5);
  assert.equal(scale.json.status.selector, 'app=p');
  const scaled = await call('PATCH', `${base}/scale`, { spec: { replicas: 2 } }, { contentType: 'application/merge-patch+json' });
  assert.equal(scaled.json.spec.replicas, 2);
  assert.equal((await call('GET', base)).json.spec.replicas, 2);

  const st = await call('PATCH', `${base}/status`, { spec: { replicas: 9 }, status: { readyReplicas: 2 } }, { contentType: 'application/merge-patch+json' });
  assert.equal(st.json.status.readyReplicas, 2);
  assert.equal(st.json.spec.replicas, 2, '/status must not change spec');
  const mainPut = (await call('GET', base)).json;
  mainPut.status = { readyReplicas: 0 };
  const put = await call('PUT', base, mainPut);
  assert.equal(put.json.status.readyReplicas, 2, 'a main update must not change status');
});

test('eviction: 429 when the PDB allows no disruption, allowed otherwise, 500 with two PDBs', async () => {
  store.create('pods', { ...pod('ev-0', { app: 'ev' }), metadata: { name: 'ev-0', namespace: 'redis', labels: { app: 'ev' } }, status: { phase: 'Running' } });
  store.create('poddisruptionbudgets.policy', {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'ev-pdb', namespace: 'redis' },
    spec: { minAvailable: 1, selector: { matchLabels: { app: 'ev' } } },
    status: { observedGeneration: 1, disruptionsAllowed: 0, desiredHealthy: 1, currentHealthy: 1, expectedPods: 1 },
  });
  const body = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'ev-0', namespace: 'redis' } };
  const denied = await call('POST', '/api/v1/namespaces/redis/pods/ev-0/eviction', body);
  assert.equal(denied.code, 429);
  assert.equal(denied.json.reason, 'TooManyRequests');
  assert.equal(denied.json.message, "Cannot evict pod as it would violate the pod's disruption budget.");
  assert.deepEqual(denied.json.details.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget ev-pdb needs 1 healthy pods and has 1 currently' }]);
  assert.ok(store.get('pods', 'redis', 'ev-0'));

  const pdb = store.get('poddisruptionbudgets.policy', 'redis', 'ev-pdb') as KObject;
  pdb.status = { ...(pdb.status as object), disruptionsAllowed: 1, currentHealthy: 2 };
  store.update('poddisruptionbudgets.policy', pdb, { subresource: 'status' });
  const ok = await call('POST', '/api/v1/namespaces/redis/pods/ev-0/eviction', body);
  assert.equal(ok.code, 201);
  assert.equal(ok.json.status, 'Success');
  assert.equal(store.get('pods', 'redis', 'ev-0'), undefined);
  const after = store.get('poddisruptionbudgets.policy', 'redis', 'ev-pdb')?.status as { disruptionsAllowed: number; disruptedPods: Record<string, string> };
  assert.equal(after.disruptionsAllowed, 0);
  assert.ok(after.disruptedPods['ev-0']);

  store.create('pods', { ...pod('ev-1'), metadata: { name: 'ev-1', namespace: 'redis', labels: { app: 'ev' } }, status: { phase: 'Running' } });
  store.create('poddisruptionbudgets.policy', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'ev-pdb2', namespace: 'redis' }, spec: { selector: { matchLabels: { app: 'ev' } } } });
  const two = await call('POST', '/api/v1/namespaces/redis/pods/ev-1/eviction', { ...body, metadata: { name: 'ev-1' } });
  assert.equal(two.code, 500);
  assert.match(two.json.message, /more than one PodDisruptionBudget/);
  const none = await call('POST', '/api/v1/namespaces/redis/pods/ghost/eviction', body);
  assert.equal(none.code, 404);
});

test('RBAC: the real 403 message, bindings, SelfSubjectAccessReview', async () => {
  const denied = await call('GET', '/api/v1/namespaces/redis/pods', undefined, { token: VIEWER });
  assert.equal(denied.code, 403);
  assert.equal(denied.json.reason, 'Forbidden');
  assert.equal(denied.json.message, 'pods is forbidden: User "viewer" cannot list resource "pods" in API group "" in the namespace "redis"');
  const named = await call('POST', '/api/v1/namespaces/redis/pods/x/eviction', {}, { token: VIEWER });
  assert.equal(named.json.message, 'pods "x" is forbidden: User "viewer" cannot create resource "pods/eviction" in API group "" in the namespace "redis"');
  const cluster = await call('GET', '/apis/apps/v1/statefulsets', undefined, { token: VIEWER });
  assert.equal(cluster.json.message, 'statefulsets.apps is forbidden: User "viewer" cannot list resource "statefulsets" in API group "apps" at the cluster scope');

  const bind = await call('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/redis/rolebindings', {
    metadata: { name: 'viewer-view' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'viewer' }],
  });
  assert.equal(bind.code, 201);
  assert.equal((await call('GET', '/api/v1/namespaces/redis/pods', undefined, { token: VIEWER })).code, 200);
  assert.equal((await call('GET', '/api/v1/namespaces/redis/secrets', undefined, { token: VIEWER })).code, 403);
  assert.equal((await call('GET', '/api/v1/namespaces/default/pods', undefined, { token: VIEWER })).code, 403);

  const ssar = (attrs: Record<string, string>): Promise<Reply> =>
    call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attrs } }, { token: VIEWER });
  const yes = await ssar({ namespace: 'redis', verb: 'watch', resource: 'statefulsets', group: 'apps' });
  assert.equal(yes.code, 201);
  assert.equal(yes.json.status.allowed, true);
  assert.match(yes.json.status.reason, /RoleBinding "viewer-view\/redis" of ClusterRole "view" to User "viewer"/);
  const no = await ssar({ namespace: 'redis', verb: 'create', resource: 'pods', subresource: 'eviction' });
  assert.equal(no.json.status.allowed, false);
});

test('CRDs register and unregister their resources, with scale and status', async () => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'redisfailovers.databases.spotahome.com' },
    spec: {
      group: 'databases.spotahome.com',
      scope: 'Namespaced',
      names: { kind: 'RedisFailover', plural: 'redisfailovers', singular: 'redisfailover', shortNames: ['rf'] },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } }, subresources: { status: {}, scale: { specReplicasPath: '.spec.redis.replicas', statusReplicasPath: '.status.replicas' } } }],
    },
  };
  const created = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  assert.equal(created.code, 201);
  assert.ok(created.json.status.conditions.some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True'));
  const disc = await call('GET', '/apis/databases.spotahome.com/v1');
  const names = disc.json.resources.map((r: { name: string }) => r.name);
  assert.deepEqual(names, ['redisfailovers', 'redisfailovers/status', 'redisfailovers/scale']);
  assert.deepEqual(disc.json.resources[0].shortNames, ['rf']);
  const base = '/apis/databases.spotahome.com/v1/namespaces/redis/redisfailovers';
  const cr = await call('POST', base, { apiVersion: 'databases.spotahome.com/v1', kind: 'RedisFailover', metadata: { name: 'sessions' }, spec: { redis: { replicas: 3 } } });
  assert.equal(cr.code, 201);
  const smp = await call('PATCH', `${base}/sessions`, { spec: { x: 1 } }, { contentType: 'application/strategic-merge-patch+json' });
  assert.equal(smp.code, 415);
  const scaled = await call('PUT', `${base}/sessions/scale`, { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'sessions' }, spec: { replicas: 5 } });
  assert.equal(scaled.json.spec.replicas, 5);
  assert.equal((await call('GET', `${base}/sessions`)).json.spec.redis.replicas, 5);

  // A CRD written straight to the store (as a mini operator does) is served too.
  store.create('customresourcedefinitions.apiextensions.k8s.io', { ...crd, metadata: { name: 'redisclusters.redis.redis.opstreelabs.in' }, spec: { ...crd.spec, group: 'redis.redis.opstreelabs.in', names: { kind: 'RedisCluster', plural: 'redisclusters' } } } as KObject);
  assert.equal((await call('GET', '/apis/redis.redis.opstreelabs.in/v1/namespaces/redis/redisclusters')).code, 200);

  assert.equal((await call('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/redisfailovers.databases.spotahome.com')).code, 200);
  assert.equal((await call('GET', base)).code, 404);
  assert.equal(store.list('redisfailovers.databases.spotahome.com').items.length, 0);
});

test('namespace deletion: Terminating, contents deleted, then gone', async () => {
  await call('POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
  await call('POST', '/api/v1/namespaces/doomed/configmaps', { metadata: { name: 'c' } });
  const del = await call('DELETE', '/api/v1/namespaces/doomed');
  assert.equal(del.code, 200);
  assert.equal(del.json.status.phase, 'Terminating');
  const refused = await call('POST', '/api/v1/namespaces/doomed/configmaps', { metadata: { name: 'late' } });
  assert.equal(refused.code, 403);
  const deadline = Date.now() + 5000;
  while ((await call('GET', '/api/v1/namespaces/doomed')).code !== 404) {
    assert.ok(Date.now() < deadline, 'namespace not gone in 5 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(store.list('configmaps', 'doomed').items.length, 0);
});

test('orphan propagation removes owner references', async () => {
  const owner = await call('POST', '/apis/apps/v1/namespaces/redis/replicasets', { metadata: { name: 'own' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } });
  const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'own', uid: owner.json.metadata.uid, controller: true };
  await call('POST', '/api/v1/namespaces/redis/pods', { ...pod('orphan-0'), metadata: { name: 'orphan-0', ownerReferences: [ref] } });
  await call('DELETE', '/apis/apps/v1/namespaces/redis/replicasets/own', { propagationPolicy: 'Orphan' });
  assert.equal((await call('GET', '/api/v1/namespaces/redis/pods/orphan-0')).json.metadata.ownerReferences, undefined);
});

test('fault endpoint: injected errors, latency, dropped watches, admin only', async () => {
  const forbidden = await call('POST', '/sandbox/v1/faults', { kind: 'clear' }, { token: VIEWER });
  assert.equal(forbidden.code, 403);
  assert.equal((await call('POST', '/sandbox/v1/faults', { kind: 'error', code: 500, verbs: ['list'], resource: 'configmaps', count: 1 })).code, 200);
  const failed = await call('GET', '/api/v1/namespaces/redis/configmaps');
  assert.equal(failed.code, 500);
  assert.equal(failed.json.reason, 'InternalError');
  assert.equal((await call('GET', '/api/v1/namespaces/redis/configmaps')).code, 200);

  await call('POST', '/sandbox/v1/faults', { kind: 'error', code: 429, resource: 'pods/eviction' });
  const ev = await call('POST', '/api/v1/namespaces/redis/pods/sel-a/eviction', {});
  assert.equal(ev.code, 429);
  assert.equal((await call('GET', '/sandbox/v1/faults')).json.faults.length, 1);
  await call('POST', '/sandbox/v1/faults', { kind: 'clear' });
  assert.equal((await call('GET', '/sandbox/v1/faults')).json.faults.length, 0);

  await call('POST', '/sandbox/v1/faults', { kind: 'latency', ms: 300, seconds: 5 });
  const t0 = Date.now();
  await call('GET', '/api/v1/namespaces');
  assert.ok(Date.now() - t0 >= 280, 'latency applied');
  await call('POST', '/sandbox/v1/faults', { kind: 'clear' });

  const watching = watchEvents('/api/v1/namespaces/redis/configmaps?watch=true', () => false, 5000);
  await new Promise((r) => setTimeout(r, 200));
  await call('POST', '/sandbox/v1/faults', { kind: 'drop-watches' });
  const events = await watching; // resolves on end, rejects on timeout
  assert.ok(events.length > 0);
  const bad = await call('POST', '/sandbox/v1/faults', { kind: 'meteor' });
  assert.equal(bad.code, 400);
});

test('client-node 1.4 works against it: list, create, merge patch, errors', async () => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(join(dir, 'kubeconfig'));
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const nss = await core.listNamespace();
  assert.ok(nss.items.some((n) => n.metadata?.name === 'kube-system'));
  await core.createNamespacedConfigMap({ namespace: 'redis', body: { metadata: { name: 'cn' }, data: { a: '1' } } });
  const patched = await core.patchNamespacedConfigMap(
    { name: 'cn', namespace: 'redis', body: { data: { b: '2' } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  assert.deepEqual(patched.data, { a: '1', b: '2' });
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  await assert.rejects(apps.readNamespacedStatefulSet({ name: 'nope', namespace: 'redis' }), (e: unknown) => {
    assert.ok(e instanceof k8s.ApiException);
    assert.equal(e.code, 404);
    assert.equal(JSON.parse(e.body as string).reason, 'NotFound');
    return true;
  });
  const lease = await kc.makeApiClient(k8s.CoordinationV1Api).createNamespacedLease({
    namespace: 'redis',
    body: { metadata: { name: 'lock' }, spec: { holderIdentity: 'me', leaseDurationSeconds: 15 } },
  });
  assert.equal(lease.spec?.holderIdentity, 'me');
});
