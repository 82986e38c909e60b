import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  formatClusterNodes,
  mergeRanges,
  myselfOf,
  parseAddress,
  parseClusterNodes,
  parseClusterNodesDetailed,
  slotsOf,
  uncoveredRanges,
} from '../../../src/redis/cluster-nodes.js';
import type { ClusterNodeEntry } from '../../../src/redis/types.js';

const DIR = new URL('../../fixtures/redis/cluster-nodes/', import.meta.url);
const load = (name: string) => readFileSync(new URL(name, DIR), 'utf8');
/** The fixed ids capture.ts seeds: tag repeated to 40 hex characters. */
const id = (tag: string) => tag.repeat(20).slice(0, 40);
const [A, B, C, D, E, F] = ['a1', 'b2', 'c3', 'd4', 'e5', 'f6'].map(id);

interface Expected {
  count: number;
  myself: string;
  /** master id -> number of slots it serves, for every entry that serves any. */
  owners: Record<string, number>;
  /** replica id -> master id */
  replicaOf: Record<string, string>;
  pfail?: string[];
  failed?: string[];
  noaddr?: string[];
  handshake?: number;
  nofailover?: string[];
  /** id -> `ip:port@bus` */
  addresses?: Record<string, string>;
  migrating?: Array<{ slot: number; to: string }>;
  importing?: Array<{ slot: number; from: string }>;
  hostnames?: Record<string, string | undefined>;
  skipped?: number;
}

const healthyOwners = { [A]: 5461, [B]: 5462, [C]: 5461 };
const healthyReplicas = { [D]: A, [E]: B, [F]: C };

