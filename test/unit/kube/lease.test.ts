import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { leaseExpired, leaseExpiresAt, microTime } from '../../../src/kube/lease.js';

const T0 = Date.parse('2025-06-01T12:00:00Z');

test('a lease is expired only once renewTime + leaseDurationSeconds is in the past', () => {
  const spec = { holderIdentity: 'someone', leaseDurationSeconds: 60, renewTime: '2025-06-01T12:00:00.000000Z' };
  assert.equal(leaseExpiresAt(spec), T0 + 60_000);
  assert.equal(leaseExpired(spec, T0 + 59_999), false);
  assert.equal(leaseExpired(spec, T0 + 60_000), false, 'exactly at the deadline it is still held');
  assert.equal(leaseExpired(spec, T0 + 60_001), true);
});

test('renewTime as a string (what client-node returns) and as a Date give the same answer', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3600 }), fc.integer({ min: -7_200_000, max: 7_200_000 }), (duration, offset) => {
      const asString = { holderIdentity: 'h', leaseDurationSeconds: duration, renewTime: microTime(T0) };
      const asDate = { holderIdentity: 'h', leaseDurationSeconds: duration, renewTime: new Date(T0) };
      const now = T0 + offset;
      assert.equal(leaseExpired(asString, now), leaseExpired(asDate, now));
      assert.equal(leaseExpired(asString, now), T0 + duration * 1000 < now);
    }),
  );
});

test('no holder, no renewTime or no duration counts as free; acquireTime stands in for a missing renewTime', () => {
  assert.equal(leaseExpired(undefined, T0), true);
  assert.equal(leaseExpired({ holderIdentity: '', leaseDurationSeconds: 60, renewTime: microTime(T0) }, T0), true);
  assert.equal(leaseExpired({ holderIdentity: 'h', leaseDurationSeconds: 60 }, T0), true);
  assert.equal(leaseExpired({ holderIdentity: 'h', renewTime: microTime(T0) }, T0), true);
  assert.equal(leaseExpired({ holderIdentity: 'h', leaseDurationSeconds: 60, acquireTime: microTime(T0) }, T0 + 1000), false);
});

test('microTime has microsecond precision as the API prints it', () => {
  assert.equal(microTime(T0 + 123), '2025-06-01T12:00:00.123000Z');
});
