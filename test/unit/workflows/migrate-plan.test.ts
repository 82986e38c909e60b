import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { KubeObject } from '../../../src/kube/types.js';
import type { ClusterNodeEntry } from '../../../src/redis/types.js';
import { migrationSupport } from '../../../src/targets/migration.js';
import type { Target } from '../../../src/targets/types.js';
import { claimNames, selects, templateReferences } from '../../../src/workflows/migrate/kube.js';
import { migrationSteps, stepId } from '../../../src/workflows/migrate/objects.js';
import { abortOrder, clusterProblems, describeStep, destinationAfterReturn, mastersWithoutReplica, placeOf, type NodeView } from '../../../src/workflows/migrate/plan.js';
import { ordinalsSupport } from '../../../src/workflows/migrate/preflight.js';
import { journalName } from '../../../src/workflows/migrate/workflow.js';

function node(id: string, ip: string, role: 'master' | 'replica', extra: Partial<ClusterNodeEntry> = {}): ClusterNodeEntry {
  return {
    id, ip, port: 6379, busPort: 16379, flags: [role === 'master' ? 'master' : 'slave'], myself: false, role, masterId: null, pingSent: 0, pongRecv: 0, configEpoch: 1,
    linkState: 'connected', slots: [], migrating: [], importing: [], failed: false, pfail: false, handshake: false, noaddr: false, ...extra,
  };
}

/** Three masters with a replica each, as every node sees them; `mine` marks the observer. */
function topology(mine: string, overrides: Record<string, Partial<ClusterNodeEntry>> = {}): ClusterNodeEntry[] {
  const base = [
    node('m0', '10.0.0.1', 'master', { slots: [[0, 5460]] }),
    node('m1', '10.0.0.2', 'master', { slots: [[5461, 10922]] }),
    node('m2', '10.0.0.3', 'master', { slots: [[10923, 16383]] }),
    node('r0', '10.0.0.4', 'replica', { masterId: 'm0' }),
    node('r1', '10.0.0.5', 'replica', { masterId: 'm1' }),
    node('r2', '10.0.0.6', 'replica', { masterId: 'm2' }),
  ];
  return base.map((e) => ({ ...e, myself: e.id === mine, ...(overrides[e.id] ?? {}) }));
}

const PODS = ['m0', 'm1', 'm2', 'r0', 'r1', 'r2'];
const expected = PODS.map((id, i) => ({ pod: `cache-${i}`, id, ip: `10.0.0.${i + 1}` }));
const views = (f: (id: string) => ClusterNodeEntry[] = (id) => topology(id)): NodeView[] => PODS.map((id, i) => ({ pod: `cache-${i}`, entries: f(id) }));

test('a healthy cluster where every node agrees has no problem', () => {
  assert.deepEqual(clusterProblems(views(), expected), []);
});

test('a node that still knows a moved pod at its old address is a problem, until it learns the new one', () => {
  const moved = expected.map((e) => (e.pod === 'cache-5' ? { ...e, ip: '10.1.0.9' } : e));
  const problems = clusterProblems(views(), moved);
  assert.ok(problems.some((p) => /knows cache-5 at 10\.0\.0\.6, but it runs at 10\.1\.0\.9/.test(p)), problems.join('\n'));
  const learned = views((id) => topology(id, { r2: { ip: '10.1.0.9' } }));
  assert.deepEqual(clusterProblems(learned, moved), []);
});

