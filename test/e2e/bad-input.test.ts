// Bad input, table-driven: each case is a command line, the exit code and the sentence a user must get, and a
// check that nothing changed on the cluster (the demo's objects and operators are fingerprinted before and after).
// Then: no password ever appears in any output (with -v) or on any process's command line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSandbox, type RunResult, type TestSandbox } from '../support/sandbox.js';

let sb: TestSandbox;
const passwords: string[] = [];

before(async () => {
  sb = await startSandbox({ preset: 'demo' });
  for (const [secret, key] of [['orders-redis', 'password'], ['cache', 'redis-password'], ['sessions-auth', 'password']]) {
    const r = await sb.kubectl(['get', 'secret', '-n', 'redis', secret, '-o', `jsonpath={.data.${key}}`]);
    passwords.push(Buffer.from(r.stdout, 'base64').toString());
  }
  assert.equal((await sb.sandbox(['user', '--name', 'nobody'])).code, 0, 'a user with no RBAC');
  // a second target named "cache" (an OT RedisCluster the operator ignores: paused), so "cache" is ambiguous
  const cr = ['apiVersion: redis.redis.opstreelabs.in/v1beta2', 'kind: RedisCluster', 'metadata:', '  name: cache', '  namespace: redis',
    '  annotations: {rediscluster.opstreelabs.in/skip-reconcile: "true"}', 'spec: {clusterSize: 3}', ''].join('\n');
  const applied = await sb.kubectl(['apply', '-f', '-'], { input: cr });
  assert.equal(applied.code, 0, applied.stderr);
}, { timeout: 300_000 });

after(async () => {
  await sb?.down();
});

/** What must not change: annotations and specs of the targets, operator replicas, node cordons, leases. */
async function fingerprint(): Promise<string> {
  const parts = await Promise.all([
    sb.kubectl(['get', 'redisclusters,redisfailovers,statefulsets,deployments', '-A', '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.name} {.metadata.annotations} {.spec.replicas}{"\\n"}{end}']),
    sb.kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.unschedulable}{"\\n"}{end}']),
    sb.kubectl(['get', 'leases', '-A', '-o', 'name']),
  ]);
  return parts.map((p) => p.stdout).join('\n---\n');
}

interface Case {
  name: string;
  args: string[];
  code: number;
  says: RegExp;
  context?: string;
  env?: Record<string, string>;
}