const EXPECTED: Record<string, Expected> = {
  '7.0-fresh-node-alone.txt': { count: 1, myself: A, owners: {}, replicaOf: {} },
  '7.0-healthy-3m3r-master-view.txt': { count: 6, myself: A, owners: healthyOwners, replicaOf: healthyReplicas },
  '7.0-healthy-3m3r-replica-view.txt': { count: 6, myself: E, owners: healthyOwners, replicaOf: healthyReplicas },
  '7.0-open-slot-migrating.txt': {
    count: 6, myself: A, owners: healthyOwners, replicaOf: healthyReplicas, migrating: [{ slot: 5000, to: B }],
  },
  '7.0-open-slot-importing.txt': {
    count: 6, myself: B, owners: healthyOwners, replicaOf: healthyReplicas, importing: [{ slot: 5000, from: A }],
  },
  '7.0-uncovered-slots.txt': {
    count: 6, myself: C, owners: { [A]: 5461, [B]: 5462, [C]: 16000 - 10923 }, replicaOf: healthyReplicas,
  },
  '7.0-forgotten-node.txt': { count: 5, myself: A, owners: healthyOwners, replicaOf: { [D]: A, [E]: B } },
  '7.0-handshake.txt': {
    count: 7, myself: B, owners: healthyOwners, replicaOf: healthyReplicas, handshake: 1,
  },
  '7.0-master-pfail.txt': {
    count: 5, myself: A, owners: healthyOwners, replicaOf: { [D]: A, [E]: B }, pfail: [B], failed: [], nofailover: [E],
  },
  '7.0-master-fail-replica-nofailover.txt': {
    count: 5, myself: A, owners: healthyOwners, replicaOf: { [D]: A, [E]: B }, pfail: [], failed: [B], nofailover: [E],
  },
  '7.0-after-failover.txt': {
    count: 5, myself: A, owners: { [A]: 5461, [E]: 5462, [C]: 5461 }, replicaOf: { [D]: A }, failed: [B], nofailover: [E],
  },
  '7.0-old-master-rejoined-as-replica.txt': {
    count: 6, myself: B, owners: { [A]: 5461, [E]: 5462, [C]: 5461 }, replicaOf: { [B]: E, [D]: A, [F]: C }, failed: [],
  },
  '7.0-new-ip-self-view-at-start.txt': {
    count: 6, myself: B, owners: { [A]: 5461, [E]: 5462, [C]: 5461 }, replicaOf: { [B]: E, [D]: A, [F]: C },
    // The restarted node still believes its old address until a peer tells it otherwise.
    addresses: { [B]: '127.0.77.12:6379@16379' },
  },
  '7.0-new-ip-peer-view-updated.txt': {
    count: 5, myself: A, owners: { [A]: 5461, [E]: 5462, [C]: 5461 }, replicaOf: { [B]: E, [D]: A },
    addresses: { [B]: '127.0.77.22:6379@16379' },
  },
  '7.0-all-restarted-on-new-ips.txt': {
    count: 5, myself: A, owners: { [A]: 5461, [E]: 5462, [C]: 5461 }, replicaOf: { [B]: E, [D]: A },
    pfail: [B, C, D, E], failed: [],
    addresses: { [A]: '127.0.77.11:6379@16379', [B]: '127.0.77.22:6379@16379', [C]: '127.0.77.13:6379@16379' },
  },
  '7.0-noaddr-address-reused.txt': {
    count: 6, myself: B, owners: { [A]: 5461, [E]: 5462, [C]: 5461 }, replicaOf: { [B]: E, [D]: A, [F]: C },
    noaddr: [A], pfail: [A, C, D, E, F], addresses: { [A]: ':0@0' },
  },
  '7.0-new-ips-after-meet.txt': {
    count: 6, myself: A, owners: { [A]: 5461, [E]: 5462, [C]: 5461 }, replicaOf: { [B]: E, [D]: A, [F]: C },
    pfail: [], failed: [], noaddr: [],
    addresses: { [B]: '127.0.77.32:6379@16379', [E]: '127.0.77.35:6379@16379', [F]: '127.0.77.36:6379@16379' },
  },
  '7.0-hostnames.txt': {
    count: 3, myself: id('10'), owners: { [id('10')]: 5461, [id('11')]: 5462, [id('12')]: 5461 }, replicaOf: {},
    hostnames: {
      [id('10')]: 'redis-cluster-leader-0.redis-cluster-leader-headless.redis.svc',
      [id('12')]: 'redis-cluster-leader-2.redis-cluster-leader-headless.redis.svc',
    },
  },
  '7.0-ipv6.txt': {
    count: 3, myself: id('20'), owners: { [id('20')]: 5461, [id('21')]: 5462, [id('22')]: 5461 }, replicaOf: {},
    addresses: { [id('20')]: '::1:7101@17101', [id('22')]: '::1:7103@17103' },
  },
  'redis-6.2-healthy-3m3r-pod-ips.txt': {
    count: 6, myself: '5b1c0e3f5cf1d6bd5b3a1c0ee8b6a3f0c5c1e9a1',
    owners: {
      '5b1c0e3f5cf1d6bd5b3a1c0ee8b6a3f0c5c1e9a1': 5461,
      '8a6d7f2e0b4c3d1e9f8a7b6c5d4e3f2a1b0c9d8e': 5462,
      c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0: 5461,
    },
    replicaOf: {
      '1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e': '5b1c0e3f5cf1d6bd5b3a1c0ee8b6a3f0c5c1e9a1',
      '2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b': '8a6d7f2e0b4c3d1e9f8a7b6c5d4e3f2a1b0c9d8e',
      '3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d': 'c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0',
    },
    hostnames: { '5b1c0e3f5cf1d6bd5b3a1c0ee8b6a3f0c5c1e9a1': undefined },
    addresses: { '8a6d7f2e0b4c3d1e9f8a7b6c5d4e3f2a1b0c9d8e': '10.244.2.23:6379@16379' },
  },
  'redis-6.0-scattered-slots-and-importing.txt': {
    count: 6, myself: 'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca',
    owners: {
      e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca: 5462,
      '67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1': 1 + 10922 - 5463 + 1,
      '292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f': 5461,
    },
    replicaOf: {
      '07c37dfeb235213a872192d90877d0cd55635b91': 'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca',
      '6ec23923021cf3ffec47632106199cb7f496ce01': '67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1',
      '824fe116063bc5fcf9f4ffd895bc17aee7731ac3': '292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f',
    },
    failed: ['824fe116063bc5fcf9f4ffd895bc17aee7731ac3'],
    importing: [{ slot: 5461, from: '67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1' }],
  },
  'redis-3.2-no-bus-port.txt': {
    count: 6, myself: '3e3a6cb0d9a9a87168e266b0a0b24026c0aae3f0',
    owners: {
      '3e3a6cb0d9a9a87168e266b0a0b24026c0aae3f0': 5461,
      '4c1d4a1e0b3a8ee3e8b1cc9b0fbeb4c10e0d3c5a': 5462,
      a8e2f0e8d0f1e3b2c4d5e6f7a8b9c0d1e2f3a4b5: 5461,
    },
    replicaOf: {
      b9f3a1f9e1a2f4c3d5e6f7a8b9c0d1e2f3a4b5c6: '3e3a6cb0d9a9a87168e266b0a0b24026c0aae3f0',
      c0a4b2a0f2b3a5d4e6f7a8b9c0d1e2f3a4b5c6d7: '4c1d4a1e0b3a8ee3e8b1cc9b0fbeb4c10e0d3c5a',
      d1b5c3b1a3c4b6e5f7a8b9c0d1e2f3a4b5c6d7e8: 'a8e2f0e8d0f1e3b2c4d5e6f7a8b9c0d1e2f3a4b5',
    },
    failed: ['a8e2f0e8d0f1e3b2c4d5e6f7a8b9c0d1e2f3a4b5'],
    noaddr: ['d1b5c3b1a3c4b6e5f7a8b9c0d1e2f3a4b5c6d7e8'],
    // No `@bus` before Redis 4: the bus port is implied, port + 10000.
    addresses: { '3e3a6cb0d9a9a87168e266b0a0b24026c0aae3f0': '10.0.0.11:7000@17000', d1b5c3b1a3c4b6e5f7a8b9c0d1e2f3a4b5c6d7e8: ':0@0' },
  },
  'redis-7.2-ipv6-bracketed-and-unknown-lines.txt': {
    count: 4, myself: 'f1e2d3c4b5a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0',
    owners: { f1e2d3c4b5a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0: 8192, a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9: 8192 },
    replicaOf: { b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0: 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9' },
    nofailover: ['b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0'],
    addresses: {
      f1e2d3c4b5a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0: 'fd00:10:244::5:6379@16379',
      b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0: 'fd00:10:244::7:6379@16379',
      c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1: 'fd00:10:244::8:6379@16379',
    },
    hostnames: {
      f1e2d3c4b5a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0: 'redis-0.redis-headless.db.svc.cluster.local',
      b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0: undefined,
    },
    skipped: 2,
  },
};

const ids = (entries: ClusterNodeEntry[], pick: (e: ClusterNodeEntry) => boolean) => entries.filter(pick).map((e) => e.id).sort();

test('every fixture has a table row and every row a fixture', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort();
  assert.ok(files.length >= 14, `only ${files.length} fixtures`);
  assert.deepEqual(files, Object.keys(EXPECTED).sort());
});

