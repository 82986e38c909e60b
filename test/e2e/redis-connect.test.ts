// connectPod and connectClusterClient against real redis-server processes on loopback (127.0.78.0/24):
// passwords, unreachable and silent ports, TLS with and without the CA, a live 6-node cluster read through the
// parsers, and a cluster client whose every connection goes through per-pod TCP proxies (port-forwards).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { RedisError } from '../../src/errors.js';
import { connectClusterClient, connectPod, directDialer, redisCliEnv, type RedisNode } from '../../src/redis/connect.js';
import { parseClusterNodes, myselfOf, slotsOf } from '../../src/redis/cluster-nodes.js';
import type { LocalEndpoint, PodDialer } from '../../src/redis/types.js';
import { formCluster, redisCmd, startRedis, waitFor, type RedisProc } from '../fixtures/redis/loopback-redis.js';

const NET = '127.0.78';
const PASSWORD = 'correct-horse-battery-staple';
const WORK = mkdtempSync(join(tmpdir(), 'redis-connect-e2e-'));
const procs: RedisProc[] = [];

/** A dialer that maps pod names straight to loopback addresses (no proxy). */
function staticDialer(addresses: Record<string, { host: string; port: number }>): PodDialer & { opened: number; closed: number } {
  const dialer = {
    opened: 0,
    closed: 0,
    async open(_ns: string, pod: string): Promise<LocalEndpoint> {
      const addr = addresses[pod];
      if (!addr) throw new Error(`no pod ${pod}`);
      dialer.opened++;
      return { ...addr, close: async () => void dialer.closed++ };
    },
    async closeAll() {},
  };
  return dialer;
}

/**
 * A port-forward look-alike: each open() starts a TCP proxy on 127.0.0.1:<random> to the pod's address, dialing out
 * from 127.0.0.2 so Redis's CLIENT LIST shows which connections came through a proxy.
 */
