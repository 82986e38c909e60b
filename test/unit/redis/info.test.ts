import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  infoFields,
  parseClusterInfo,
  parseInfo,
  parseKeyspace,
  parseMemoryInfo,
  parseReplicationInfo,
  totalKeys,
} from '../../../src/redis/info.js';

const load = (path: string) => readFileSync(new URL(`../../fixtures/redis/${path}`, import.meta.url), 'utf8');

test('INFO replication: master with two online replicas', () => {
  const info = parseReplicationInfo(load('info/replication-master-2-replicas.txt'));
  assert.equal(info.role, 'master');
  assert.ok(info.masterReplOffset > 0);
  assert.match(info.masterReplid, /^[0-9a-f]{40}$/);
  // lag and offsets move with time; the shape and the bounds do not.
  assert.deepEqual(info.connectedReplicas.map((r) => [r.ip, r.port, r.state]), [
    ['127.0.77.42', 6379, 'online'],
    ['127.0.77.43', 6379, 'online'],
  ]);
  for (const r of info.connectedReplicas) {
    assert.ok(r.offset > 0 && r.offset <= info.masterReplOffset);
    assert.ok(r.lag >= 0 && r.lag <= 2);
  }
  assert.equal(info.masterHost, undefined);
  assert.equal(info.masterLinkStatus, undefined);
});

test('INFO replication: a third replica waiting for the snapshot shows as wait_bgsave on the master', () => {
  const info = parseReplicationInfo(load('info/replication-master-replica-waiting-bgsave.txt'));
  assert.deepEqual(info.connectedReplicas.map((r) => [r.ip, r.state]), [
    ['127.0.77.42', 'online'],
    ['127.0.77.43', 'online'],
    ['127.0.77.44', 'wait_bgsave'],
  ]);
});

test('INFO replication: replica with its link up', () => {
  const info = parseReplicationInfo(load('info/replication-replica-up.txt'));
  assert.equal(info.role, 'replica');
  assert.equal(info.masterHost, '127.0.77.41');
  assert.equal(info.masterPort, 6379);
  assert.equal(info.masterLinkStatus, 'up');
  assert.equal(info.masterSyncInProgress, false);
  assert.equal(info.slaveReplOffset, 50);
  assert.equal(info.replicaPriority, 0);
  assert.ok((info.masterLastIoSecondsAgo ?? -1) >= 0);
  assert.deepEqual(info.connectedReplicas, []);
});

test('INFO replication: replica whose master died (link down, not syncing)', () => {
  const info = parseReplicationInfo(load('info/replication-replica-link-down.txt'));
  assert.equal(info.masterLinkStatus, 'down');
  assert.equal(info.masterSyncInProgress, false);
  assert.equal(info.masterLastIoSecondsAgo, -1);
  assert.ok((info.masterLinkDownSinceSeconds ?? -1) >= 0);
});

test('INFO replication: replica in the middle of a full sync', () => {
  const info = parseReplicationInfo(load('info/replication-replica-syncing.txt'));
  assert.equal(info.masterLinkStatus, 'down');
  assert.equal(info.masterSyncInProgress, true);
  assert.equal(info.masterLinkDownSinceSeconds, -1);
});

test('INFO replication of a cluster master', () => {
  const info = parseReplicationInfo(load('info/replication-cluster-master.txt'));
  assert.equal(info.role, 'master');
  assert.deepEqual(info.connectedReplicas.map((r) => r.ip), ['127.0.77.14']);
});

test('INFO replication: not INFO at all is an error naming the missing role', () => {
  assert.throws(() => parseReplicationInfo('hello'), /role is missing/);
  assert.throws(() => parseReplicationInfo('# Replication\r\nrole:sentinel\r\n'), /role is "sentinel"/);
});

test('CLUSTER INFO in four states', () => {
  const healthy = parseClusterInfo(load('cluster-info/7.0-healthy.txt'));
  // Epochs depend on the order the capture's nodes met; everything else is fixed.
  assert.ok(healthy.currentEpoch >= 3 && healthy.myEpoch >= 1);
  assert.deepEqual({ ...healthy, currentEpoch: 0, myEpoch: 0 }, {
    state: 'ok', slotsAssigned: 16384, slotsOk: 16384, slotsPfail: 0, slotsFail: 0, knownNodes: 6, size: 3, currentEpoch: 0, myEpoch: 0,
  });
  const uncovered = parseClusterInfo(load('cluster-info/7.0-uncovered-slots.txt'));
  assert.equal(uncovered.state, 'fail');
  assert.equal(uncovered.slotsAssigned, 16000);
  const failed = parseClusterInfo(load('cluster-info/7.0-master-fail.txt'));
  assert.equal(failed.state, 'fail');
  assert.equal(failed.slotsFail, 5462);
  assert.equal(failed.knownNodes, 5);
  const stale = parseClusterInfo(load('cluster-info/7.0-all-restarted-on-new-ips.txt'));
  assert.equal(stale.slotsPfail, 10923);
  assert.equal(stale.slotsOk, 16384 - 10923);
  assert.throws(() => parseClusterInfo('ERR This instance has cluster support disabled'), /cluster_state is missing/);
});

test('INFO memory and keyspace', () => {
  const memory = parseMemoryInfo(load('info/memory.txt'));
  assert.ok(memory.usedMemory > 100_000);
  assert.match(memory.usedMemoryHuman, /^\d+(\.\d+)?[KMG]$/);
  assert.equal(memory.maxmemory, 0);
  assert.equal(memory.maxmemoryPolicy, 'noeviction');
  assert.deepEqual(parseKeyspace(load('info/keyspace.txt')), [{ db: 0, keys: 1, expires: 0, avgTtl: 0 }]);
  assert.deepEqual(parseKeyspace('# Keyspace\r\n'), []);
  assert.equal(totalKeys('db0:keys=3,expires=1,avg_ttl=5\ndb2:keys=4,expires=0,avg_ttl=0\n'), 7);
  assert.throws(() => parseMemoryInfo('# Memory\n'), /used_memory is missing/);
});

test('parseInfo keeps sections, values with colons, and ignores junk', () => {
  const sections = parseInfo('# Server\r\nredis_version:7.0.15\r\nexecutable:/usr/bin/redis-server\r\nconfig_file:C:\\redis.conf\r\njunk\r\n\r\n# Keyspace\r\ndb0:keys=1\r\n');
  assert.deepEqual(sections, {
    server: { redis_version: '7.0.15', executable: '/usr/bin/redis-server', config_file: 'C:\\redis.conf' },
    keyspace: { db0: 'keys=1' },
  });
  assert.equal(infoFields(sections).db0, 'keys=1');
});

test('property: INFO text built from sections parses back to them', () => {
  const key = fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/);
  const value = fc.stringMatching(/^[ -~]{0,20}$/).map((v) => v.trim());
  const sectionName = fc.stringMatching(/^[a-z]{1,10}$/);
  fc.assert(
    fc.property(fc.dictionary(sectionName, fc.dictionary(key, value, { minKeys: 1, noNullPrototype: true }), { noNullPrototype: true }), (sections) => {
      const text = Object.entries(sections)
        .map(([name, fields]) => [`# ${name}`, ...Object.entries(fields).map(([k, v]) => `${k}:${v}`)].join('\r\n'))
        .join('\r\n\r\n');
      assert.deepEqual(parseInfo(text), sections);
    }),
  );
});