const CASES: Case[] = [
  { name: 'unknown target', args: ['status', 'rediscluster/nope', '-n', 'redis'], code: 1, says: /rediscluster "nope" not found in namespace "redis"/ },
  { name: 'unknown kind', args: ['status', 'frob/orders', '-n', 'redis'], code: 2, says: /unknown kind "frob"/ },
  { name: 'ambiguous bare name', args: ['pause', 'cache', '-n', 'redis', '--reason', 'x', '--yes'], code: 2, says: /"cache" is ambiguous .*rediscluster\/cache.*sts\/cache|"cache" is ambiguous .*sts\/cache.*rediscluster\/cache/ },
  { name: 'wrong namespace', args: ['pause', 'orders', '-n', 'nowhere', '--reason', 'x', '--yes'], code: 1, says: /no Redis target named "orders" in namespace "nowhere"/ },
  { name: 'unknown context', args: ['status', '--context', 'mars'], code: 1, says: /context "mars" does not exist in the kubeconfig/ },
  { name: 'unreadable kubeconfig', args: ['status', '--kubeconfig', '/nonexistent/kubeconfig'], code: 1, says: /\/nonexistent\/kubeconfig/ },
  { name: 'no RBAC', args: ['status', '-n', 'redis'], context: 'nobody@east', code: 1, says: /forbidden|not allowed|cannot list/i },
  { name: 'no RBAC to pause', args: ['pause', 'rediscluster/orders', '-n', 'redis', '--reason', 'x', '--yes'], context: 'nobody@east', code: 1, says: /forbidden|not allowed|cannot/i },
  { name: 'non-interactive without --yes', args: ['pause', 'rediscluster/orders', '-n', 'redis', '--reason', 'x'], code: 4, says: /re-run with --yes/ },
  { name: 'rebalance: threshold not a percentage', args: ['rebalance', 'sts/cache', '-n', 'redis', '--threshold', 'lots', '--yes'], code: 2, says: /--threshold "lots" is not a percentage/ },
  { name: 'rebalance: not a Redis Cluster', args: ['rebalance', 'rf/sessions', '-n', 'redis', '--yes'], code: 2, says: /rf\/sessions is not a Redis Cluster/ },
  { name: 'rebalance: drain of an OT leader the operator would undo', args: ['rebalance', 'rediscluster/orders', '-n', 'redis', '--drain', 'orders-leader-2', '--yes'], code: 4, says: /the OT operator would undo draining orders-leader-2.*lower spec\.clusterSize/ },
  { name: 'rebalance: weight 0 on an OT leader', args: ['rebalance', 'rediscluster/orders', '-n', 'redis', '--weight', 'orders-leader-1=0', '--yes'], code: 4, says: /the OT operator would undo draining orders-leader-1/ },
  { name: 'pause without --reason', args: ['pause', 'rediscluster/orders', '-n', 'redis', '--yes'], code: 2, says: /reason/ },
  { name: 'blank --reason', args: ['pause', 'rediscluster/orders', '-n', 'redis', '--reason', '  ', '--yes'], code: 2, says: /--reason is required/ },
  { name: '--for not a duration', args: ['pause', 'rediscluster/orders', '-n', 'redis', '--reason', 'x', '--for', 'soon', '--yes'], code: 2, says: /--for|duration/ },
  { name: 'pause of a chart with no controller', args: ['pause', 'sts/cache', '-n', 'redis', '--reason', 'x', '--yes'], code: 4, says: /nothing to pause/ },
  { name: 'pause of spotahome without --operator-scale-down', args: ['pause', 'rf/sessions', '-n', 'redis', '--reason', 'x', '--yes'], code: 4, says: /--operator-scale-down/ },
  { name: 'invalid -o', args: ['status', '-n', 'redis', '-o', 'xml'], code: 2, says: /xml/ },
  { name: 'invalid --request-timeout', args: ['status', '-n', 'redis', '--request-timeout', 'forever'], code: 2, says: /request-timeout/ },
  { name: 'heal --only of an unknown kind', args: ['heal', 'sts/cache', '-n', 'redis', '--only', 'everything', '--yes'], code: 2, says: /unknown finding kind "everything"/ },
  { name: 'heal --prefer of a malformed pod name', args: ['heal', 'sts/cache', '-n', 'redis', '--prefer', 'Not_A_Pod', '--yes'], code: 2, says: /--prefer takes a pod name/ },
  { name: 'unknown flag', args: ['status', '--frobnicate'], code: 2, says: /frobnicate/ },
  { name: 'unknown command', args: ['frobnicate'], code: 2, says: /frobnicate/ },
  { name: 'too many arguments', args: ['status', 'a', 'b', '-n', 'redis'], code: 2, says: /Unexpected argument|unexpected/i },
  { name: 'heal of an unknown target', args: ['heal', 'rf/nope', '-n', 'redis', '--yes'], code: 1, says: /rf "nope" not found/ },
  { name: 'drain-reboot of a node that does not exist', args: ['drain-reboot', 'no-such-node', '--ignore-daemonsets', '--delete-emptydir-data', '--yes'], code: 4, says: /node "no-such-node" not found/ },
  { name: 'drain-reboot naming no node', args: ['drain-reboot', '--yes'], code: 2, says: /name at least one node, or give --selector/ },
  { name: 'drain-reboot with an unparsable --window', args: ['drain-reboot', 'east-node-1', '--window', 'Mon-Fri 1am-5am', '--yes'], code: 2, says: /--window: start time "1am" is not HH:MM or HH:MM:SS/ },
  { name: 'drain-reboot with an unreachable Prometheus', args: ['drain-reboot', 'east-node-1', '--ignore-daemonsets', '--delete-emptydir-data', '--prometheus-url', 'http://127.0.0.1:65533', '--yes'], code: 4, says: /cannot query Prometheus at http:\/\/127\.0\.0\.1:65533: ECONNREFUSED; a gate that cannot be evaluated is closed, so nothing was started/ },
  { name: 'drain-reboot with an invalid --alert-filter-regexp', args: ['drain-reboot', 'east-node-1', '--prometheus-url', 'http://127.0.0.1:9', '--alert-filter-regexp', '[', '--yes'], code: 2, says: /--alert-filter-regexp "\[" is not a valid regular expression/ },
  { name: 'drain-reboot --no-reboot with --reboot-method', args: ['drain-reboot', 'east-node-1', '--no-reboot', '--reboot-method', 'none', '--yes'], code: 2, says: /--no-reboot does not reboot, so --reboot-method makes no sense with it/ },
  { name: 'drain-reboot with a bad --max-unavailable', args: ['drain-reboot', 'east-node-1', '--max-unavailable', 'half', '--yes'], code: 2, says: /--max-unavailable must be a whole number of nodes \(1 or more\) or auto, not "half"/ },
  { name: 'conflicting flags (--resume with --abort)', args: ['drain-reboot', 'east-node-1', '--resume', '--abort', '--yes'], code: 2, says: /--abort=true cannot also be provided when using --resume/ },
  { name: 'migrate --resume with --abort', args: ['migrate', 'sts/cache', '-n', 'redis', '--to-context', 'east', '--resume', '--abort', '--yes'], code: 2, says: /cannot also be provided when using/ },
  { name: 'resume of an unknown target', args: ['resume', 'drc/nope', '-n', 'redis', '--yes'], code: 1, says: /drc "nope" not found/ },
];

