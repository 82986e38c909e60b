// Every command run as a user bound to exactly the ClusterRoles deploy/rbac ships for it, at the two Kubernetes
// versions whose connect authorization differs: before 1.35 a port-forward (client-node's WebSocket upgrade, a GET)
// is authorized as `get pods/portforward`; from 1.35 also as `create` (AuthorizePodWebsocketUpgradeCreatePermission,
// see sandbox/apiserver/server.ts). Each command passes with its roles; with one verb taken out of them it fails with
// the sentence naming that verb and resource, and changes nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { addSandboxUser } from '../../sandbox/apiserver/kubeconfig.js';
import { ROOT, startSandbox, type RunResult, type TestSandbox } from '../support/sandbox.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
interface ClusterRole {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  rules: Rule[];
}

const roleFile = (name: string): ClusterRole[] =>
  parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'rbac', `${name}.yaml`), 'utf8')).map((d) => d.toJSON() as ClusterRole);

/** What one command is run as: the deploy/rbac files its user is bound to, and a cheap invocation of it. */
interface Case {
  command: string;
  files: string[];
  args(user: string, dir: string): string[];
}

const CASES: Case[] = [
  { command: 'status', files: ['status'], args: () => ['status', 'rediscluster/orders', '-n', 'redis'] },
  { command: 'report --logs', files: ['status', 'report'], args: (u, dir) => ['report', 'rediscluster/orders', '-n', 'redis', '--logs', '-f', join(dir, `report-${u}.zip`)] },
  // a kind of finding the cluster does not have: heal checks its permissions, finds nothing to do and changes nothing
  // (the preset's masters share nodes with their replicas, which a plain heal would move while migrate looks)
  { command: 'heal', files: ['status', 'heal'], args: () => ['heal', 'rediscluster/orders', '-n', 'redis', '--only', 'stale-ip', '--yes'] },
  { command: 'drain-reboot', files: ['status', 'drain-reboot'], args: () => ['drain-reboot', 'east-node-1', '--dry-run'] },
  { command: 'migrate', files: ['status', 'migrate'], args: (u) => ['migrate', 'rediscluster/orders', '-n', 'redis', '--to-context', `${u}@west`, '--dry-run'] },
  // the maintenance commands' plans: everything they read (pods, the CR, the journal ConfigMap, Redis through
  // port-forward) with exactly their shipped roles
  { command: 'restart --dry-run', files: ['status', 'restart-failover'], args: () => ['restart', 'rediscluster/orders', '-n', 'redis', '--dry-run'] },
  { command: 'failover --dry-run', files: ['status', 'restart-failover'], args: () => ['failover', 'rediscluster/orders', '-n', 'redis', '--shard', 'orders-leader-0', '--dry-run'] },
  { command: 'rebalance --dry-run', files: ['status', 'rebalance'], args: () => ['rebalance', 'rediscluster/orders', '-n', 'redis', '--dry-run'] },
];
// pause then resume, for real and as one user (resume refuses another's pause): each checks and uses its verbs, and
// together they leave the CR as it was
const PAUSE: Case = { command: 'pause', files: ['status', 'pause'], args: () => ['pause', 'rediscluster/orders', '-n', 'redis', '--reason', 'rbac matrix', '--for', '10m', '--yes'] };
const RESUME: Case = { command: 'resume', files: ['status', 'pause'], args: () => ['resume', 'rediscluster/orders', '-n', 'redis', '--yes'] };

/** A verb taken out of every rule of the roles that grants it on group/resource. */
interface Removal {
  verb: string;
  group: string;
  resource: string;
}

function rolesFor(files: string[], suffix: string, remove?: Removal): ClusterRole[] {
  let removed = 0;
  const roles = files.flatMap(roleFile).map((r) => ({
    ...r,
    metadata: { ...r.metadata, name: `${r.metadata.name}-${suffix}` },
    rules: r.rules
      .map((rule) => {
        if (!remove || !rule.apiGroups.includes(remove.group) || !rule.resources.includes(remove.resource) || !rule.verbs.includes(remove.verb)) return rule;
        removed++;
        return { ...rule, verbs: rule.verbs.filter((v) => v !== remove.verb) };
      })
      .filter((rule) => rule.verbs.length > 0),
  }));
  // the fault must be there: the shipped roles did grant the verb taken out
  if (remove) assert.ok(removed > 0, `deploy/rbac ${files.join(', ')} grants no ${remove.verb} on ${remove.resource}`);
  return roles;
}