for (const [file, want] of Object.entries(EXPECTED)) {
  test(`CLUSTER NODES fixture ${file}`, () => {
    const { entries, skipped } = parseClusterNodesDetailed(load(file));
    assert.equal(entries.length, want.count);
    assert.equal(skipped.length, want.skipped ?? 0);
    assert.equal(myselfOf(entries)?.id, want.myself);
    assert.equal(entries.filter((e) => e.myself).length, 1);

    const owners = Object.fromEntries(entries.filter((e) => e.slots.length > 0).map((e) => [e.id, slotsOf(e)]));
    assert.deepEqual(owners, want.owners);
    for (const e of entries) if (e.slots.length > 0) assert.equal(e.role, 'master', `${e.id} serves slots`);

    const replicaOf = Object.fromEntries(entries.filter((e) => e.role === 'replica').map((e) => [e.id, e.masterId]));
    assert.deepEqual(replicaOf, want.replicaOf);
    for (const e of entries) assert.equal(e.masterId === null, e.role !== 'replica', `${e.id} masterId vs role`);

    if (want.pfail) assert.deepEqual(ids(entries, (e) => e.pfail), [...want.pfail].sort());
    if (want.failed) assert.deepEqual(ids(entries, (e) => e.failed), [...want.failed].sort());
    if (want.noaddr) assert.deepEqual(ids(entries, (e) => e.noaddr), [...want.noaddr].sort());
    if (want.nofailover) assert.deepEqual(ids(entries, (e) => e.flags.includes('nofailover')), [...want.nofailover].sort());
    assert.equal(entries.filter((e) => e.handshake).length, want.handshake ?? 0);
    for (const e of entries) {
      if (e.handshake) assert.equal(e.role, 'unknown');
      // Failed or unreachable nodes never show a live link, and a live node is never pfail from its own view.
      if (e.failed || e.pfail) assert.equal(e.linkState, 'disconnected', e.id);
      if (e.myself) assert.equal(e.pfail || e.failed, false);
    }
    for (const [nodeId, addr] of Object.entries(want.addresses ?? {})) {
      const e = entries.find((x) => x.id === nodeId);
      assert.ok(e, nodeId);
      assert.equal(`${e.ip}:${e.port}@${e.busPort}`, addr);
    }
    const me = myselfOf(entries);
    assert.deepEqual(me?.migrating, want.migrating ?? []);
    assert.deepEqual(me?.importing, want.importing ?? []);
    for (const e of entries) if (!e.myself) assert.deepEqual([e.migrating, e.importing], [[], []]);
    for (const [nodeId, hostname] of Object.entries(want.hostnames ?? {})) {
      assert.equal(entries.find((x) => x.id === nodeId)?.hostname, hostname);
    }
    // Formatting and parsing again loses nothing the parser read.
    assert.deepEqual(parseClusterNodes(formatClusterNodes(entries)), entries);
  });
}