describe('bad input: one clear sentence, the right exit code, nothing changed', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const before = await fingerprint();
      const r: RunResult = await sb.cli(c.args, { context: c.context, env: c.env });
      assert.equal(r.code, c.code, `exit code of ${c.args.join(' ')}: ${r.code}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, c.says, `stderr of ${c.args.join(' ')}`);
      const errorLines = r.stderr.split('\n').filter((l) => /^(error|Error|›)/.test(l.trim()));
      assert.ok(errorLines.length >= 1 && errorLines.length <= 3, `one short error, not a stack trace:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at .+\(.+:\d+:\d+\)/, 'no stack trace without -v');
      assert.equal(await fingerprint(), before, 'nothing changed on the cluster');
    });
  }

  test('a wrong Redis password in the Secret: status says which Secret, and nothing changes', async () => {
    const get = await sb.kubectl(['get', 'secret', 'orders-redis', '-n', 'redis', '-o', 'json']);
    const original = get.stdout;
    const wrong = JSON.parse(original) as { data: Record<string, string>; metadata: Record<string, unknown> };
    wrong.data.password = Buffer.from('not-the-password').toString('base64');
    delete wrong.metadata.resourceVersion;
    assert.equal((await sb.kubectl(['apply', '-f', '-'], { input: JSON.stringify(wrong) })).code, 0);
    try {
      const before = await fingerprint();
      const r = await sb.cli(['status', 'rediscluster/orders', '-n', 'redis', '--timeout', '3s']);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stdout + r.stderr, /password|WRONGPASS|auth/i);
      assert.match(r.stdout + r.stderr, /orders-redis/);
      const h = await sb.cli(['heal', 'rediscluster/orders', '-n', 'redis', '--yes']);
      assert.notEqual(h.code, 0);
      assert.equal(await fingerprint(), before);
    } finally {
      const restore = JSON.parse(original) as { metadata: Record<string, unknown> };
      delete restore.metadata.resourceVersion;
      assert.equal((await sb.kubectl(['apply', '-f', '-'], { input: JSON.stringify(restore) })).code, 0);
    }
  });

  test('an unreachable Redis (a frozen pod) is a finding, not a crash', async () => {
    const f = await sb.sandbox(['fault', 'freeze', '--namespace', 'redis', '--pod', 'cache-2']);
    assert.equal(f.code, 0, f.stderr);
    try {
      const r = await sb.cli(['status', 'sts/cache', '-n', 'redis', '--timeout', '2s', '--exit-code'], { timeoutMs: 60_000 });
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(r.stdout, /cache-2\s+\S+\s+east-node-\d\s+unreachable/);
      assert.match(r.stdout, /node-unreachable/);
    } finally {
      assert.equal((await sb.sandbox(['fault', 'thaw', '--namespace', 'redis', '--pod', 'cache-2'])).code, 0);
    }
  });
});

