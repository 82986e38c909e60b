import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseClusterShards } from '../../../src/redis/cluster-shards.js';
import { parseClusterSlots } from '../../../src/redis/cluster-slots.js';
import { parseClusterNodes } from '../../../src/redis/cluster-nodes.js';

const read = (path: string) => readFileSync(new URL(`../../fixtures/redis/${path}`, import.meta.url), 'utf8');
const id = (tag: string) => tag.repeat(20).slice(0, 40);

test('CLUSTER SHARDS of the healthy 3+3 cluster agrees with CLUSTER NODES', () => {
  const shards = parseClusterShards(JSON.parse(read('cluster-shards/7.0-healthy-3m3r.json')));
  assert.equal(shards.length, 3);
  const nodes = parseClusterNodes(read('cluster-nodes/7.0-healthy-3m3r-master-view.txt'));
  for (const shard of shards) {
    const master = shard.nodes.find((n) => n.role === 'master');
    assert.ok(master);
    assert.deepEqual(shard.slots, nodes.find((n) => n.id === master.id)?.slots);
    const replicas = shard.nodes.filter((n) => n.role === 'replica');
    assert.equal(replicas.length, 1);
    assert.equal(nodes.find((n) => n.id === replicas[0].id)?.masterId, master.id);
    for (const n of shard.nodes) {
      assert.equal(n.health, 'online');
      assert.equal(n.port, 6379);
      assert.equal(n.tlsPort, undefined);
      assert.equal(n.endpoint, n.ip);
    }
  }
  assert.deepEqual(shards.map((s) => s.slots[0][0]).sort((a, b) => a - b), [0, 5461, 10923]);
});

test('CLUSTER SHARDS carries announced hostnames', () => {
  const shards = parseClusterShards(JSON.parse(read('cluster-shards/7.0-hostnames.json')));
  const first = shards.flatMap((s) => s.nodes).find((n) => n.id === id('10'));
  assert.equal(first?.hostname, 'redis-cluster-leader-0.redis-cluster-leader-headless.redis.svc');
  assert.equal(first?.ip, '127.0.77.61');
});

test('CLUSTER SLOTS, IPv4 with replicas and IPv6', () => {
  const slots = parseClusterSlots(JSON.parse(read('cluster-slots/7.0-healthy-3m3r.json')));
  assert.deepEqual(slots.map((s) => [s.start, s.end, s.master.id, s.replicas.map((r) => r.id)]), [
    [0, 5460, id('a1'), [id('d4')]],
    [5461, 10922, id('b2'), [id('e5')]],
    [10923, 16383, id('c3'), [id('f6')]],
  ]);
  const v6 = parseClusterSlots(JSON.parse(read('cluster-slots/7.0-ipv6.json')));
  assert.deepEqual(v6.map((s) => `${s.master.ip}:${s.master.port}`), ['::1:7101', '::1:7102', '::1:7103']);
});

test('CLUSTER SLOTS of Redis 3 (no ids) and 7 metadata with a hostname', () => {
  const slots = parseClusterSlots([
    [5461, 10922, ['10.0.0.2', 7000], ['10.0.0.5', 7000]],
    [0, 5460, ['10.0.0.1', 7000, 'abc', ['hostname', 'redis-0']]],
  ]);
  assert.deepEqual(slots[0], { start: 0, end: 5460, master: { ip: '10.0.0.1', port: 7000, id: 'abc', hostname: 'redis-0' }, replicas: [] });
  assert.deepEqual(slots[1].replicas, [{ ip: '10.0.0.5', port: 7000 }]);
});

test('malformed SHARDS/SLOTS replies are clear errors', () => {
  assert.throws(() => parseClusterShards('ERR unknown subcommand'), /not a CLUSTER SHARDS reply/);
  assert.throws(() => parseClusterShards([['slots']]), /bad shard/);
  assert.throws(() => parseClusterSlots(null), /not a CLUSTER SLOTS reply/);
  assert.throws(() => parseClusterSlots([[0, 1]]), /bad range entry/);
});