test('failing flags, unknown nodes, uncovered slots, disagreeing views and wrong ids are all reported', () => {
  const pfail = views((id) => topology(id, id === 'm0' ? { r1: { pfail: true } } : {}));
  assert.ok(clusterProblems(pfail, expected).some((p) => /cache-0 sees cache-4 as possibly failing/.test(p)));
  const stranger = views((id) => [...topology(id), node('zz', '10.9.9.9', 'master')]);
  assert.ok(clusterProblems(stranger, expected).some((p) => /not one of the pods/.test(p)));
  const gap = views((id) => topology(id, { m2: { slots: [[10923, 16000]] } }));
  assert.ok(clusterProblems(gap, expected).some((p) => /383 slots with no owner/.test(p)));
  const split = views((id) => (id === 'm0' ? topology(id, { m0: { slots: [[0, 5461]] }, m1: { slots: [[5462, 10922]] } }) : topology(id)));
  assert.ok(clusterProblems(split, expected).some((p) => /disagree about which master owns which slots/.test(p)));
  const newId = views((id) => (id === 'r2' ? topology('zz').map((e) => (e.id === 'r2' ? { ...e, id: 'fresh', myself: true } : e)) : topology(id)));
  assert.ok(clusterProblems(newId, expected).some((p) => /cache-5 has node id fresh, expected r2/.test(p)));
});

test('a master without a replica is found (moving it would take its slots down)', () => {
  assert.deepEqual(mastersWithoutReplica(topology('m0')), []);
  assert.deepEqual(mastersWithoutReplica(topology('m0', { r1: { failed: true } })), ['m1']);
});

test('while ordinals move, each one is in exactly one place or between two steps', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 4 }), (n, start) => {
    const set = { name: 'cache', start, replicas: n };
    let src = { start, replicas: n };
    let dst = { start: start + n, replicas: 0 };
    for (const s of migrationSteps([set])) {
      if (s.kind === 'scale-source') src = { start, replicas: s.replicas };
      if (s.kind === 'scale-destination') dst = { start: s.start, replicas: s.replicas };
      const places = Array.from({ length: n }, (_, i) => placeOf(start + i, src, dst));
      assert.ok(places.filter((p) => p === 'nowhere').length <= 1, 'at most the ordinal being moved is nowhere');
      // an abort from here returns exactly the ordinals not in the source, lowest first, and ends with all in the source
      const back = abortOrder(set, src.replicas);
      assert.deepEqual(back, places.map((p, i) => (p === 'source' ? -1 : start + i)).filter((k) => k >= 0));
      let d = dst;
      for (const k of back) {
        if (placeOf(k, src, d) === 'destination') assert.equal(d.start, k, 'the destination gives up its lowest ordinal');
        d = destinationAfterReturn(set, k);
      }
      assert.deepEqual(d, { start: start + n, replicas: 0 });
    }
  }));
});

test('step descriptions name the pod, the clusters and the numbers', () => {
  const sides = { from: 'east', to: 'west', namespace: 'redis', toNamespace: 'redis' };
  const steps = migrationSteps([{ name: 'cache', start: 0, replicas: 6 }]);
  const text = (id: string) => describeStep(steps.find((s) => stepId(s) === id)!, sides, 'sts/cache');
  assert.match(text('scale-source/cache-5'), /scale StatefulSet cache in east to 5 replicas/);
  assert.match(text('scale-destination/cache-4'), /ordinals\.start 4, replicas 2/);
  assert.match(text('copy-volumes/cache-0'), /to west/);
  assert.match(describeStep(steps[1], { ...sides, toNamespace: 'redis-prod' }, 'sts/cache'), /west \(namespace redis-prod\)/);
});