test('the open-slot fixtures show both ends of one move', () => {
  const source = myselfOf(parseClusterNodes(load('7.0-open-slot-migrating.txt')));
  const target = myselfOf(parseClusterNodes(load('7.0-open-slot-importing.txt')));
  assert.equal(source?.migrating[0].to, target?.id);
  assert.equal(target?.importing[0].from, source?.id);
  assert.equal(source?.migrating[0].slot, target?.importing[0].slot);
});

test('uncovered slots are found from one view', () => {
  const entries = parseClusterNodes(load('7.0-uncovered-slots.txt'));
  assert.deepEqual(uncoveredRanges(entries.flatMap((e) => e.slots)), [[16000, 16383]]);
  assert.deepEqual(uncoveredRanges(parseClusterNodes(load('7.0-healthy-3m3r-master-view.txt')).flatMap((e) => e.slots)), []);
  assert.deepEqual(uncoveredRanges([]), [[0, 16383]]);
});

test('input that is not CLUSTER NODES is an error naming what it got', () => {
  assert.throws(() => parseClusterNodes(''), /not CLUSTER NODES output/);
  assert.throws(() => parseClusterNodes('ERR This instance has cluster support disabled'), /cluster support disabled/);
  assert.throws(() => parseClusterNodes('# Replication\nrole:master\nconnected_slaves:0\n'), /not CLUSTER NODES/);
  assert.throws(() => parseClusterNodes(undefined as unknown as string), /not text/);
});

test('lines it does not understand are skipped, the rest still read', () => {
  const good = `${A} 10.0.0.1:6379@16379 myself,master - 0 0 1 connected 0-100 zzz [99999->-${B}] 200-100`;
  const parsed = parseClusterNodesDetailed(
    [good, `${B} 10.0.0.2:6379@16379 master - 0 0 1 weird`, 'short line', `${C} notanaddress master - 0 0 1 connected`].join('\n'),
  );
  assert.equal(parsed.entries.length, 1);
  assert.deepEqual(parsed.entries[0].slots, [[0, 100]]);
  assert.deepEqual(parsed.entries[0].migrating, []);
  assert.equal(parsed.skipped.length, 3);
});

test('addresses in every form', () => {
  assert.deepEqual(parseAddress('10.1.2.3:6379@16379'), { ip: '10.1.2.3', port: 6379, busPort: 16379 });
  assert.deepEqual(parseAddress('10.1.2.3:6379@16379,'), { ip: '10.1.2.3', port: 6379, busPort: 16379 });
  assert.deepEqual(parseAddress(':6379@16379'), { ip: '', port: 6379, busPort: 16379 });
  assert.deepEqual(parseAddress(':0@0'), { ip: '', port: 0, busPort: 0 });
  assert.deepEqual(parseAddress('[::1]:6379@16379'), { ip: '::1', port: 6379, busPort: 16379 });
  assert.deepEqual(parseAddress('::1:6379@16379'), { ip: '::1', port: 6379, busPort: 16379 });
  assert.deepEqual(parseAddress('redis-0.redis:6379@16379,redis-0'), { ip: 'redis-0.redis', port: 6379, busPort: 16379, hostname: 'redis-0' });
  assert.deepEqual(parseAddress('10.1.2.3:7000'), { ip: '10.1.2.3', port: 7000, busPort: 17000 });
  assert.equal(parseAddress('10.1.2.3'), undefined);
  assert.equal(parseAddress('10.1.2.3:99999@1'), undefined);
  assert.equal(parseAddress('[::1:6379@16379'), undefined);
});

test('mergeRanges sorts and joins touching or overlapping ranges', () => {
  assert.deepEqual(mergeRanges([[10, 20], [0, 5], [6, 9], [15, 30], [40, 40]]), [[0, 30], [40, 40]]);
  assert.deepEqual(mergeRanges([]), []);
});

