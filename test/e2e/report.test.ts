// `report` against the demo preset, through the real CLI, kubectl, redis-cli and unzip: for each target the archive
// opens, holds every part the issue lists for every pod (what the pods are comes from kubectl, not from the report),
// and holds no value of any Secret in the cluster, even one planted where only the scrub by value can catch it (a
// password in SLOWLOG). Then: a frozen pod (the report completes and says what is missing and why), the read-only
// role (logs named as the missing permission until report.yaml is bound), --operator, and bad output paths.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { run, startSandbox, type RunResult, type TestSandbox } from '../support/sandbox.js';
import type { Manifest } from '../../src/workflows/report/index.js';

let sb: TestSandbox;
let work: string;
const NS = 'redis';

interface Pod {
  name: string;
  ip: string;
  containers: string[];
}

before(async () => {
  sb = await startSandbox({ preset: 'demo' });
  work = mkdtempSync(join(tmpdir(), 'kubectl-redis-report-'));
}, { timeout: 300_000 });

after(async () => {
  await sb?.down();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function kubectl(args: string[]): Promise<string> {
  const r = await sb.kubectl(args, { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function pods(re: RegExp): Promise<Pod[]> {
  const list = JSON.parse(await kubectl(['get', 'pods', '-n', NS, '-o', 'json'])) as { items: Array<{ metadata: { name: string }; status: { podIP?: string }; spec: { containers: Array<{ name: string }> } }> };
  return list.items.filter((p) => re.test(p.metadata.name)).map((p) => ({ name: p.metadata.name, ip: p.status.podIP ?? '', containers: p.spec.containers.map((c) => c.name) }));
}

async function secretValue(name: string, key: string): Promise<string> {
  return Buffer.from(await kubectl(['get', 'secret', '-n', NS, name, '-o', `jsonpath={.data.${key.replace(/\./g, '\\.')}}`]), 'base64').toString('utf8');
}

/** Every value of every Secret in the cluster (decoded, and as stored), the things the archive must not hold. */
async function allSecretValues(): Promise<string[]> {
  const list = JSON.parse(await kubectl(['get', 'secrets', '-A', '-o', 'json'])) as { items: Array<{ data?: Record<string, string> }> };
  const out = new Set<string>();
  for (const s of list.items) {
    for (const v of Object.values(s.data ?? {})) {
      const decoded = Buffer.from(v, 'base64').toString('utf8');
      if (decoded.trim().length >= 4) out.add(decoded.trim());
      if (v.length >= 8) out.add(v);
      for (const line of decoded.split('\n')) if (line.trim().length >= 16 && !line.startsWith('-----')) out.add(line.trim());
    }
  }
  return [...out];
}

function redisCli(ip: string, password: string, args: string[]): Promise<RunResult> {
  return run('redis-cli', ['-h', ip, '-p', '6379', '--no-auth-warning', ...args], { env: { ...process.env, REDISCLI_AUTH: password }, timeoutMs: 20_000 });
}

/** Runs report, checks the zip with the real unzip, unpacks it; resolves the directory and the manifest. */
async function report(name: string, args: string[], opts: { context?: string; expectCode?: number } = {}): Promise<{ dir: string; manifest: Manifest; r: RunResult; files: Map<string, string> }> {
  const file = join(work, `${name}.zip`);
  const r = await sb.cli(['report', ...args, '--output-file', file], { context: opts.context, timeoutMs: 300_000 });
  assert.equal(r.code, opts.expectCode ?? 0, `report ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  assert.ok(existsSync(file), 'the archive exists');
  assert.match(r.stdout, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(\\d+(\\.\\d)?(B|KiB|MiB)\\)`), 'the path and size are printed');
  assert.match(r.stderr, /==> step 1\/\d+:/, 'progress on stderr');
  const t = await run('unzip', ['-tq', file]);
  assert.equal(t.code, 0, `unzip -t: ${t.stdout}${t.stderr}`);
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  const x = await run('unzip', ['-q', file, '-d', dir]);
  assert.equal(x.code, 0, x.stderr);
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  const manifest = JSON.parse(files.get('manifest.json') ?? 'null') as Manifest;
  assert.ok(manifest, 'manifest.json');
  // every part the manifest says was collected is there, at the size it says
  for (const p of manifest.parts.filter((x) => x.status === 'collected')) {
    assert.ok(files.has(p.path), `${p.path} listed in manifest.json but not in the archive`);
    assert.equal(statSync(join(dir, p.path)).size, p.bytes, `size of ${p.path}`);
  }
  assert.equal(files.size, manifest.parts.filter((x) => x.status === 'collected').length + 1, 'nothing in the archive that the manifest does not list');
  return { dir, manifest, r, files };
}

function assertNoSecrets(files: Map<string, string>, secrets: string[]): void {
  assert.ok(secrets.length >= 3, 'the demo has passwords to look for');
  for (const [path, text] of files) for (const s of secrets) assert.ok(!text.includes(s), `${path} holds a Secret value (${s.length} chars)`);
}

interface Case {
  ref: string;
  object: string;
  secret: [string, string];
  redis: RegExp;
  sentinels?: RegExp;
  cluster: boolean;
  operator?: string;
}

const CASES: Case[] = [
  { ref: 'rediscluster/orders', object: 'RedisCluster/orders', secret: ['orders-redis', 'password'], redis: /^orders-(leader|follower)-\d+$/, cluster: true, operator: 'ot-operators/redis-operator' },
  { ref: 'rf/sessions', object: 'RedisFailover/sessions', secret: ['sessions-auth', 'password'], redis: /^rfr-sessions-\d+$/, sentinels: /^rfs-sessions-/, cluster: false, operator: 'spotahome/redis-operator' },
  { ref: 'sts/cache', object: 'StatefulSet/cache', secret: ['cache', 'redis-password'], redis: /^cache-\d+$/, cluster: true },
];

describe('report on the demo preset', () => {
  test('every target: the archive opens with unzip, holds every part for every pod, and no Secret value', async () => {
    const secrets = await allSecretValues();
    const version = (JSON.parse(await kubectl(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion;
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version: string };

    // a password where no name says it is one: an ECHO in the slowlog of orders-leader-0 (caught by the scrub by value)
    const ordersPassword = await secretValue('orders-redis', 'password');
    const [leader0] = await pods(/^orders-leader-0$/);
    const was = (await redisCli(leader0.ip, ordersPassword, ['CONFIG', 'GET', 'slowlog-log-slower-than'])).stdout.split('\n')[1]?.trim() || '10000';
    assert.equal((await redisCli(leader0.ip, ordersPassword, ['CONFIG', 'SET', 'slowlog-log-slower-than', '0'])).code, 0);
    assert.equal((await redisCli(leader0.ip, ordersPassword, ['ECHO', ordersPassword])).code, 0);
    assert.equal((await redisCli(leader0.ip, ordersPassword, ['CONFIG', 'SET', 'slowlog-log-slower-than', was])).code, 0);
    const slow = await redisCli(leader0.ip, ordersPassword, ['SLOWLOG', 'GET', '32']);
    assert.ok(slow.stdout.includes(ordersPassword), 'the planted password is in the slowlog');

    for (const c of CASES) {
      const redisPods = await pods(c.redis);
      const sentinelPods = c.sentinels ? await pods(c.sentinels) : [];
      assert.ok(redisPods.length >= 3, `${c.ref} has pods`);
      const { manifest, files } = await report(c.ref.replace('/', '-'), [c.ref, '-n', NS, '--logs', '--since', '2h']);
      assert.equal(manifest.summary.failed, 0, `nothing failed for ${c.ref}: ${JSON.stringify(manifest.parts.filter((p) => p.status === 'failed'))}`);
      assert.equal(manifest.kubectlRedis.version, pkg.version);
      assert.equal(manifest.kubernetes.version, version);
      assert.equal(manifest.targets[0]?.ref, c.ref);
      const expected: string[] = ['status.json', `events/${NS}.yaml`, `objects/${NS}/${c.object}.yaml`, `objects/${NS}/Secret/${c.secret[0]}.yaml`];
      for (const p of [...redisPods, ...sentinelPods]) {
        expected.push(`objects/${NS}/Pod/${p.name}.yaml`);
        for (const container of p.containers) expected.push(`logs/${NS}/${p.name}/${container}.log`);
      }
      for (const p of redisPods) {
        for (const f of ['info.txt', 'role.json', 'config.json', 'slowlog.json', 'latency.json', ...(c.cluster ? ['cluster-nodes.txt', 'cluster-info.txt'] : [])]) expected.push(`redis/${NS}/${p.name}/${f}`);
        const info = files.get(`redis/${NS}/${p.name}/info.txt`) ?? '';
        assert.equal(manifest.targets[0]?.redisVersions[p.name], info.match(/^redis_version:(\S+)/m)?.[1], `Redis version of ${p.name}`);
        assert.ok(manifest.targets[0]?.redisVersions[p.name], 'a Redis version');
        if (c.cluster) assert.match(files.get(`redis/${NS}/${p.name}/cluster-nodes.txt`) ?? '', /myself/);
        assert.match((JSON.parse(files.get(`redis/${NS}/${p.name}/role.json`) ?? '[]') as string[])[0] ?? '', /^(master|slave)$/);
        assert.equal((JSON.parse(files.get(`redis/${NS}/${p.name}/config.json`) ?? '{}') as Record<string, string>).requirepass, '(redacted)', 'requirepass redacted by name');
      }
      for (const p of sentinelPods) {
        for (const f of ['sentinel-masters.json', 'sentinel-replicas.json', 'sentinel-sentinels.json']) expected.push(`sentinel/${NS}/${p.name}/${f}`);
        const masters = JSON.parse(files.get(`sentinel/${NS}/${p.name}/sentinel-masters.json`) ?? '[]') as Array<{ name: string }>;
        assert.deepEqual(masters.map((m) => m.name), ['mymaster']);
        assert.equal(Object.keys(JSON.parse(files.get(`sentinel/${NS}/${p.name}/sentinel-replicas.json`) ?? '{}') as object).length, 1);
      }
      if (c.operator) {
        expected.push(`objects/${c.operator.replace('/', '/Deployment/')}.yaml`);
        assert.deepEqual(manifest.operators.map((o) => o.deployment), [c.operator]);
        assert.ok(files.has(`events/${c.operator.split('/')[0]}.yaml`));
        assert.ok([...files.keys()].some((f) => f.startsWith(`logs/${c.operator?.split('/')[0]}/`)), 'the operator container log');
      }
      for (const e of expected) assert.ok(files.has(e), `${c.ref}: ${e} is in the archive`);
      assert.match(files.get(`objects/${NS}/Secret/${c.secret[0]}.yaml`) ?? '', new RegExp(`${c.secret[1]}: \\(redacted\\) \\d+ bytes`), 'the Secret keeps its key, not its value');
      assertNoSecrets(files, secrets);
      if (c.ref === 'rediscluster/orders') {
        const slowlog = files.get(`redis/${NS}/orders-leader-0/slowlog.json`) ?? '';
        assert.match(slowlog, /"ECHO",\s*"\(redacted\)"/, 'the planted password was scrubbed, the command kept');
        assert.ok(manifest.redaction.valuesScrubbed >= 1);
      }
    }
  });

  test('a pod that does not answer: the report completes, and manifest.json says what is missing and why', async () => {
    const f = await sb.sandbox(['fault', 'freeze', '--namespace', NS, '--pod', 'cache-2']);
    assert.equal(f.code, 0, f.stderr);
    try {
      const [frozen] = await pods(/^cache-2$/);
      const ping = await redisCli(frozen.ip, await secretValue('cache', 'redis-password'), ['-t', '2', 'PING']);
      assert.notEqual(ping.stdout.trim(), 'PONG', 'the fault holds: cache-2 does not answer');
      const { manifest, r, files } = await report('frozen', ['sts/cache', '-n', NS, '--timeout', '2s']);
      const failed = manifest.parts.filter((p) => p.status === 'failed');
      const commands = ['CLUSTER NODES', 'CLUSTER INFO', 'INFO all', 'ROLE', 'CONFIG GET *', 'SLOWLOG GET 32', 'LATENCY LATEST'];
      for (const cmd of commands) {
        const p = failed.find((x) => x.what === `${cmd} of cache-2`);
        assert.ok(p, `manifest.json lists ${cmd} of cache-2 as failed`);
        assert.match(p.reason ?? '', /cache-2 did not answer on port 6379 within 2000 ms/, 'and says why');
        assert.ok(!files.has(p.path));
      }
      assert.ok(failed.every((p) => p.what.endsWith('of cache-2')), `only cache-2's parts failed: ${failed.map((p) => p.what).join(', ')}`);
      for (const p of await pods(/^cache-[013-5]$/)) assert.ok(files.has(`redis/${NS}/${p.name}/cluster-nodes.txt`), `${p.name} still answered`);
      assert.ok(files.has(`objects/${NS}/Pod/cache-2.yaml`), 'the frozen pod\'s object is there');
      assert.match(r.stdout, /Not collected:[\s\S]*of cache-2.*did not answer/, 'the output says it too');
      assert.match(JSON.parse(files.get('status.json') ?? '{}').items[0].podReports.find((p: { pod: string }) => p.pod === 'cache-2').role, /unreachable/);
    } finally {
      assert.equal((await sb.sandbox(['fault', 'thaw', '--namespace', NS, '--pod', 'cache-2'])).code, 0);
    }
  });

  test('the read-only role: everything but logs, which name the missing permission; with report.yaml, logs too', async () => {
    assert.equal((await sb.sandbox(['user', '--name', 'viewer'])).code, 0);
    await kubectl(['apply', '-f', join(process.cwd(), 'deploy', 'rbac', 'status.yaml')]);
    await kubectl(['create', 'clusterrolebinding', 'viewer-status', '--clusterrole=kubectl-redis-status', '--user=viewer']);
    const secrets = await allSecretValues();
    const { manifest, r, files } = await report('viewer', ['rf/sessions', '-n', NS, '--logs'], { context: 'viewer@east' });
    const failed = manifest.parts.filter((p) => p.status === 'failed');
    assert.ok(failed.length >= 6, 'every log failed');
    for (const p of failed) {
      assert.ok(p.path.startsWith('logs/'), `only logs failed, not ${p.what}: ${p.reason}`);
      assert.match(p.missingPermission ?? '', /^get pods\/log in namespace "(redis|spotahome)"$/);
    }
    assert.match(r.stdout, /you may not get pods\/log in namespace "redis"/);
    assert.match(r.stdout, /To collect them, ask for: get pods\/log in namespace "redis"; get pods\/log in namespace "spotahome"/);
    assert.ok(files.has(`sentinel/${NS}/${(await pods(/^rfs-sessions-/))[0].name}/sentinel-masters.json`), 'Redis parts work with the read-only role');
    assertNoSecrets(files, secrets);

    await kubectl(['apply', '-f', join(process.cwd(), 'deploy', 'rbac', 'report.yaml')]);
    await kubectl(['create', 'clusterrolebinding', 'viewer-report', '--clusterrole=kubectl-redis-report', '--user=viewer']);
    const again = await report('viewer-logs', ['rf/sessions', '-n', NS, '--logs'], { context: 'viewer@east' });
    assert.equal(again.manifest.summary.failed, 0, JSON.stringify(again.manifest.parts.filter((p) => p.status === 'failed')));
    assert.ok([...again.files.keys()].filter((f) => f.startsWith('logs/')).length >= 7, 'three Redis, three sentinels, the operator');
  });

  test('--operator: the operators alone', async () => {
    const { manifest, files } = await report('operators', ['--operator', '--logs']);
    assert.deepEqual(manifest.operators.map((o) => o.deployment).sort(), ['ot-operators/redis-operator', 'spotahome/redis-operator']);
    assert.equal(manifest.targets.length, 0);
    for (const d of ['ot-operators/Deployment/redis-operator', 'spotahome/Deployment/redis-operator']) assert.ok(files.has(`objects/${d}.yaml`), d);
    assert.ok([...files.keys()].some((f) => /^objects\/spotahome\/Pod\//.test(f)));
    assert.equal(manifest.summary.failed, 0);
  });
});

describe('report: bad output paths', () => {
  const oneSentence = (r: RunResult, says: RegExp): void => {
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, says);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one sentence:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /==> step/, 'refused before collecting anything');
    assert.equal(r.stdout, '');
  };

  test('an output path that exists: refused without --force, left as it was; replaced with --force', async () => {
    const file = join(work, 'exists.zip');
    writeFileSync(file, 'precious');
    const r = await sb.cli(['report', 'sts/cache', '-n', NS, '--output-file', file]);
    oneSentence(r, /exists\.zip already exists: choose another --output-file, or add --force to overwrite it/);
    assert.equal(readFileSync(file, 'utf8'), 'precious');
    const forced = await sb.cli(['report', 'sts/cache', '-n', NS, '--output-file', file, '--force'], { timeoutMs: 300_000 });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await run('unzip', ['-tq', file])).code, 0);
    assert.deepEqual(readdirSync(work).filter((f) => f.includes('partial')), [], 'no partial file left');
  });

  test('a directory that cannot be written, or does not exist: one sentence, exit 1, no file', async () => {
    // root writes through permission bits: it is refused by sysfs; anyone else by a read-only directory
    let dir = '/sys';
    if (process.getuid?.() !== 0) {
      dir = join(work, 'read-only');
      mkdirSync(dir);
      chmodSync(dir, 0o555);
    }
    const r = await sb.cli(['report', 'sts/cache', '-n', NS, '--output-file', join(dir, 'r.zip')]);
    oneSentence(r, new RegExp(`cannot write to directory ${dir} \\(permission denied\\): choose another --output-file`));
    assert.ok(!existsSync(join(dir, 'r.zip')));
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('partial')), []);
    const gone = await sb.cli(['report', 'sts/cache', '-n', NS, '--output-file', join(work, 'no', 'such', 'r.zip')]);
    oneSentence(gone, /cannot write .*r\.zip: directory .*no\/such does not exist/);
  });

  test('TARGET and --operator together, or neither: usage, exit 2', async () => {
    const both = await sb.cli(['report', 'sts/cache', '--operator', '-n', NS]);
    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /--operator reports on the operators alone/);
    const neither = await sb.cli(['report', '-n', NS]);
    assert.equal(neither.code, 2, neither.stderr);
    assert.match(neither.stderr, /name a target/);
  });
});