const target = (t: Partial<Target>): Target => ({
  system: 'bitnami', kind: 'StatefulSet', name: 'cache', namespace: 'redis', ref: 'sts/cache', topology: 'cluster', resource: { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  object: { metadata: { name: 'cache' } }, statefulSets: ['cache'], redisSelector: '', pdbNames: [], redisPort: 6379, sentinelPort: 26379, expected: {}, ...t,
});

test('supported targets: Bitnami redis-cluster and OT RedisCluster; anything else is refused with a sentence saying which are', () => {
  const b = migrationSupport(target({}));
  assert.ok(b.supported);
  const ot = migrationSupport(target({ system: 'ot', kind: 'RedisCluster', name: 'orders', ref: 'rediscluster/orders' }));
  assert.ok(ot.supported && ot.profile.owner);
  assert.deepEqual(ot.supported && ot.profile.statefulSets, ['orders-follower', 'orders-leader']);
  const rf = migrationSupport(target({ system: 'spotahome', kind: 'RedisFailover', ref: 'rf/sessions', topology: 'sentinel' }));
  assert.equal(rf.supported, false);
  assert.match(!rf.supported ? rf.why : '', /migrate supports Bitnami redis-cluster StatefulSets \(sts\/NAME\) and OT RedisCluster \(rediscluster\/NAME\); rf\/sessions/);
  const sentinel = migrationSupport(target({ topology: 'sentinel', ref: 'sts/redis-node' }));
  assert.equal(sentinel.supported, false);
});

test('the Bitnami destination resolves its peers through the headless Service (seed 003), nothing else changes', () => {
  const s = migrationSupport(target({}));
  assert.ok(s.supported);
  const sts: KubeObject = {
    metadata: { name: 'cache', namespace: 'redis' },
    spec: { serviceName: 'cache-headless', template: { spec: { containers: [{ env: [{ name: 'REDIS_NODES', value: 'cache-0.cache-headless cache-1.cache-headless' }, { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'cache', key: 'redis-password' } } }] }] } } },
  };
  const d = s.profile.destinationTemplate(sts, 'redis-west');
  const env = (d.spec as { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } }).template.spec.containers[0].env;
  assert.equal(env[0].value, 'cache-headless.redis-west.svc.cluster.local');
  assert.equal(env[1].value, undefined);
  assert.equal((sts.spec as { template: { spec: { containers: Array<{ env: Array<{ value?: string }> }> } } }).template.spec.containers[0].env[0].value, 'cache-0.cache-headless cache-1.cache-headless', 'the source object is not modified');
});

test('what a pod template needs: Secrets and ConfigMaps from env, envFrom, volumes, pull secrets; claims per ordinal', () => {
  const sts: KubeObject = {
    metadata: { name: 'cache' },
    spec: {
      template: {
        metadata: { labels: { app: 'cache', tier: 'db' } },
        spec: {
          containers: [{ env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'pw', key: 'k' } } }, { name: 'C', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }], envFrom: [{ configMapRef: { name: 'extra' } }] }],
          volumes: [{ name: 'tls', secret: { secretName: 'tls' } }, { name: 'conf', configMap: { name: 'cfg' } }],
          imagePullSecrets: [{ name: 'pull' }],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' } }, { metadata: { name: 'node-conf' } }],
    },
  };
  assert.deepEqual(templateReferences(sts), { secrets: ['pull', 'pw', 'tls'], configMaps: ['cfg', 'extra'] });
  assert.deepEqual(claimNames(sts, 4), ['data-cache-4', 'node-conf-cache-4']);
  assert.ok(selects({ metadata: { name: 's' }, spec: { selector: { app: 'cache' } } }, { app: 'cache', tier: 'db' }));
  assert.ok(!selects({ metadata: { name: 's' }, spec: { selector: { app: 'other' } } }, { app: 'cache' }));
  assert.ok(!selects({ metadata: { name: 's' }, spec: {} }, { app: 'cache' }), 'a Service without a selector picks nothing');
});

test('ordinals: refused before 1.26, a warning on 1.26 (alpha gate), fine from 1.27', () => {
  assert.equal(ordinalsSupport({ major: '1', minor: '25', gitVersion: 'v1.25.3' }).result, 'fail');
  assert.equal(ordinalsSupport({ major: '1', minor: '26+', gitVersion: 'v1.26.1-eks' }).result, 'warn');
  assert.equal(ordinalsSupport({ major: '1', minor: '27', gitVersion: 'v1.27.0' }).result, 'ok');
  assert.equal(ordinalsSupport({ gitVersion: 'v1.32.4-sandbox' }).result, 'ok');
});

test('journal names are valid ConfigMap names', () => {
  assert.equal(journalName({ ref: 'sts/cache' }), 'kubectl-redis-migrate-sts-cache');
  assert.equal(journalName({ ref: 'rediscluster/Orders.v2' }), 'kubectl-redis-migrate-rediscluster-orders-v2');
});