// ---- properties ---------------------------------------------------------------------------------------------

const hexId = fc.stringMatching(/^[0-9a-f]{40}$/);
const rangesArb = fc
  .uniqueArray(fc.integer({ min: 0, max: 16383 }), { maxLength: 12 })
  .map((points) => [...points].sort((a, b) => a - b))
  .map((sorted) => {
    // Pair consecutive points into ranges, then merge so the list is in the canonical form the parser returns.
    const ranges: Array<[number, number]> = [];
    for (let i = 0; i < sorted.length; i += 2) ranges.push([sorted[i], sorted[i + 1] ?? sorted[i]]);
    return mergeRanges(ranges);
  });
const ipArb = fc.oneof(
  fc.ipV4(),
  fc.constantFrom('', '::1', 'fd00:10:244::17', 'redis-0.redis-headless.ns.svc'),
);
const flagArb = fc.subarray(['myself', 'master', 'slave', 'fail?', 'fail', 'handshake', 'noaddr', 'nofailover', 'nofailback'] as const);

const entryArb: fc.Arbitrary<ClusterNodeEntry> = fc
  .record({
    id: hexId,
    ip: ipArb,
    port: fc.integer({ min: 0, max: 65535 }),
    busPort: fc.integer({ min: 0, max: 65535 }),
    hostname: fc.option(fc.stringMatching(/^[a-z][a-z0-9.-]{0,30}$/), { nil: undefined }),
    flags: flagArb,
    master: fc.option(hexId, { nil: null }),
    pingSent: fc.nat(),
    pongRecv: fc.nat(),
    configEpoch: fc.nat(),
    linkState: fc.constantFrom('connected' as const, 'disconnected' as const),
    slots: rangesArb,
    openSlots: fc.uniqueArray(fc.record({ slot: fc.integer({ min: 0, max: 16383 }), peer: hexId, out: fc.boolean() }), {
      maxLength: 3,
      selector: (o) => o.slot,
    }),
  })
  .map((r) => {
    const flags = [...r.flags];
    const entry: ClusterNodeEntry = {
      id: r.id,
      ip: r.ip,
      port: r.port,
      busPort: r.busPort,
      flags,
      myself: flags.includes('myself'),
      role: flags.includes('master') ? 'master' : flags.includes('slave') ? 'replica' : 'unknown',
      masterId: flags.includes('slave') && !flags.includes('master') ? r.master : null,
      pingSent: r.pingSent,
      pongRecv: r.pongRecv,
      configEpoch: r.configEpoch,
      linkState: r.linkState,
      slots: r.slots,
      migrating: r.openSlots.filter((o) => o.out).sort((a, b) => a.slot - b.slot).map((o) => ({ slot: o.slot, to: o.peer })),
      importing: r.openSlots.filter((o) => !o.out).sort((a, b) => a.slot - b.slot).map((o) => ({ slot: o.slot, from: o.peer })),
      failed: flags.includes('fail'),
      pfail: flags.includes('fail?'),
      handshake: flags.includes('handshake'),
      noaddr: flags.includes('noaddr'),
    };
    // A replica with `-` as master is written back as `-`: masterId null, role still replica.
    if (r.hostname !== undefined) entry.hostname = r.hostname;
    return entry;
  });

test('property: format then parse is the identity', () => {
  fc.assert(
    fc.property(fc.array(entryArb, { minLength: 1, maxLength: 8 }), (entries) => {
      assert.deepEqual(parseClusterNodes(formatClusterNodes(entries)), entries);
    }),
    { numRuns: 300 },
  );
});

test('property: slotsOf counts exactly the slots in the ranges, and coverage plus gaps is everything', () => {
  fc.assert(
    fc.property(rangesArb, (ranges) => {
      const covered = new Set<number>();
      for (const [a, b] of ranges) for (let s = a; s <= b; s++) covered.add(s);
      assert.equal(slotsOf({ slots: ranges }), covered.size);
      const gaps = uncoveredRanges(ranges);
      assert.equal(slotsOf({ slots: gaps }) + covered.size, 16384);
      for (const [a, b] of gaps) for (let s = a; s <= b; s++) assert.ok(!covered.has(s));
    }),
  );
});

test('property: any text never makes the parser throw anything but its own clear error', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      try {
        parseClusterNodes(text);
      } catch (err) {
        assert.match(String(err), /not CLUSTER NODES output/);
      }
    }),
  );
});
