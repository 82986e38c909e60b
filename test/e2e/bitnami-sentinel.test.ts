// The Bitnami redis chart with Sentinel on its default values (preset bitnami-sentinel, issue 17): replicas told
// `--slaveof <pod>.<fullname>-headless.<ns>.svc.cluster.local` and announcing that name, sentinels with
// announce-hostnames / resolve-hostnames and the Redis password as requirepass (auth.sentinel), a restarted pod asking
// the sentinels whom to follow. The built CLI against it: status (roles as redis-cli ROLE says, every replica's lag
// and master, the sentinels agreeing), heal of a replica that claims to be master, and drain-reboot of the master's
// node with a Sentinel-aware client writing throughout. One sandbox for the file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeLine, startProbe } from '../../bench/probe.js';
import { startSandbox, type TestSandbox } from '../support/sandbox.js';
import { eventually, pods, redisCli, secret, type PodView } from '../support/redis.js';

const NS = 'redis';
const SELECTOR = 'app.kubernetes.io/instance=queue';
const FQDN = /^queue-node-(\d)\.queue-headless\.redis\.svc\.cluster\.local$/;

let sb: TestSandbox;
let password = '';

const ready = async (): Promise<PodView[]> => (await pods(sb, NS, SELECTOR)).filter((p) => p.ready);
const first = (s: string): string => s.split('\n')[0].trim();
const role = async (ip: string): Promise<string> => first((await redisCli(ip, 6379, password, ['ROLE'])).stdout);
const sentinelSays = async (ip: string): Promise<string> => first((await redisCli(ip, 26379, password, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster'])).stdout);

async function masters(): Promise<PodView[]> {
  const out: PodView[] = [];
  for (const p of await ready()) if ((await role(p.ip)) === 'master') out.push(p);
  return out;
}

/** Every sentinel names one master, by DNS name; its pod. */
async function agreedMaster(): Promise<string | undefined> {
  const said = new Set(await Promise.all((await ready()).map((p) => sentinelSays(p.ip))));
  const ordinal = said.size === 1 ? [...said][0].match(FQDN)?.[1] : undefined;
  return ordinal === undefined ? undefined : `queue-node-${ordinal}`;
}

/** Cluster DNS as a client inside the cluster sees it: the sandbox's records (what the redis-cli shim reads). */
function clusterDns(name: string): string | undefined {
  const text = readFileSync(join(sb.dir, 'east', 'hosts'), 'utf8');
  for (const line of text.split('\n')) {
    const [ip, host] = line.trim().split(/\s+/);
    if (host === name) return ip;
  }
  return undefined;
}

describe('Bitnami redis with Sentinel on the chart defaults', { timeout: 600_000 }, () => {
  before(async () => {
    sb = await startSandbox({ preset: 'bitnami-sentinel', nodes: 3 });
    password = await secret(sb, NS, 'queue', 'redis-password');
  });
  after(async () => {
    await sb?.down();
  });

  test('as the chart makes it: replicas follow the master by DNS name, sentinels announce hostnames and refuse a client without the password', async () => {
    const all = await ready();
    assert.equal(all.length, 3);
    for (const p of all) {
      const anon = await redisCli(p.ip, 26379, undefined, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster']);
      assert.match(anon.stdout + anon.stderr, /NOAUTH/, `sentinel in ${p.name} refuses a client without the password`);
      assert.match(await sentinelSays(p.ip), FQDN, `sentinel in ${p.name} names the master by DNS name`);
    }
    const [m] = await masters();
    assert.ok(m, 'a master');
    for (const p of all.filter((x) => x.name !== m.name)) {
      const info = (await redisCli(p.ip, 6379, password, ['INFO', 'replication'])).stdout;
      assert.match(info, new RegExp(`master_host:${m.name}\\.queue-headless\\.redis\\.svc\\.cluster\\.local\\r?\\n`));
      assert.match(info, /master_link_status:up/);
    }
    const slaves = (await redisCli(m.ip, 6379, password, ['INFO', 'replication'])).stdout;
    assert.match(slaves, /slave0:ip=queue-node-\d\.queue-headless\.redis\.svc\.cluster\.local,port=6379/, 'replicas announce their DNS names');
  });

  test('status: every pod\'s role as redis-cli ROLE says, every replica\'s master and lag, the sentinels agreeing', async () => {
    const st = await sb.cli(['status', 'sts/queue-node', '-n', NS, '-o', 'json']);
    assert.equal(st.code, 0, st.stderr);
    const item = (JSON.parse(st.stdout) as { items: Array<{ health: string; sentinels: number; masters: number; findings: Array<{ kind: string }>; podReports: Array<{ pod: string; ip: string; role: string; masterOf?: string; lagBytes?: number; component: string }> }> }).items[0];
    assert.equal(item.sentinels, 3);
    assert.equal(item.masters, 1);
    assert.deepEqual(item.findings.filter((f) => /sentinel|master/.test(f.kind)).map((f) => f.kind), [], 'the sentinels agree on the one master');
    assert.equal(item.health, 'ok', JSON.stringify(item.findings));
    const [m] = await masters();
    const redisReports = item.podReports.filter((p) => p.component === 'redis');
    assert.equal(redisReports.length, 3);
    for (const p of redisReports) {
      const r = await role(p.ip);
      assert.equal(p.role, r === 'slave' ? 'replica' : r, `${p.pod}`);
      if (p.role === 'replica') {
        assert.equal(p.masterOf, m.name, `${p.pod}: its master named by pod, though master_host is a DNS name`);
        assert.equal(typeof p.lagBytes, 'number', `${p.pod}: lag computed`);
      }
    }
    const table = await sb.cli(['status', 'sts/queue-node', '-n', NS]);
    assert.equal(table.code, 0, table.stderr);
    assert.doesNotMatch(table.stdout + table.stderr, new RegExp(password), 'no password in the output');
  });

  test('heal: a replica that claims to be master (REPLICAOF NO ONE, as after a partition): heal refuses without --prefer, --prefer the sentinels\' master ends it, no key lost', async () => {
    // Sentinel turns such a replica back itself, 8 s after its INFO first shows the claim (redis/redis
    // src/sentinel.c sentinelRefreshInstanceInfo): heal may find it done; then the test makes the split again. Both
    // sides' offsets move after the split even without client writes (the sentinels PUBLISH their hellos to every
    // instance, and a master propagates PUBLISH), so heal cannot tell no write diverged and asks for --prefer.
    let healed = false;
    for (let attempt = 0; attempt < 3 && !healed; attempt++) {
      const [m] = await masters();
      const replica = (await ready()).filter((p) => p.name !== m.name)[attempt % 2];
      assert.equal(first((await redisCli(replica.ip, 6379, password, ['REPLICAOF', 'NO', 'ONE'])).stdout), 'OK');
      // clients that reached each side wrote to it: the histories diverged for certain (the hellos alone may not
      // have moved the offsets yet when heal looks)
      assert.equal(first((await redisCli(replica.ip, 6379, password, ['SET', `split:${attempt}`, 'replica-side'])).stdout), 'OK');
      assert.equal(first((await redisCli(m.ip, 6379, password, ['SET', `split:${attempt}`, 'master-side'])).stdout), 'OK');
      const keys = Number(first((await redisCli(m.ip, 6379, password, ['DBSIZE'])).stdout));
      assert.equal((await masters()).length, 2, 'the split is made');
      const refused = await sb.cli(['heal', 'sts/queue-node', '-n', NS, '--yes', '--step-timeout', '60s'], { timeoutMs: 240_000 });
      if (refused.code === 0 && /nothing to heal/.test(refused.stdout)) {
        assert.deepEqual((await masters()).map((p) => p.name), [m.name], 'Sentinel, not heal, ended the split');
        continue;
      }
      assert.equal(refused.code, 4, refused.stdout + refused.stderr);
      assert.match(refused.stderr, /--prefer/);
      const r = await sb.cli(['heal', 'sts/queue-node', '-n', NS, '--yes', '--step-timeout', '60s', '--prefer', m.name], { timeoutMs: 240_000 });
      if (r.code === 4 && /is the only master now/.test(r.stderr)) {
        assert.deepEqual((await masters()).map((p) => p.name), [m.name], r.stderr);
        continue;
      }
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual((await masters()).map((p) => p.name), [m.name], 'one master, the one the sentinels kept');
      await eventually('the replica linked again', async () => /master_link_status:up/.test((await redisCli(replica.ip, 6379, password, ['INFO', 'replication'])).stdout));
      assert.equal(await eventually('the sentinels agree', () => agreedMaster()), m.name);
      assert.equal(Number(first((await redisCli(m.ip, 6379, password, ['DBSIZE'])).stdout)), keys, 'no key lost');
      healed = true;
    }
    assert.ok(healed, 'heal, not Sentinel, ended the split in one of three tries');
  });

  test('drain-reboot of the master\'s node with a Sentinel-aware client writing: no acknowledged write lost; the rebooted pod comes back as a replica', async (t) => {
    const [m] = await masters();
    assert.ok(m);
    const probe = await startProbe({
      name: 'queue', mode: 'sentinel', hosts: (await ready()).map((p) => ({ host: p.ip, port: 26379 })),
      password, sentinelPassword: password, prefix: 'dr:queue',
      natMap: (key) => {
        const [host, port] = [key.slice(0, key.lastIndexOf(':')), Number(key.slice(key.lastIndexOf(':') + 1))];
        const ip = FQDN.test(host) ? clusterDns(host) : undefined;
        return ip ? { host: ip, port } : null;
      },
    });
    const r = await sb.cli(['drain-reboot', m.node, '--delete-emptydir-data', '--ignore-daemonsets', '--timeout', '4m', '--yes', '-o', 'json'], { timeoutMs: 360_000 });
    const report = await probe.stop();
    t.diagnostic(probeLine(report));
    t.diagnostic(`longest write gap ${report.longestGapMs} ms (target <= 1000 ms)`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(report.lostKeys.slice(0, 5), []);
    assert.equal(report.lostAcknowledged, 0, 'acknowledged writes lost');
    assert.equal(report.unverified, 0, 'every acknowledged write read back');
    assert.ok(report.acknowledged > 50, 'the client kept writing');
    const back = await eventually('the rebooted pod Ready again', async () => (await ready()).find((p) => p.name === m.name && p.ip !== m.ip));
    await eventually('the rebooted pod a linked replica', async () => /role:slave[\s\S]*master_link_status:up/.test((await redisCli(back.ip, 6379, password, ['INFO', 'replication'])).stdout), 60_000);
    assert.equal((await masters()).length, 1, 'one master');
    const agreed = await eventually('the sentinels agree', () => agreedMaster());
    assert.notEqual(agreed, m.name, 'the master moved off the rebooted node');
  });
});
