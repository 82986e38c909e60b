import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  flagsOf,
  isDown,
  isObjectivelyDown,
  masterAddress,
  numberField,
  parseMasterAddr,
  parseSentinelList,
  parseSentinelRecord,
} from '../../../src/redis/sentinel.js';
import { parseRole } from '../../../src/redis/role.js';

const json = (path: string): unknown => JSON.parse(readFileSync(new URL(`../../fixtures/redis/${path}`, import.meta.url), 'utf8'));

test('SENTINEL MASTERS, healthy', () => {
  const [master, ...rest] = parseSentinelList(json('sentinel/masters-healthy.json'));
  assert.equal(rest.length, 0);
  assert.equal(master.name, 'mymaster');
  assert.deepEqual(masterAddress(master), { host: '127.0.77.41', port: 6379 });
  assert.deepEqual(flagsOf(master), ['master']);
  assert.equal(isDown(master), false);
  assert.equal(numberField(master, 'num-slaves'), 2);
  assert.equal(numberField(master, 'num-other-sentinels'), 2);
  assert.equal(numberField(master, 'quorum'), 2);
  assert.equal(numberField(master, 'no-such-field'), undefined);
});

test('SENTINEL MASTER with s_down only, then MASTERS with o_down', () => {
  const sdown = parseSentinelRecord(json('sentinel/master-s-down.json'));
  assert.ok(flagsOf(sdown).includes('s_down'));
  assert.equal(isDown(sdown), true);
  assert.equal(isObjectivelyDown(sdown), false);
  const [odown] = parseSentinelList(json('sentinel/masters-o-down.json'));
  assert.deepEqual(flagsOf(odown).slice(0, 4), ['s_down', 'o_down', 'master', 'disconnected']);
  assert.equal(isObjectivelyDown(odown), true);
});

test('SENTINEL REPLICAS and SENTINELS', () => {
  const replicas = parseSentinelList(json('sentinel/replicas-healthy.json'));
  assert.deepEqual(replicas.map((r) => `${r.ip}:${r.port}`).sort(), ['127.0.77.42:6379', '127.0.77.43:6379']);
  for (const r of replicas) {
    assert.deepEqual(flagsOf(r), ['slave']);
    assert.equal(r['master-link-status'], 'ok');
    assert.equal(r['slave-priority'], '0');
    assert.equal(isDown(r), false);
  }
  const sentinels = parseSentinelList(json('sentinel/sentinels-healthy.json'));
  assert.deepEqual(sentinels.map((s) => s.ip).sort(), ['127.0.77.52', '127.0.77.53']);
  for (const s of sentinels) {
    assert.deepEqual(flagsOf(s), ['sentinel']);
    assert.match(s.runid, /^[0-9a-f]{40}$/);
  }
});

test('GET-MASTER-ADDR-BY-NAME', () => {
  assert.deepEqual(parseMasterAddr(json('sentinel/get-master-addr-by-name.json')), { host: '127.0.77.41', port: 6379 });
  assert.equal(parseMasterAddr(json('sentinel/get-master-addr-by-name-unknown.json')), null);
  assert.throws(() => parseMasterAddr(['x', 'y']), /port "y"/);
  assert.throws(() => parseMasterAddr('OK'), /not a GET-MASTER-ADDR-BY-NAME reply/);
});

test('sentinel records: malformed replies are clear errors, RESP3 maps and Buffers are read', () => {
  assert.throws(() => parseSentinelRecord(['name']), /odd number/);
  assert.throws(() => parseSentinelList('ERR'), /not a SENTINEL list reply/);
  assert.deepEqual(parseSentinelRecord({ name: 'm', port: 6379 }), { name: 'm', port: '6379' });
  assert.deepEqual(parseSentinelRecord([Buffer.from('ip'), Buffer.from('10.0.0.1')]), { ip: '10.0.0.1' });
  assert.throws(() => masterAddress({ name: 'm' }), /has no ip\/port/);
});

test('property: a flat field/value array round-trips through parseSentinelRecord', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.stringMatching(/^[a-z-]{1,12}$/), fc.string({ maxLength: 20 }), { noNullPrototype: true }), (record) => {
      assert.deepEqual(parseSentinelRecord(Object.entries(record).flat()), record);
    }),
  );
});

test('ROLE of a master, a replica in every state, a sentinel', () => {
  const master = parseRole(json('role/master-2-replicas.json'));
  assert.equal(master.role, 'master');
  assert.ok(master.offset > 0);
  assert.deepEqual(master.replicas.map((r) => `${r.ip}:${r.port}`), ['127.0.77.42:6379', '127.0.77.43:6379']);
  for (const r of master.replicas) assert.ok(r.offset > 0 && r.offset <= master.offset);
  const replica = parseRole(json('role/replica-connected.json'));
  assert.deepEqual({ ...replica, offset: 0 }, {
    role: 'replica', masterIp: '127.0.77.41', masterPort: 6379, state: 'connected', offset: 0,
  });
  assert.ok(replica.role === 'replica' && replica.offset > 0);
  assert.equal((parseRole(json('role/replica-syncing.json')) as { state: string }).state, 'sync');
  assert.equal((parseRole(json('role/replica-link-down.json')) as { state: string }).state, 'connect');
  assert.equal((parseRole(json('role/cluster-replica-of-promoted.json')) as { state: string }).state, 'handshake');
  const clusterReplica = parseRole(json('role/cluster-replica.json'));
  assert.equal(clusterReplica.role, 'replica');
  assert.deepEqual(parseRole(json('role/sentinel.json')), { role: 'sentinel', masters: ['mymaster'] });
});

test('ROLE: anything else is an error', () => {
  assert.throws(() => parseRole([]), /not a ROLE reply/);
  assert.throws(() => parseRole(['leader']), /unknown role "leader"/);
  assert.throws(() => parseRole(['master', 'x', []]), /offset "x"/);
  assert.deepEqual(parseRole(['master', 0, []]), { role: 'master', offset: 0, replicas: [] });
});

test('property: ROLE master replies round-trip', () => {
  const replica = fc.record({ ip: fc.ipV4(), port: fc.integer({ min: 1, max: 65535 }), offset: fc.nat() }, { noNullPrototype: true });
  fc.assert(
    fc.property(fc.nat(), fc.array(replica, { maxLength: 5 }), (offset, replicas) => {
      const reply = ['master', offset, replicas.map((r) => [r.ip, String(r.port), String(r.offset)])];
      assert.deepEqual(parseRole(reply), { role: 'master', offset, replicas });
    }),
  );
});
