import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decideLease, LEASE_HOLDER_ANNOTATION, LeaseLock, leaseExpired, leaseExpiresAt, localHolderInfo, microTime, pidAlive, readHolderInfo,
  type LeaseDecision, type LeaseDecisionInput, type LeaseHolderInfo, type LeaseSpec,
} from '../../../src/kube/lease.js';
import { sendJson, startLocalApi } from './local-api.js';

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

// ---------------------------------------------------------------- a dead holder (kill -9) on this host

const ME: LeaseHolderInfo = { holder: 'kubectl-redis:ann@box/200 op=dr-1', identity: 'ann@box', host: 'box', pid: 200, pidNamespace: 'pid:[1]', operation: 'dr-1' };
const held = (over: Partial<LeaseHolderInfo> = {}): LeaseHolderInfo => ({ ...ME, holder: 'kubectl-redis:ann@box/100 op=dr-1', pid: 100, ...over });
const live = (holder = 'kubectl-redis:ann@box/100 op=dr-1'): LeaseSpec => ({ holderIdentity: holder, leaseDurationSeconds: 60, renewTime: microTime(T0) });

test('decideLease: who may take a lease, as a table', () => {
  const dead = () => false;
  const running = () => true;
  const rows: Array<[string, LeaseDecisionInput, LeaseDecision['kind'], RegExp?]> = [
    ['nobody holds it', { spec: undefined, held: undefined, me: ME, journalOperation: undefined, nowMs: T0, alive: running }, 'acquire'],
    ['released (holder cleared)', { spec: { ...live(), holderIdentity: null }, held: undefined, me: ME, journalOperation: 'dr-1', nowMs: T0, alive: running }, 'acquire'],
    ['expired, whoever held it', { spec: live(), held: held({ host: 'elsewhere' }), me: ME, journalOperation: undefined, nowMs: T0 + 61_000, alive: running }, 'acquire'],
    ['already ours', { spec: live(ME.holder), held: ME, me: ME, journalOperation: 'dr-1', nowMs: T0, alive: running }, 'acquire'],
    ['same host, process gone, journal holds its operation', { spec: live(), held: held(), me: ME, journalOperation: 'dr-1', nowMs: T0 + 1000, alive: dead }, 'take-over', /process 100 on this host is gone .* operation dr-1/],
    ['same host, process still running', { spec: live(), held: held(), me: ME, journalOperation: 'dr-1', nowMs: T0, alive: running }, 'refuse', /its process 100 on this host is still running/],
    ['another host, even if that pid is not running here', { spec: live(), held: held({ host: 'other', identity: 'ann@other' }), me: ME, journalOperation: 'dr-1', nowMs: T0, alive: dead }, 'refuse', /runs on host other, not here/],
    ['same hostname, another pid namespace (a container)', { spec: live(), held: held({ pidNamespace: 'pid:[2]' }), me: ME, journalOperation: 'dr-1', nowMs: T0, alive: dead }, 'refuse', /another process namespace/],
    ['same host, gone, but the journal holds another operation', { spec: live(), held: held({ operation: 'dr-0' }), me: ME, journalOperation: 'dr-1', nowMs: T0, alive: dead }, 'refuse', /operation dr-0 is not the one the journal holds \(dr-1\)/],
    ['same host, gone, no journal', { spec: live(), held: held(), me: ME, journalOperation: undefined, nowMs: T0, alive: dead }, 'refuse', /journal holds \(none\)/],
    ['same host, gone, holder names no operation', { spec: live(), held: held({ operation: undefined }), me: ME, journalOperation: 'dr-1', nowMs: T0, alive: dead }, 'refuse', /its operation is not the one/],
    ['a holder that is not kubectl-redis', { spec: live('kured-node-1'), held: undefined, me: ME, journalOperation: 'dr-1', nowMs: T0, alive: dead }, 'refuse', /does not say which process/],
    ['our own pid under another holder string', { spec: live(), held: held({ pid: 200 }), me: ME, journalOperation: 'dr-1', nowMs: T0, alive: dead }, 'refuse', /still running/],
  ];
  for (const [name, input, kind, reason] of rows) {
    const d = decideLease(input);
    assert.equal(d.kind, kind, name);
    if (reason) assert.match(d.kind === 'acquire' ? '' : d.reason, reason, name);
  }
});