describe('RBAC: the read-only role of deploy/rbac', () => {
  test('status works with it; pause and heal name the permission they lack before changing anything', async () => {
    assert.equal((await sb.sandbox(['user', '--name', 'viewer'])).code, 0);
    const role = await sb.kubectl(['apply', '-f', join(process.cwd(), 'deploy', 'rbac', 'status.yaml')]);
    assert.equal(role.code, 0, role.stderr);
    const names = role.stdout.match(/clusterrole\.rbac\.authorization\.k8s\.io\/(\S+)/g)?.map((x) => x.split('/')[1]) ?? [];
    assert.ok(names.length > 0, role.stdout);
    for (const name of names) {
      const b = await sb.kubectl(['create', 'clusterrolebinding', `viewer-${name}`, `--clusterrole=${name}`, '--user=viewer']);
      assert.equal(b.code, 0, b.stderr);
    }
    const status = await sb.cli(['status', '-n', 'redis', '-o', 'json'], { context: 'viewer@east' });
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { items: unknown[] }).items.length, 4, 'the demo three and the paused RedisCluster cache');
    const before = await fingerprint();
    const pause = await sb.cli(['pause', 'rediscluster/orders', '-n', 'redis', '--reason', 'x', '--yes'], { context: 'viewer@east' });
    assert.equal(pause.code, 1, pause.stdout + pause.stderr);
    assert.match(pause.stderr, /you may not patch redisclusters\.redis\.redis\.opstreelabs\.in "orders" in namespace "redis"/);
    const heal = await sb.cli(['heal', 'sts/cache', '-n', 'redis', '--yes'], { context: 'viewer@east' });
    assert.equal(heal.code, 1, heal.stdout + heal.stderr);
    assert.match(heal.stderr, /you may not patch pods in namespace "redis"/);
    assert.equal(await fingerprint(), before, 'nothing changed');
  });
});

describe('secrets', () => {
  test('no password in any output (with -v) or on any command line while commands run', async () => {
    const seen: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
          try {
            seen.push(readFileSync(join('/proc', pid, 'cmdline'), 'utf8').replace(/\0/g, ' '));
          } catch {
            // gone
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const runs = await Promise.all([
      sb.cli(['status', '-n', 'redis', '-v']),
      sb.cli(['status', 'rediscluster/orders', '-n', 'redis', '-v', '-o', 'json']),
      sb.cli(['status', 'rf/sessions', '-n', 'redis', '-v', '-o', 'yaml']),
      sb.cli(['heal', 'sts/cache', '-n', 'redis', '-v', '--dry-run']),
      sb.cli(['pause', 'rediscluster/orders', '-n', 'redis', '-v', '--reason', 'secrets', '--dry-run']),
    ]);
    sampling = false;
    await sampler;
    for (const r of runs) {
      for (const p of passwords) {
        assert.ok(!r.stdout.includes(p) && !r.stderr.includes(p), 'a password was printed');
      }
    }
    assert.ok(seen.length > 0);
    for (const line of seen) for (const p of passwords) assert.ok(!line.includes(p), `a password on a command line: ${line.slice(0, 80)}`);
    writeFileSync('/dev/null', '');
  });
});
