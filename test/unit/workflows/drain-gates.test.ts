// The pure parts of drain-reboot's gates (src/workflows/drain-reboot/gates.ts): which alerts block, as Kured's
// pkg/alerts/prometheus.go ActiveAlerts decides it, in a table and as properties; the sentinel pod's shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { blockingAlerts, describeGates, sentinelPod, type AlertSample } from '../../../src/workflows/drain-reboot/gates.js';

const sample = (alertname: string, alertstate: 'firing' | 'pending', value = '1'): AlertSample => ({ metric: { __name__: 'ALERTS', alertname, alertstate }, value: [0, value] });
const all = [sample('Watchdog', 'firing'), sample('DiskFull', 'firing'), sample('SlowBurn', 'pending'), sample('DiskFull', 'firing'), sample('Zero', 'firing', '0')];

test('which alerts block, filter by filter', () => {
  const cases: Array<[string, { filter?: RegExp; matchOnly: boolean; firingOnly: boolean }, string[]]> = [
    ['no filter: every active one, sorted, once', { matchOnly: false, firingOnly: false }, ['DiskFull', 'SlowBurn', 'Watchdog']],
    ['the regexp names alerts to ignore', { filter: /^Watchdog$/, matchOnly: false, firingOnly: false }, ['DiskFull', 'SlowBurn']],
    ['match-only: only those count', { filter: /^Watch/, matchOnly: true, firingOnly: false }, ['Watchdog']],
    ['firing-only: pending ones do not block', { matchOnly: false, firingOnly: true }, ['DiskFull', 'Watchdog']],
    ['both', { filter: /Slow|Disk/, matchOnly: true, firingOnly: true }, ['DiskFull']],
  ];
  for (const [name, g, want] of cases) assert.deepEqual(blockingAlerts(all, g), want, name);
});

test('property: match-only and ignore split the active alerts in two', () => {
  const arbSample = fc.record({ name: fc.constantFrom('A', 'B', 'Ab', 'Watchdog', 'X1'), state: fc.constantFrom('firing' as const, 'pending' as const) }).map((x) => sample(x.name, x.state));
  fc.assert(
    fc.property(fc.array(arbSample), fc.constantFrom(/^A/, /b$/, /Watch/, /./), fc.boolean(), (samples, filter, firingOnly) => {
      const ignoring = blockingAlerts(samples, { filter, matchOnly: false, firingOnly });
      const only = blockingAlerts(samples, { filter, matchOnly: true, firingOnly });
      const none = blockingAlerts(samples, { matchOnly: false, firingOnly });
      assert.deepEqual([...ignoring, ...only].sort(), none);
      assert.ok(ignoring.every((a) => !only.includes(a)));
    }),
  );
});

test('the sentinel pod runs `test -f` on the node through a read-only hostPath of the sentinel directory', () => {
  const p = sentinelPod('east-node-1', '/var/run/reboot-required', 'kube-system') as unknown as { spec: { nodeName: string; restartPolicy: string; volumes: Array<{ hostPath: { path: string } }>; containers: Array<{ command: string[]; volumeMounts: Array<{ mountPath: string; readOnly: boolean }> }> } };
  assert.equal(p.spec.nodeName, 'east-node-1');
  assert.equal(p.spec.restartPolicy, 'Never');
  assert.equal(p.spec.volumes[0].hostPath.path, '/var/run');
  assert.deepEqual(p.spec.containers[0].command, ['test', '-f', '/sentinel/reboot-required']);
  assert.deepEqual(p.spec.containers[0].volumeMounts[0], { name: 'sentinel', mountPath: '/sentinel', readOnly: true });
  assert.equal(describeGates({ blockingPodSelectors: [], windowAction: 'wait', onlyNeeded: false, rebootSentinel: '/x', namespace: 'kube-system' }), 'no gates given');
});
