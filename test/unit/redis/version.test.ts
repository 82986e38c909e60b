// Redis 6.2 and 7.x: the version read from INFO server decides which slot commands a node gets, and a node below 6.2
// is refused with one sentence. server-7.0.txt was captured from redis-server 7.0.15 (Debian 12); server-6.2.txt is
// the server section as redis/redis 6.2 src/server.c genRedisInfoString writes it (6.2 has no monotonic_clock line,
// which 7.0 added), for the bitnami/redis 6.2.14 image no machine here can run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { atLeast, parseVersion, slotsCommand, unsupportedVersion, versionFromInfo } from '../../../src/redis/version.js';

const read = (f: string) => readFileSync(new URL(`../../fixtures/redis/info/${f}`, import.meta.url), 'utf8');

test('the version comes from INFO server as 6.2 and 7.0 write it', () => {
  assert.deepEqual(versionFromInfo(read('server-6.2.txt')), [6, 2, 14]);
  assert.deepEqual(versionFromInfo(read('server-7.0.txt')), [7, 0, 15]);
  assert.equal(versionFromInfo('# Server\r\nredis_mode:standalone\r\n'), undefined);
});

test('parseVersion: release, two-part and garbage', () => {
  const cases: Array<[string | undefined, ReturnType<typeof parseVersion>]> = [
    ['7.2.4', [7, 2, 4]], ['6.2', [6, 2, 0]], ['255.255.255', [255, 255, 255]], ['7.4.0-rc1', [7, 4, 0]], ['', undefined], ['x', undefined], [undefined, undefined],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseVersion(text), want, String(text));
});

test('slot ranges go as ADDSLOTSRANGE only to 7.0 and later; 6.2 and unknown get every slot listed', () => {
  const ranges: Array<[number, number]> = [[0, 2], [10, 10]];
  assert.deepEqual(slotsCommand('ADD', ranges, versionFromInfo(read('server-7.0.txt'))), ['ADDSLOTSRANGE', '0', '2', '10', '10']);
  assert.deepEqual(slotsCommand('ADD', ranges, versionFromInfo(read('server-6.2.txt'))), ['ADDSLOTS', '0', '1', '2', '10']);
  assert.deepEqual(slotsCommand('DEL', ranges, undefined), ['DELSLOTS', '0', '1', '2', '10']);
  assert.deepEqual(slotsCommand('DEL', ranges, [7, 0, 0]), ['DELSLOTSRANGE', '0', '2', '10', '10']);
});

test('property: both forms name the same slots', () => {
  const range = fc.tuple(fc.integer({ min: 0, max: 16383 }), fc.integer({ min: 0, max: 40 })).map(([a, n]): [number, number] => [a, Math.min(16383, a + n)]);
  fc.assert(fc.property(fc.array(range, { maxLength: 6 }), (ranges) => {
    const [, ...listed] = slotsCommand('ADD', ranges, [6, 2, 14]);
    const [, ...pairs] = slotsCommand('ADD', ranges, [7, 0, 15]);
    const expanded: string[] = [];
    for (let i = 0; i < pairs.length; i += 2) for (let s = Number(pairs[i]); s <= Number(pairs[i + 1]); s++) expanded.push(String(s));
    assert.deepEqual(listed, expanded);
  }));
});

test('below 6.2 is refused with one sentence naming the version; 6.2 and later, and unknown, are not', () => {
  assert.match(unsupportedVersion([6, 0, 16], 'pod redis/cache-0') ?? '', /^pod redis\/cache-0 runs Redis 6\.0\.16; kubectl-redis needs Redis 6\.2\.0 or later/);
  assert.equal(unsupportedVersion([6, 2, 0], 'p'), undefined);
  assert.equal(unsupportedVersion([7, 0, 15], 'p'), undefined);
  assert.equal(unsupportedVersion(undefined, 'p'), undefined);
  fc.assert(fc.property(fc.tuple(fc.nat(9), fc.nat(9), fc.nat(30)), fc.tuple(fc.nat(9), fc.nat(9), fc.nat(30)), (a, b) => {
    assert.ok(atLeast(a, b) || atLeast(b, a));
    if (atLeast(a, b) && atLeast(b, a)) assert.deepEqual(a, b);
  }));
});
