// The real kubectl against the sandbox. Part 1 runs against an API server alone (in this process); part 2 against a
// whole sandbox (controllers, kubelets running redis-server) started with the e2e helper.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { addSandboxUser } from '../../sandbox/apiserver/index.js';
import { run, startSandbox, type RunResult, type TestSandbox } from '../support/sandbox.js';
import { startKubectlApi, type KubectlApi } from '../support/apiserver.js';

// The machine's kubectl is a dispatcher running kubectl.<minor> from here, by the server's version (v1.32 here).
const KUBECTL_DIR = '/usr/lib/google-cloud-sdk/bin';

interface PortForward {
  port: number;
  child: ChildProcessWithoutNullStreams;
  stderr(): string;
  stop(): Promise<void>;
}

/** `kubectl port-forward ARGS` until it prints its local port (the first one, when it forwards several). */
async function portForward(kubectl: string, args: string[], env: NodeJS.ProcessEnv): Promise<PortForward> {
  const child = spawn(kubectl, ['port-forward', ...args], { env });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`port-forward said: ${out} ${err}`)), 15_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = out.match(/Forwarding from 127\.0\.0\.1:(\d+)/);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on('exit', (code) => reject(new Error(`port-forward exited (${code}): ${out} ${err}`)));
    });
    return { port, child, stderr: () => err, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

const STS = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  namespace: redis
spec:
  replicas: 2
  serviceName: web
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: redis
        image: redis:7
        ports: [{containerPort: 6379, name: redis}]
`;

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: redisfailovers.databases.spotahome.com}
spec:
  group: databases.spotahome.com
  scope: Namespaced
  names: {kind: RedisFailover, plural: redisfailovers, singular: redisfailover, shortNames: [rf]}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    additionalPrinterColumns:
    - {name: Redis, type: integer, jsonPath: .spec.redis.replicas}
`;

describe('kubectl against the API server', () => {
  let api: KubectlApi;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const kubectl = (args: string[], input?: string): Promise<RunResult> => api.kubectl(args, input);
  const ok = (args: string[], input?: string): Promise<string> => api.ok(args, input);

  before(async () => {
    api = await startKubectlApi('kubectl-fidelity');
    ({ dir, env } = api);
    addSandboxUser(dir, 'viewer');
  });

  after(async () => {
    await api.stop();
  });

  test('version, api-resources, get namespaces', async () => {
    const v = JSON.parse(await ok(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string; minor: string } };
    assert.match(v.serverVersion.gitVersion, /^v1\.32\./);
    const res = await ok(['api-resources']);
    assert.match(res, /^statefulsets\s+sts\s+apps\/v1\s+true\s+StatefulSet$/m);
    assert.match(res, /^poddisruptionbudgets\s+pdb\s+policy\/v1\s+true\s+PodDisruptionBudget$/m);
    const ns = await ok(['get', 'ns']);
    assert.match(ns, /^NAME\s+STATUS\s+AGE$/m);
    assert.match(ns, /^kube-system\s+Active\s+\d+s$/m);
    assert.match(await ok(['create', 'namespace', 'redis']), /namespace\/redis created/);
  });

  test('apply (client-side and server-side), get in every output, describe', async () => {
    assert.match(await ok(['apply', '-f', '-'], STS), /statefulset.apps\/web created/);
    assert.match(await ok(['apply', '-f', '-'], STS), /statefulset.apps\/web unchanged/);
    assert.match(await ok(['apply', '-f', '-'], STS.replace('replicas: 2', 'replicas: 3')), /statefulset.apps\/web configured/);
    assert.match(await ok(['apply', '--server-side', '-f', '-'], STS.replace('replicas: 2', 'replicas: 3').replace('redis:7', 'redis:7.0')), /statefulset.apps\/web serverside-applied/);
    const sts = JSON.parse(await ok(['get', 'sts', 'web', '-n', 'redis', '-o', 'json'])) as { spec: { replicas: number; podManagementPolicy: string; template: { spec: { containers: Array<{ image: string }> } } }; metadata: { annotations: Record<string, string> } };
    assert.equal(sts.spec.replicas, 3);
    assert.equal(sts.spec.podManagementPolicy, 'OrderedReady');
    assert.equal(sts.spec.template.spec.containers[0].image, 'redis:7.0');
    assert.ok(sts.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
    assert.match(await ok(['get', 'sts', 'web', '-n', 'redis', '-o', 'yaml']), /^ {2}revisionHistoryLimit: 10$/m);
    assert.equal(await ok(['get', 'sts', 'web', '-n', 'redis', '-o', 'jsonpath={.spec.updateStrategy.type}']), 'RollingUpdate');
    const wide = await ok(['get', 'sts', '-n', 'redis', '-o', 'wide']);
    assert.match(wide, /^NAME\s+READY\s+AGE\s+CONTAINERS\s+IMAGES$/m);
    assert.match(wide, /^web\s+0\/3\s+\S+\s+redis\s+redis:7\.0$/m);
    const desc = await ok(['describe', 'sts', 'web', '-n', 'redis']);
    assert.match(desc, /^Name:\s+web$/m);
    assert.match(desc, /^Replicas:\s+3 desired \| 0 total$/m);
    assert.match(desc, /^Update Strategy:\s+RollingUpdate$/m);
  });

  test('create, patch (merge, json, strategic), annotate, label, scale, delete', async () => {
    assert.match(await ok(['create', 'configmap', 'cfg', '-n', 'redis', '--from-literal=a=1']), /configmap\/cfg created/);
    await ok(['patch', 'configmap', 'cfg', '-n', 'redis', '--type=merge', '-p', '{"data":{"b":"2"}}']);
    await ok(['patch', 'configmap', 'cfg', '-n', 'redis', '--type=json', '-p', '[{"op":"remove","path":"/data/a"}]']);
    assert.equal(await ok(['get', 'cm', 'cfg', '-n', 'redis', '-o', 'jsonpath={.data}']), '{"b":"2"}');
    await ok(['patch', 'sts', 'web', '-n', 'redis', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"redis","image":"redis:7.2"}]}}}}']);
    const c = JSON.parse(await ok(['get', 'sts', 'web', '-n', 'redis', '-o', 'jsonpath={.spec.template.spec.containers}'])) as Array<{ image: string; ports: unknown[] }>;
    assert.equal(c.length, 1);
    assert.equal(c[0].image, 'redis:7.2');
    assert.equal(c[0].ports.length, 1, 'strategic merge keeps the other fields of the container');
    assert.match(await ok(['annotate', 'sts', 'web', '-n', 'redis', 'team=cache']), /annotated/);
    assert.match(await ok(['label', 'sts', 'web', '-n', 'redis', 'tier=db']), /labeled/);
    assert.equal(await ok(['get', 'sts', '-n', 'redis', '-l', 'tier=db', '-o', 'jsonpath={.items[*].metadata.annotations.team}']), 'cache');
    assert.match(await ok(['scale', 'sts', 'web', '-n', 'redis', '--replicas=5']), /statefulset.apps\/web scaled/);
    assert.equal(await ok(['get', 'sts', 'web', '-n', 'redis', '-o', 'jsonpath={.spec.replicas}']), '5');
    assert.match(await ok(['delete', 'configmap', 'cfg', '-n', 'redis']), /configmap "cfg" deleted/);
    const gone = await kubectl(['get', 'configmap', 'cfg', '-n', 'redis']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /Error from server \(NotFound\): configmaps "cfg" not found/);
  });

  test('typed creates arrive as protobuf (kubectl >= 1.32) and are stored like their JSON form', async () => {
    // get KIND NAME -o json, then the value at each dotted path (array indexes as numbers).
    const get = async (args: string[], ...paths: string[]): Promise<unknown[]> => {
      const o = JSON.parse(await ok(['get', ...args, '-o', 'json'])) as unknown;
      return paths.map((p) => p.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o));
    };
    await ok(['create', 'secret', 'generic', 'pw', '-n', 'redis', '--from-literal=password=s3cr3t', '--from-literal=empty=']);
    assert.deepEqual(await get(['secret', 'pw', '-n', 'redis'], 'type', 'data'), ['Opaque', { password: Buffer.from('s3cr3t').toString('base64'), empty: '' }]);
    await ok(['create', 'configmap', 'multi', '-n', 'redis', '--from-literal=a=1', '--from-literal=b=']);
    assert.deepEqual(await get(['cm', 'multi', '-n', 'redis'], 'data'), [{ a: '1', b: '' }]);
    await ok(['create', 'serviceaccount', 'bot', '-n', 'redis']);
    assert.deepEqual(await get(['sa', 'bot', '-n', 'redis'], 'metadata.name', 'metadata.namespace'), ['bot', 'redis']);
    await ok(['create', 'deployment', 'app', '-n', 'redis', '--image=redis:7', '--replicas=2', '--port=6379', '--', 'redis-server', '--save', '']);
    const c = 'spec.template.spec.containers.0';
    assert.deepEqual(await get(['deploy', 'app', '-n', 'redis'], 'spec.replicas', 'spec.selector', 'spec.template.metadata.labels', `${c}.image`, `${c}.command`, `${c}.ports.0.containerPort`), [
      2,
      { matchLabels: { app: 'app' } },
      { app: 'app' },
      'redis:7',
      ['redis-server', '--save', ''],
      6379,
    ]);
    await ok(['create', 'service', 'clusterip', 'app', '-n', 'redis', '--tcp=6379:6380']);
    assert.deepEqual(await get(['svc', 'app', '-n', 'redis'], 'spec.ports.0.port', 'spec.ports.0.targetPort'), [6379, 6380], 'an IntOrString decodes to its int');
    await ok(['create', 'poddisruptionbudget', 'app', '-n', 'redis', '--selector=app=app', '--max-unavailable=50%']);
    assert.deepEqual(await get(['pdb', 'app', '-n', 'redis'], 'spec.maxUnavailable'), ['50%'], 'an IntOrString decodes to its string');
    await ok(['create', 'role', 'reader', '-n', 'redis', '--verb=get,list', '--resource=pods,configmaps']);
    assert.deepEqual(await get(['role', 'reader', '-n', 'redis'], 'rules.0.verbs', 'rules.0.resources'), [['get', 'list'], ['pods', 'configmaps']]);
    await ok(['create', 'clusterrolebinding', 'bot-view', '--clusterrole=view', '--serviceaccount=redis:bot']);
    assert.deepEqual(await get(['clusterrolebinding', 'bot-view'], 'roleRef', 'subjects'), [
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      [{ kind: 'ServiceAccount', name: 'bot', namespace: 'redis' }],
    ]);
    for (const [kind, name] of [['secret', 'pw'], ['cm', 'multi'], ['sa', 'bot'], ['deploy', 'app'], ['svc', 'app'], ['pdb', 'app'], ['role', 'reader']]) {
      await ok(['delete', kind, name, '-n', 'redis']);
    }
    await ok(['delete', 'clusterrolebinding', 'bot-view']);
  });

  test('cordon and uncordon a node', async () => {
    await ok(['apply', '-f', '-'], 'apiVersion: v1\nkind: Node\nmetadata:\n  name: east-node-1\n');
    assert.match(await ok(['cordon', 'east-node-1']), /node\/east-node-1 cordoned/);
    assert.match(await ok(['get', 'node', 'east-node-1']), /SchedulingDisabled/);
    assert.match(await ok(['uncordon', 'east-node-1']), /node\/east-node-1 uncordoned/);
    assert.equal(await ok(['get', 'node', 'east-node-1', '-o', 'jsonpath={.spec.unschedulable}']), '');
  });

  test('custom resources: CRD apply, CR by short name with printer columns', async () => {
    assert.match(await ok(['apply', '-f', '-'], CRD), /customresourcedefinition.apiextensions.k8s.io\/redisfailovers.databases.spotahome.com created/);
    const cr = 'apiVersion: databases.spotahome.com/v1\nkind: RedisFailover\nmetadata: {name: sessions, namespace: redis}\nspec: {redis: {replicas: 3}}\n';
    assert.match(await ok(['apply', '-f', '-'], cr), /redisfailover.databases.spotahome.com\/sessions created/);
    assert.match(await ok(['apply', '-f', '-'], cr.replace('replicas: 3', 'replicas: 4')), /configured/);
    assert.match(await ok(['get', 'rf', '-n', 'redis']), /^sessions\s+4$/m);
  });

  test('auth can-i and RBAC as another user', async () => {
    assert.equal((await ok(['auth', 'can-i', 'create', 'pods/eviction', '-n', 'redis'])).trim(), 'yes');
    const no = await kubectl(['--context', 'viewer@east', 'auth', 'can-i', 'list', 'pods', '-n', 'redis']);
    assert.equal(no.stdout.trim(), 'no');
    const forbidden = await kubectl(['--context', 'viewer@east', 'get', 'pods', '-n', 'redis']);
    assert.equal(forbidden.code, 1);
    assert.match(forbidden.stderr, /Error from server \(Forbidden\): pods is forbidden: User "viewer" cannot list resource "pods" in API group "" in the namespace "redis"/);
    await ok(['create', 'rolebinding', 'viewer-view', '-n', 'redis', '--clusterrole=view', '--user=viewer']);
    assert.equal((await kubectl(['--context', 'viewer@east', 'auth', 'can-i', 'list', 'pods', '-n', 'redis'])).stdout.trim(), 'yes');
  });

  test('get --watch prints the list, then changes', async () => {
    const child = spawn('kubectl', ['get', 'configmaps', '-n', 'redis', '--watch', '--no-headers'], { env });
    let out = '';
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`watch output: ${out}`)), 15_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (/^watched\s/m.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await new Promise((r) => setTimeout(r, 1500));
    await ok(['create', 'configmap', 'watched', '-n', 'redis']);
    try {
      await seen;
    } finally {
      child.kill('SIGTERM');
    }
    assert.match(out, /^watched\s+0\s+\d+s$/m);
  });

  test('delete a namespace: contents go, then the namespace', async () => {
    assert.match(await ok(['delete', 'namespace', 'redis', '--wait=true', '--timeout=15s']), /namespace "redis" deleted/);
    const r = await kubectl(['get', 'sts', '-n', 'redis']);
    assert.match(r.stdout + r.stderr, /No resources found in redis namespace/);
  });
});