function proxyDialer(addresses: Record<string, { host: string; port: number }>) {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const connections: Record<string, number> = {};
  const dialer: PodDialer & { connections: Record<string, number> } = {
    connections,
    async open(_ns: string, pod: string, port: number): Promise<LocalEndpoint> {
      const target = addresses[pod];
      assert.ok(target && target.port === port, `pod ${pod} port ${port}`);
      const server = createServer((client) => {
        connections[pod] = (connections[pod] ?? 0) + 1;
        const upstream = connect({ host: target.host, port: target.port, localAddress: '127.0.0.2' });
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      assert.ok(address && typeof address === 'object');
      return { host: '127.0.0.1', port: address.port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    },
    async closeAll() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
  return dialer;
}

function assertNoSecret(err: unknown, ...secrets: string[]): void {
  const everything = `${String(err)}\n${inspect(err, { depth: 10, showHidden: true })}\n${JSON.stringify(err)}`;
  for (const secret of secrets) assert.ok(!everything.includes(secret), 'a password leaked into the error');
}

async function rejected(work: Promise<unknown>): Promise<RedisError> {
  try {
    await work;
  } catch (err) {
    assert.ok(err instanceof RedisError, `expected a RedisError, got ${inspect(err)}`);
    return err;
  }
  assert.fail('expected the connection to fail');
}

after(async () => {
  for (const p of procs) await p.stop();
  rmSync(WORK, { recursive: true, force: true });
});

describe('passwords', () => {
  let server: RedisProc;
  const dialer = staticDialer({ 'orders-leader-0': { host: `${NET}.1`, port: 6379 } });
  const base = { namespace: 'redis', pod: 'orders-leader-0', port: 6379, dialer, timeoutMs: 2000, secretHint: 'Secret redis/orders-auth key password' };

  before(async () => {
    server = await startRedis({ host: `${NET}.1`, port: 6379, dir: join(WORK, 'auth'), args: ['--requirepass', PASSWORD] });
    procs.push(server);
  });

  test('a wrong password is one sentence naming the pod and the Secret, and never shows either password', async () => {
    const err = await rejected(connectPod({ ...base, auth: { password: 'not-the-password' } }));
    assert.equal(err.message, 'wrong password for Redis in pod redis/orders-leader-0: check the Secret redis/orders-auth key password');
    assert.equal(err.pod, 'redis/orders-leader-0');
    assertNoSecret(err, 'not-the-password', PASSWORD);
  });

  test('a wrong ACL user and password is the same sentence, naming the user', async () => {
    const err = await rejected(connectPod({ ...base, auth: { username: 'nobody', password: 'nope-nope' } }));
    assert.match(err.message, /^wrong password for user "nobody" of Redis in pod redis\/orders-leader-0: check the Secret redis\/orders-auth key password$/);
    assertNoSecret(err, 'nope-nope');
  });

  test('no password where one is required says so', async () => {
    const err = await rejected(connectPod(base));
    assert.equal(err.message, 'Redis in pod redis/orders-leader-0 requires a password and none was given: check the Secret redis/orders-auth key password');
  });

  test('the right password works, and every opened way is closed again', async () => {
    const before = dialer.closed;
    const node = await connectPod({ ...base, auth: { password: PASSWORD }, name: 'kubectl-redis-test' });
    await node.ping();
    assert.equal((await node.role()).role, 'master');
    assert.equal((await node.configGet('requirepass')).requirepass, PASSWORD);
    const err = await rejected(node.call('CONFIG', 'SET', 'no-such-parameter', 'secret-value-123'));
    assert.match(err.message, /^Redis in pod redis\/orders-leader-0 refused CONFIG SET: ERR/);
    assertNoSecret(err, 'secret-value-123');
    await node.quit();
    assert.equal(dialer.closed, before + 1);
    // The failed attempts above closed their ways too: nothing is left open.
    assert.equal(dialer.opened, dialer.closed);
  });

  test('redis-cli gets the password through REDISCLI_AUTH, not argv', () => {
    const env = redisCliEnv(PASSWORD, { PATH: process.env.PATH ?? '' });
    const args = ['-h', `${NET}.1`, '-p', '6379', '--no-auth-warning', 'PING'];
    assert.ok(!args.includes(PASSWORD));
    assert.equal(execFileSync('redis-cli', args, { env }).toString().trim(), 'PONG');
    assert.equal(redisCliEnv(undefined, { REDISCLI_AUTH: 'stale' }).REDISCLI_AUTH, undefined);
  });
});

describe('unreachable', () => {
  test('a closed port is the did-not-answer sentence, quickly', async () => {
    const dialer = staticDialer({ 'orders-leader-1': { host: `${NET}.99`, port: 6379 } });
    const started = Date.now();
    const err = await rejected(connectPod({ namespace: 'redis', pod: 'orders-leader-1', port: 6379, dialer, timeoutMs: 1500 }));
    assert.match(err.message, /^Redis in pod redis\/orders-leader-1 did not answer on port 6379 within 1500 ms/);
    assert.ok(Date.now() - started < 1500 + 1000);
  });

  test('a port that accepts and never answers (a dead pod behind a port-forward) times out within the limit', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const dialer = staticDialer({ 'orders-leader-2': { host: '127.0.0.1', port } });
      const started = Date.now();
      const err = await rejected(connectPod({ namespace: 'redis', pod: 'orders-leader-2', port: 6379, dialer, timeoutMs: 800 }));
      const elapsed = Date.now() - started;
      assert.equal(err.message, 'Redis in pod redis/orders-leader-2 did not answer on port 6379 within 800 ms');
      assert.ok(elapsed >= 700 && elapsed < 800 + 1500, `took ${elapsed} ms`);
    } finally {
      silent.close();
    }
  });

  test('a dialer failure keeps its own error when it is ours, and is named otherwise', async () => {
    const failing: PodDialer = {
      open: async () => {
        throw new Error('pods "orders-leader-9" not found');
      },
      closeAll: async () => undefined,
    };
    const err = await rejected(connectPod({ namespace: 'redis', pod: 'orders-leader-9', port: 6379, dialer: failing }));
    assert.match(err.message, /could not open a connection to pod redis\/orders-leader-9 port 6379: pods "orders-leader-9" not found/);
  });

  test('a server in protected mode, and a plain-text server behind a TLS connection, each get their own sentence', async () => {
    const denied = createServer((sock) => sock.end('-DENIED Redis is running in protected mode because protected mode is enabled\r\n'));
    const plain = createServer((sock) => sock.once('data', () => sock.end('-ERR Protocol error: invalid multibulk length\r\n')));
    const ports: number[] = [];
    for (const s of [denied, plain]) {
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      ports.push((s.address() as { port: number }).port);
    }
    try {
      const dialer = staticDialer({ denied: { host: '127.0.0.1', port: ports[0] }, plain: { host: '127.0.0.1', port: ports[1] } });
      const a = await rejected(connectPod({ namespace: 'redis', pod: 'denied', port: 6379, dialer, timeoutMs: 1500 }));
      assert.match(a.message, /^Redis in pod redis\/denied refused the connection \(protected mode\)/);
      const b = await rejected(connectPod({ namespace: 'redis', pod: 'plain', port: 6379, dialer, timeoutMs: 1500, tls: {} }));
      assert.equal(b.message, 'Redis in pod redis/plain does not speak TLS on port 6379, but TLS was asked for: connect without TLS');
    } finally {
      denied.close();
      plain.close();
    }
  });

  test('directDialer resolves the pod IP through the caller and keeps the port', async () => {
    const asked: string[] = [];
    const dialer = directDialer(async (ns, pod) => {
      asked.push(`${ns}/${pod}`);
      return `${NET}.1`;
    });
    const endpoint = await dialer.open('redis', 'orders-leader-0', 6379);
    assert.deepEqual({ host: endpoint.host, port: endpoint.port }, { host: `${NET}.1`, port: 6379 });
    assert.deepEqual(asked, ['redis/orders-leader-0']);
    await endpoint.close();
    await dialer.closeAll();
  });
});

describe('TLS', () => {
  const dir = join(WORK, 'tls');
  const tlsPort = 6390;
  let ca: string;
  let otherCa: string;
  const pod = 'cache-0';
  const dialer = staticDialer({ [pod]: { host: `${NET}.3`, port: tlsPort }, plain: { host: `${NET}.4`, port: 6379 } });
  const base = { namespace: 'redis', pod, port: tlsPort, dialer, timeoutMs: 2000 };

  before(async () => {
    execFileSync('mkdir', ['-p', dir]);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=test-redis-ca');
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.crt', '-days', '2', '-subj', '/CN=other-ca');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=cache-0');
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=DNS:cache-0.cache-headless.redis.svc,IP:${NET}.3\n`);
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf');
    ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
    otherCa = readFileSync(join(dir, 'other.crt'), 'utf8');
    procs.push(await startRedis({
      host: `${NET}.3`, port: tlsPort, dir: join(dir, 'data'),
      args: ['--port', '0', '--tls-port', String(tlsPort), '--tls-cert-file', join(dir, 'server.crt'),
        '--tls-key-file', join(dir, 'server.key'), '--tls-ca-cert-file', join(dir, 'ca.crt'), '--tls-auth-clients', 'no'],
    }));
    procs.push(await startRedis({ host: `${NET}.4`, port: 6379, dir: join(dir, 'plain') }));
  });

  test('with the CA it connects (by IP, and by the pod DNS name through a local address)', async () => {
    const node = await connectPod({ ...base, tls: { ca } });
    await node.ping();
    assert.equal((await node.infoReplication()).role, 'master');
    await node.quit();
    const named = await connectPod({ ...base, tls: { ca, servername: 'cache-0.cache-headless.redis.svc' } });
    await named.ping();
    await named.quit();
  });

  test('without the CA it is refused, never silently accepted', async () => {
    const err = await rejected(connectPod({ ...base, tls: {} }));
    assert.match(
      err.message,
      /^the TLS certificate of Redis in pod redis\/cache-0 was not accepted \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)\): check the system's CAs/,
    );
  });

  test('with another CA it is refused and the sentence names where that CA came from', async () => {
    const err = await rejected(connectPod({ ...base, tls: { ca: otherCa, caHint: 'Secret redis/cache-tls key ca.crt' } }));
    assert.match(err.message, /^the TLS certificate of Redis in pod redis\/cache-0 was not accepted \(.+\): check the CA in Secret redis\/cache-tls key ca\.crt$/);
  });

  test('a server name the certificate does not carry is refused', async () => {
    const err = await rejected(connectPod({ ...base, tls: { ca, servername: 'someone-else.redis.svc' } }));
    assert.match(err.message, /was not accepted \(ERR_TLS_CERT_ALTNAME_INVALID\): check the CA given and the server name expected/);
  });

  test('rejectUnauthorized: false is an explicit opt-out', async () => {
    const node = await connectPod({ ...base, tls: { rejectUnauthorized: false } });
    await node.ping();
    await node.quit();
  });

  test('a plain connection to a TLS-only Redis says TLS is required and how to turn it on', async () => {
    const err = await rejected(connectPod({ ...base, tlsHint: 'pass --tls and the CA Secret' }));
    assert.equal(
      err.message,
      `Redis in pod redis/cache-0 closed the plain-text connection on port ${tlsPort} without answering: it probably requires TLS; pass --tls and the CA Secret`,
    );
  });

  test('TLS to a plain-text Redis times out (Redis waits for the rest of a "command") and the hint names TLS', async () => {
    const err = await rejected(connectPod({ ...base, pod: 'plain', port: 6379, tls: { ca }, timeoutMs: 1000 }));
    assert.equal(err.message, 'Redis in pod redis/plain did not answer on port 6379 within 1000 ms');
    assert.equal(err.hint, 'check that Redis serves TLS on port 6379; if it does not, connect without TLS');
  });
});

// ---- a live 6-node cluster ----------------------------------------------------------------------------------

/** CRC16/XMODEM, the Redis Cluster key hash. */
function keySlot(key: string): number {
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

describe('a live 3+3 Redis Cluster', () => {
  const pods = ['leader-0', 'leader-1', 'leader-2', 'follower-0', 'follower-1', 'follower-2'];
  const ipOf = Object.fromEntries(pods.map((p, i) => [p, `${NET}.${11 + i}`]));
  const addresses = Object.fromEntries(pods.map((p) => [p, { host: ipOf[p], port: 6379 }]));
  const nodes: RedisNode[] = [];

  before(async () => {
    const started: RedisProc[] = [];
    for (const p of pods) started.push(await startRedis({ host: ipOf[p], port: 6379, dir: join(WORK, p), cluster: { nodeTimeoutMs: 2000 } }));
    procs.push(...started);
    await formCluster({ masters: started.slice(0, 3), replicas: started.slice(3) });
    // a replica counts in its master's ROLE only once its initial sync is done: wait for every link to be up
    for (const p of pods.slice(3)) {
      await waitFor(`${p}'s replication link`, async () => String(await redisCmd(ipOf[p], 6379, 'INFO', 'replication')).includes('master_link_status:up'), 30_000, 100);
    }
    for (const p of pods.slice(0, 3)) {
      await waitFor(`${p}'s replica online`, async () => /slave0:.*state=online/.test(String(await redisCmd(ipOf[p], 6379, 'INFO', 'replication'))), 30_000, 100);
    }
    const dialer = staticDialer(addresses);
    for (const p of pods) nodes.push(await connectPod({ namespace: 'redis', pod: p, port: 6379, dialer, timeoutMs: 3000 }));
  });

  after(async () => {
    for (const n of nodes) await n.quit();
  });

  test('ROLE, INFO replication and CLUSTER NODES through connectPod agree with each other and with the raw text', async () => {
    const views = await Promise.all(nodes.map((n) => n.clusterNodes()));
    for (const [i, view] of views.entries()) {
      assert.deepEqual(view.entries, parseClusterNodes(view.raw));
      assert.deepEqual(view.skipped, []);
      assert.equal(view.entries.length, 6);
      const me = myselfOf(view.entries);
      assert.equal(me?.ip, ipOf[pods[i]]);
      assert.equal(me?.id, await nodes[i].clusterMyId());
      const role = await nodes[i].role();
      const repl = await nodes[i].infoReplication();
      if (i < 3) {
        assert.equal(role.role, 'master');
        assert.equal(me?.role, 'master');
        assert.equal(repl.role, 'master');
        assert.deepEqual(repl.connectedReplicas.map((r) => r.ip), [ipOf[pods[i + 3]]]);
        assert.deepEqual(role.role === 'master' && role.replicas.map((r) => r.ip), [ipOf[pods[i + 3]]]);
      } else {
        assert.equal(role.role, 'replica');
        assert.equal(role.role === 'replica' && role.masterIp, ipOf[pods[i - 3]]);
        assert.equal(repl.masterHost, ipOf[pods[i - 3]]);
        assert.equal(repl.masterLinkStatus, 'up');
        const master = view.entries.find((e) => e.ip === ipOf[pods[i - 3]]);
        assert.equal(me?.masterId, master?.id);
      }
    }
    // Every node sees the same owner for every slot, and together they cover all 16384.
    const owners = views.map((v) =>
      Object.fromEntries(v.entries.filter((e) => e.slots.length > 0).map((e) => [e.id, e.slots.map((r) => r.join('-')).join(',')])),
    );
    for (const o of owners) assert.deepEqual(o, owners[0]);
    assert.equal(views[0].entries.reduce((n, e) => n + slotsOf(e), 0), 16384);
    const info = await nodes[0].clusterInfo();
    assert.equal(info.state, 'ok');
    assert.equal(info.knownNodes, 6);
    const shards = await nodes[0].clusterShards();
    assert.equal(shards.length, 3);
    const slots = await nodes[0].clusterSlots();
    assert.deepEqual(slots.map((s) => [s.start, s.end]), [[0, 5460], [5461, 10922], [10923, 16383]]);
  });

  test('slot commands round-trip on a live node: SETSLOT MIGRATING shows in CLUSTER NODES, STABLE clears it', async () => {
    const target = myselfOf((await nodes[1].clusterNodes()).entries);
    assert.ok(target);
    await nodes[0].clusterSetSlot(100, 'MIGRATING', target.id);
    assert.deepEqual(myselfOf((await nodes[0].clusterNodes()).entries)?.migrating, [{ slot: 100, to: target.id }]);
    await nodes[0].clusterSetSlot(100, 'STABLE');
    assert.deepEqual(myselfOf((await nodes[0].clusterNodes()).entries)?.migrating, []);
    const err = await rejected(nodes[0].clusterForget(myselfOf((await nodes[0].clusterNodes()).entries)?.id ?? ''));
    assert.match(err.message, /^Redis in pod redis\/leader-0 refused CLUSTER FORGET: ERR I tried hard but I can't forget myself/);
  });

  test('a cluster client through per-pod proxies writes and reads a key in every one of the 16384 slots', async () => {
    const dialer = proxyDialer(addresses);
    const podByIp = Object.fromEntries(pods.map((p) => [ipOf[p], p]));
    const asked = new Set<string>();
    const client = await connectClusterClient({
      namespace: 'redis',
      pods,
      port: 6379,
      dialer,
      timeoutMs: 5000,
      name: 'kubectl-redis-probe',
      podForIp: (ip) => {
        asked.add(ip);
        return podByIp[ip];
      },
    });
    try {
      const keyForSlot = new Map<number, string>();
      for (let n = 0; keyForSlot.size < 16384; n++) {
        const key = `probe:${n}`;
        const slot = keySlot(key);
        if (!keyForSlot.has(slot)) keyForSlot.set(slot, key);
      }
      const keys = [...keyForSlot.values()];
      for (let i = 0; i < keys.length; i += 512) {
        await Promise.all(keys.slice(i, i + 512).map((k) => client.set(k, `v-${k}`, 600)));
      }
      const values = await Promise.all(keys.map((k) => client.get(k)));
      assert.deepEqual(values, keys.map((k) => `v-${k}`));
      assert.equal(await client.call('EXISTS', keys[0]), 1);

      // Each master holds exactly the keys of its own slots.
      const dbsizes = await Promise.all(nodes.slice(0, 3).map((n) => n.dbsize()));
      assert.deepEqual(dbsizes, [5461, 5462, 5461]);
      assert.equal(await nodes[2].countKeysInSlot(16383), 1);
      assert.deepEqual(await nodes[0].getKeysInSlot(0, 10), [keyForSlot.get(0)]);

      // natMap was asked about every master, and every connection of the probe came through a proxy.
      for (const p of pods.slice(0, 3)) {
        assert.ok(asked.has(ipOf[p]), `natMap never asked about ${p}`);
        assert.ok((dialer.connections[p] ?? 0) >= 1, `nothing went through the ${p} proxy`);
      }
      for (const n of nodes.slice(0, 3)) {
        const clients = String(await n.call('CLIENT', 'LIST')).split('\n').filter((l) => l.includes('name=kubectl-redis-probe'));
        assert.ok(clients.length >= 1, `no probe connection on ${n.pod}`);
        for (const line of clients) assert.match(line, / addr=127\.0\.0\.2:\d+ /, `a probe connection bypassed the proxy on ${n.pod}`);
      }
      assert.equal(await client.del(...keys.slice(0, 100)), 100);
      assert.equal(await client.get(keys[0]), null);
    } finally {
      await client.quit();
      await dialer.closeAll();
    }
  });

  test('a cluster client with a wrong password is the one sentence', async () => {
    await Promise.all(nodes.map((n) => n.configSet('requirepass', PASSWORD)));
    try {
      const err = await rejected(connectClusterClient({
        namespace: 'redis', pods: pods.slice(0, 1), port: 6379, dialer: staticDialer(addresses), timeoutMs: 2000,
        podForIp: () => undefined, auth: { password: 'wrong-wrong' }, secretHint: 'Secret redis/cluster-auth key password',
      }));
      assert.equal(err.message, 'wrong password for Redis in pod redis/leader-0: check the Secret redis/cluster-auth key password');
      assertNoSecret(err, 'wrong-wrong', PASSWORD);
    } finally {
      // The open connections were authenticated before requirepass was set; they can still turn it off.
      await Promise.all(nodes.map((n) => n.configSet('requirepass', '')));
    }
  });
});