test('readHolderInfo: the annotation while it describes the holder, else the holderIdentity', () => {
  const spec = live('kubectl-redis:ann@box/100 op=dr-1');
  const annotation = (info: Partial<LeaseHolderInfo>) => ({ [LEASE_HOLDER_ANNOTATION]: JSON.stringify(info) });
  assert.deepEqual(readHolderInfo(spec, annotation({ ...held(), pidNamespace: 'pid:[9]' })), { ...held(), pidNamespace: 'pid:[9]' });
  // a stale annotation (someone else's holderIdentity) is ignored: the identity string decides
  assert.deepEqual(readHolderInfo(spec, annotation({ ...held(), holder: 'kubectl-redis:bob@x/5', host: 'x', pid: 5 })), { holder: spec.holderIdentity, identity: 'ann@box', host: 'box', pid: 100, operation: 'dr-1' });
  assert.deepEqual(readHolderInfo(spec, { [LEASE_HOLDER_ANNOTATION]: '{not json' })?.pid, 100);
  assert.deepEqual(readHolderInfo(live('kubectl-redis:ann@box.example/42'), undefined), { holder: 'kubectl-redis:ann@box.example/42', identity: 'ann@box.example', host: 'box.example', pid: 42, operation: undefined });
  assert.equal(readHolderInfo(live('kured'), undefined), undefined);
  assert.equal(readHolderInfo(undefined, undefined), undefined);
});

test('pidAlive: this process runs; a pid that does not exist is ESRCH', () => {
  assert.equal(pidAlive(process.pid), true);
  assert.equal(pidAlive(2 ** 22 + 12345), false, 'above pid_max there is no process');
  assert.equal(pidAlive(0), true, 'a pid that cannot be checked counts as running');
});

test('LeaseLock: takes a dead holder of this host over (annotation rewritten, one transition); refuses a live one with who and until when', async () => {
  const me = localHolderInfo('kubectl-redis:me/1 op=dr-1', 'dr-1');
  let lease: Record<string, unknown> = {
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
    metadata: { name: 'l', namespace: 'kube-system', resourceVersion: '7', annotations: { [LEASE_HOLDER_ANNOTATION]: JSON.stringify({ ...me, holder: 'kubectl-redis:me/99 op=dr-1', pid: 99 }) } },
    spec: { holderIdentity: 'kubectl-redis:me/99 op=dr-1', leaseDurationSeconds: 60, renewTime: microTime(Date.now()), leaseTransitions: 2 },
  };
  const api = await startLocalApi((req, res) => {
    if (req.method === 'GET') return sendJson(res, 200, lease);
    lease = { ...(JSON.parse(req.body) as Record<string, unknown>) };
    (lease.metadata as { resourceVersion: string }).resourceVersion = '8';
    sendJson(res, 200, lease);
  });
  try {
    const refused = new LeaseLock(api.kube, { namespace: 'kube-system', name: 'l', holder: me.holder, holderInfo: me, journalOperation: 'dr-1', purpose: 'drain-reboot', alive: () => true });
    await assert.rejects(refused.acquire(), (e: Error) => {
      assert.match(e.message, /^drain-reboot is locked by kubectl-redis:me\/99 op=dr-1 \(lease "l" in namespace "kube-system" until \d{4}-.*Z unless renewed\); its process 99 on this host is still running$/);
      return true;
    });
    assert.equal(api.requests.filter((r) => r.method === 'PUT').length, 0, 'a refusal writes nothing');

    const lock = new LeaseLock(api.kube, { namespace: 'kube-system', name: 'l', holder: me.holder, holderInfo: me, journalOperation: 'dr-1', purpose: 'drain-reboot', alive: (pid) => pid !== 99 });
    const { tookOverFrom } = await lock.acquire();
    lock.stopRenewing();
    assert.match(tookOverFrom ?? '', /^kubectl-redis:me\/99 op=dr-1: its process 99 on this host is gone/);
    const spec = lease.spec as LeaseSpec;
    assert.equal(spec.holderIdentity, me.holder);
    assert.equal(spec.leaseTransitions, 3);
    const put = JSON.parse(api.requests.find((r) => r.method === 'PUT')!.body) as { metadata: { resourceVersion: string } };
    assert.equal(put.metadata.resourceVersion, '7', 'the takeover is conditional on what was read');
    assert.deepEqual(readHolderInfo(spec, (lease.metadata as { annotations: Record<string, string> }).annotations), me);

    await lock.release();
    assert.equal((lease.spec as LeaseSpec).holderIdentity, null);
    assert.equal((lease.metadata as { annotations?: Record<string, string> }).annotations?.[LEASE_HOLDER_ANNOTATION], undefined, 'release removes the holder annotation');
  } finally {
    await api.close();
  }
});