function matrix(kubeVersion: '1.32' | '1.35'): void {
  // the invocations are independent (pause and resume run in one test), so they run side by side
  describe(`RBAC at Kubernetes ${kubeVersion}: each command with exactly its deploy/rbac roles`, { concurrency: 4 }, () => {
    let sb: TestSandbox;
    let users = 0;
    // made before the tests run side by side: adding one rewrites the kubeconfig the running CLIs read
    const USERS = 16;
    const cr = async (): Promise<string> => (await sb.kubectl(['get', 'rediscluster', 'orders', '-n', 'redis', '-o', 'jsonpath={.metadata.annotations}{.spec}'])).stdout;

    /** A user bound (in both clusters) to the roles of `files`, less `remove`. */
    async function userWith(files: string[], remove?: Removal): Promise<string> {
      const user = `u${++users}`;
      assert.ok(users <= USERS, 'more users than before() made');
      const roles = rolesFor(files, user, remove);
      const yaml = roles.map((r) => stringify(r)).join('---\n');
      const bindings = roles
        .map((r) => stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: r.metadata.name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: r.metadata.name }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }] }))
        .join('---\n');
      for (const context of ['east', 'west']) {
        const a = await sb.kubectl(['apply', '-f', '-'], { context, input: `${yaml}---\n${bindings}` });
        assert.equal(a.code, 0, a.stderr);
      }
      return user;
    }

    const runAs = (c: Case, user: string): Promise<RunResult> => sb.cli(c.args(user, sb.dir), { context: `${user}@east`, timeoutMs: 120_000 });

    before(async () => {
      sb = await startSandbox({ clusters: ['east', 'west'], preset: 'ot-cluster', kubeVersion });
      for (let i = 1; i <= USERS; i++) addSandboxUser(sb.dir, `u${i}`);
      const v = await sb.kubectl(['version', '-o', 'json']);
      assert.equal((JSON.parse(v.stdout) as { serverVersion: { minor: string } }).serverVersion.minor, kubeVersion.split('.')[1]);
    });
    after(async () => {
      await sb?.down();
    });

    for (const c of CASES) {
      test(`${c.command} passes`, async () => {
        const r = await runAs(c, await userWith(c.files));
        assert.equal(r.code, 0, `${c.command}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
      });
    }

    const pf = (verb: string): Removal => ({ verb, group: '', resource: 'pods/portforward' });
    const portForwardRefusals: Removal[] = kubeVersion === '1.35' ? [pf('get'), pf('create')] : [pf('get')];
    for (const remove of portForwardRefusals) {
      test(`status without ${remove.verb} pods/portforward: the sentence naming it`, async () => {
        const r = await runAs(CASES[0], await userWith(CASES[0].files, remove));
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.equal(r.stderr.trim(), `error: you may not ${remove.verb} pods/portforward in namespace "redis": ask for a Role that allows it (see deploy/rbac)`);
      });
    }
    if (kubeVersion === '1.32') {
      test('before 1.35 a port-forward needs no create: status passes without it', async () => {
        const r = await runAs(CASES[0], await userWith(CASES[0].files, pf('create')));
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /Target:\s+rediscluster\/orders[^]*Slots:\s+16384\/16384 covered/);
        assert.doesNotMatch(r.stdout + r.stderr, /node-unreachable|403/);
      });
    }

    test('heal without patch pods: the sentence naming it, no pod changed', async () => {
      const pods = async (): Promise<string> => (await sb.kubectl(['get', 'pods', '-n', 'redis', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.metadata.resourceVersion}{"\\n"}{end}'])).stdout;
      const before = await pods();
      const r = await runAs(CASES[2], await userWith(CASES[2].files, { verb: 'patch', group: '', resource: 'pods' }));
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /^error: you may not patch pods in namespace "redis": ask for a Role that allows it \(see deploy\/rbac\)/);
      assert.equal(await pods(), before);
    });

    test('report --logs without get pods/log: the archive says which logs it lacks and the permission to ask for', async () => {
      const r = await runAs(CASES[1], await userWith(CASES[1].files, { verb: 'get', group: '', resource: 'pods/log' }));
      assert.equal(r.code, 0, 'a report collects what it may');
      assert.match(r.stdout + r.stderr, /To collect them, ask for: get pods\/log in namespace "redis"/);
    });

    // what their dry runs read: the API's refusal, with the verb and resource it names
    const readRefusals: Array<{ c: Case; remove: Removal; sentence: RegExp }> = [
      { c: CASES[3], remove: { verb: 'list', group: '', resource: 'nodes' }, sentence: /nodes is forbidden: User "u\d+" cannot list resource "nodes" in API group "" at the cluster scope/ },
      { c: CASES[4], remove: { verb: 'list', group: 'storage.k8s.io', resource: 'storageclasses' }, sentence: /storageclasses\.storage\.k8s\.io is forbidden: User "u\d+" cannot list resource "storageclasses" in API group "storage\.k8s\.io" at the cluster scope/ },
    ];
    for (const { c, remove, sentence } of readRefusals) {
      test(`${c.command} without ${remove.verb} ${remove.resource}: the sentence naming it`, async () => {
        const r = await runAs(c, await userWith(c.files, remove));
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, sentence);
        assert.match(r.stderr, /ask for a Role that allows it \(see deploy\/rbac\)/);
      });
    }

    test('pause without patch on redisclusters is refused with the sentence; with its roles pause and resume pass', async () => {
      const before = await cr();
      const refused = await runAs(PAUSE, await userWith(PAUSE.files, { verb: 'patch', group: 'redis.redis.opstreelabs.in', resource: 'redisclusters' }));
      assert.equal(refused.code, 1, refused.stdout + refused.stderr);
      assert.match(refused.stderr, /^error: you may not patch redisclusters\.redis\.redis\.opstreelabs\.in "orders" in namespace "redis": ask for a Role that allows it/);
      assert.equal(await cr(), before, 'the RedisCluster is unchanged');
      const user = await userWith(PAUSE.files);
      const pause = await runAs(PAUSE, user);
      assert.equal(pause.code, 0, pause.stderr);
      assert.notEqual(await cr(), before, 'paused');
      const resume = await runAs(RESUME, user);
      assert.equal(resume.code, 0, resume.stderr);
    });
  });
}

matrix('1.32');
matrix('1.35');