describe('kubectl against a whole sandbox (controllers, kubelets, real redis-server)', () => {
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

  test('a StatefulSet of redis:7 (ordinals from 3) becomes Ready; exec and port-forward reach redis', async () => {
    await ok(['create', 'namespace', 'redis']);
    await ok(['apply', '-f', '-'], STS.replace('replicas: 2', 'replicas: 3').replace('  serviceName: web', '  serviceName: web\n  ordinals: {start: 3}'));
    await ok(['rollout', 'status', 'sts/web', '-n', 'redis', '--timeout=40s'], undefined, 45_000);
    const pods = await ok(['get', 'pods', '-n', 'redis', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}']);
    assert.deepEqual(pods.split(' ').sort(), ['web-3', 'web-4', 'web-5']);
    assert.equal((await ok(['exec', '-n', 'redis', 'web-3', '--', 'redis-cli', 'ping'])).trim(), 'PONG');

    const pf = await portForward('kubectl', ['-n', 'redis', 'pod/web-4', ':6379'], { ...process.env, ...sb.env });
    try {
      const ping = await run('redis-cli', ['-p', String(pf.port), 'PING'], { timeoutMs: 10_000 });
      assert.equal(ping.stdout.trim(), 'PONG');
    } finally {
      await pf.stop();
    }
  });

  const versions = [
    { bin: 'kubectl.1.30', tunneled: false },
    { bin: 'kubectl.1.32', tunneled: true },
  ];
  for (const { bin, tunneled } of versions) {
    const kubectl = join(KUBECTL_DIR, bin);
    test(`${bin} port-forwards (${tunneled ? 'SPDY tunneled in a websocket' : 'SPDY/3.1 upgrade'}): concurrent connections, big values, error stream`, { skip: !existsSync(kubectl) && `${kubectl} is not installed` }, async () => {
      const env = { ...process.env, ...sb.env };
      const pf = await portForward(kubectl, ['-n', 'redis', 'pod/web-5', ':6379', '-v=4'], env);
      try {
        const cli = (args: string[], input?: string): Promise<RunResult> => run('redis-cli', ['-p', String(pf.port), ...args], { input, timeoutMs: 15_000 });
        const big = 'v'.repeat(2_000_000);
        const [a, b, c] = await Promise.all([cli(['-x', 'SET', `big-${bin}`], big), cli(['PING']), cli(['SET', `small-${bin}`, 'x'])]);
        assert.deepEqual([a.stdout.trim(), b.stdout.trim(), c.stdout.trim()], ['OK', 'PONG', 'OK']);
        const got = await cli(['GET', `big-${bin}`]);
        assert.equal(got.stdout.trim().length, big.length);
        assert.equal((await cli(['STRLEN', `big-${bin}`])).stdout.trim(), String(big.length));
      } finally {
        await pf.stop();
      }
      if (tunneled) {
        assert.match(pf.stderr(), /negotiated protocol: portforward\.k8s\.io/);
        assert.doesNotMatch(pf.stderr(), /fallback to secondary dialer/);
      }
      // Nothing listens on 6380: the failure comes back on the error stream and kubectl gives up the connection.
      const bad = await portForward(kubectl, ['-n', 'redis', 'pod/web-5', ':6380'], env);
      try {
        const r = await run('redis-cli', ['-p', String(bad.port), 'PING'], { timeoutMs: 10_000 });
        assert.notEqual(r.stdout.trim(), 'PONG');
        for (let i = 0; i < 100 && !/an error occurred forwarding/.test(bad.stderr()); i++) await new Promise((r) => setTimeout(r, 100));
        assert.match(bad.stderr(), /an error occurred forwarding \d+ -> 6380: error forwarding port 6380 to pod/);
      } finally {
        await bad.stop();
      }
    });
  }

  test('drain waits on the PDB (429) and evicts once the budget allows', async () => {
    await ok(['apply', '-f', '-'], 'apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: redis}\nspec:\n  maxUnavailable: 1\n  selector: {matchLabels: {app: web}}\n');
    const node = (await ok(['get', 'pod', 'web-3', '-n', 'redis', '-o', 'jsonpath={.spec.nodeName}'])).trim();
    const drain = await sb.kubectl(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=50s'], { timeoutMs: 55_000 });
    assert.equal(drain.code, 0, drain.stderr);
    assert.match(drain.stdout, new RegExp(`node/${node} drained`));
    assert.match(await ok(['get', 'node', node]), /SchedulingDisabled/);
    await ok(['uncordon', node]);
  });
});
