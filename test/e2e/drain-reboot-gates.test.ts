// drain-reboot's kubectl drain flags and Kured gates (issue 22), on one small sandbox with no Redis (the gates and
// the drain semantics do not depend on Redis; drain-reboot.test.ts covers Redis availability):
// a bare pod is refused without --force and evicted with it; --pod-selector drains only the matching pods;
// --disable-eviction deletes through a PDB that blocks evictions (warned); --no-reboot leaves the boot ID unchanged
// and the node cordoned, --uncordon gives it back; a pod matching --blocking-pod-selector holds every reboot before
// anything changes (and, appearing during --delay, the reboot itself); --only-needed reboots only the node whose
// /var/run/reboot-required exists (the sandbox's node-file), and the reboot clears it (/run is a tmpfs); outside the
// --window nothing starts (it waits, or with --window-action stop stops, and the same command inside it resumes);
// an alert firing in a real Prometheus (the OS package, test/support/prometheus.ts) holds the reboot and once it
// stops firing the run goes on, the alert filters mean what Kured's do, and an unreachable Prometheus refuses;
// --pre/--post-reboot-node-labels, the last-reboot annotations and --notify-url's JSON per node step, received by a
// local HTTP server. Then, on a 6-node sandbox with two Redis Clusters and a Sentinel set: --max-unavailable auto
// reboots every node in fewer batches than nodes while a watcher never sees two copies of a shard down at once, nor
// fewer sentinels than the quorum.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { startPrometheus } from '../support/prometheus.js';
import { rc, secret } from '../support/redis.js';
import { startSandbox, type LiveCli, type RunResult, type TestSandbox } from '../support/sandbox.js';

const MARK = 'redis.kubectl.io/drain-reboot';
const COMMON = ['--delete-emptydir-data', '--ignore-daemonsets', '--delay', '0s', '--yes'];

let sb: TestSandbox;

interface NodeJson {
  metadata: { annotations?: Record<string, string> };
  spec?: { unschedulable?: boolean };
  status: { nodeInfo: { bootID: string } };
}
interface PodJson {
  metadata: { uid: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
}

async function kjson<T>(args: string[]): Promise<T> {
  const r = await sb.kubectl([...args, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

const node = (name: string) => kjson<NodeJson>(['get', 'node', name]);
const bootOf = async (name: string) => (await node(name)).status.nodeInfo.bootID;

async function pod(name: string, ns = 'default'): Promise<PodJson | undefined> {
  const r = await sb.kubectl(['get', 'pod', name, '-n', ns, '-o', 'json']);
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout) as PodJson;
}

async function apply(doc: object): Promise<void> {
  const r = await sb.kubectl(['apply', '-f', '-'], { input: JSON.stringify(doc) });
  assert.equal(r.code, 0, r.stderr);
}

/** A pod with no controller pinned to a node (what `kubectl run --overrides` with a nodeName makes). */
function barePod(name: string, nodeName: string, labels: Record<string, string> = {}): object {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { purpose: 'debug', ...labels } },
    spec: { nodeName, terminationGracePeriodSeconds: 0, containers: [{ name: 'sh', image: 'docker.io/library/busybox:1.36', command: ['sleep', 'infinity'] }] },
  };
}

async function untilPodRunning(name: string, ns = 'default'): Promise<void> {
  const r = await sb.kubectl(['wait', '--for=condition=Ready', `pod/${name}`, '-n', ns, '--timeout=60s']);
  assert.equal(r.code, 0, r.stderr);
}

async function untilReady(name: string): Promise<void> {
  const r = await sb.kubectl(['wait', '--for=condition=Ready', `node/${name}`, '--timeout=60s']);
  assert.equal(r.code, 0, r.stderr);
}

/** Resolves with the first stderr line matching `re` of a live CLI (fails if it exits first). */
function lineOf(cli: LiveCli, re: RegExp, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      const hit = cli.stderr().split('\n').find((l) => re.test(l));
      if (hit) return resolvePromise(hit);
      if (Date.now() > deadline) return reject(new Error(`no line matching ${re} in:\n${cli.stderr()}`));
      setTimeout(tick, 200);
    };
    void cli.result.then((r) => {
      if (!r.stderr.split('\n').some((l) => re.test(l))) reject(new Error(`exited ${r.code} before a line matching ${re}:\n${r.stderr}`));
    });
    tick();
  });
}

async function untilMarkStep(name: string, step: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mark = (await node(name)).metadata.annotations?.[MARK];
    if (mark && (JSON.parse(mark) as { step: string }).step === step) return;
    assert.ok(Date.now() < deadline, `drain-reboot never reached step ${step} on ${name}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function assertExit(r: RunResult, code: number): void {
  assert.equal(r.code, code, `exit ${r.code}, expected ${code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

function errorLines(r: RunResult): string[] {
  return r.stderr.split('\n').filter((l) => l.startsWith('error:'));
}

async function assertUntouched(name: string, bootBefore: string): Promise<void> {
  const n = await node(name);
  assert.equal(n.spec?.unschedulable ?? false, false, `${name} is not cordoned`);
  assert.equal(n.metadata.annotations?.[MARK], undefined, `${name} carries no mark`);
  assert.equal(n.status.nodeInfo.bootID, bootBefore, `${name} was not rebooted`);
}

describe('drain-reboot: kubectl drain flags and Kured gates', { timeout: 300_000 }, () => {
  before(async () => {
    sb = await startSandbox({ preset: 'none', nodes: 3 });
  });

  after(async () => {
    await sb?.down();
  });

  test('a bare pod refuses the node without --force (exit 4, nothing changed) and is evicted with it', async () => {
    const target = 'east-node-1';
    await apply(barePod('debug-shell', target));
    await untilPodRunning('debug-shell');
    const bootBefore = await bootOf(target);
    const uid = (await pod('debug-shell'))!.metadata.uid;

    const refused = await sb.cli(['drain-reboot', target, ...COMMON]);
    assertExit(refused, 4);
    assert.deepEqual(errorLines(refused), [`error: cannot drain node "${target}": cannot delete Pods that declare no controller (use --force to override): default/debug-shell`]);
    await assertUntouched(target, bootBefore);
    assert.equal((await pod('debug-shell'))?.metadata.uid, uid, 'the bare pod is still there');

    const forced = await sb.cli(['drain-reboot', target, ...COMMON, '--force']);
    assertExit(forced, 0);
    assert.match(forced.stderr, /deleting Pods that declare no controller: default\/debug-shell/);
    assert.equal(await pod('debug-shell'), undefined, 'the bare pod was evicted (nothing recreates it)');
    const after = await node(target);
    assert.notEqual(after.status.nodeInfo.bootID, bootBefore, 'rebooted');
    assert.equal(after.spec?.unschedulable ?? false, false, 'uncordoned');
  });

  test('--pod-selector drains only the matching pods: a bare pod outside it neither refuses nor is evicted', async () => {
    const target = 'east-node-2';
    await apply(barePod('keep-me', target, { tier: 'tools' }));
    await untilPodRunning('keep-me');
    const uid = (await pod('keep-me'))!.metadata.uid;
    const bootBefore = await bootOf(target);
    const r = await sb.cli(['drain-reboot', target, ...COMMON, '--pod-selector', 'tier!=tools']);
    assertExit(r, 0);
    assert.doesNotMatch(r.stderr, /evicted pod default\/keep-me/);
    assert.equal((await pod('keep-me'))?.metadata.uid, uid, 'the pod outside --pod-selector stayed (through the reboot)');
    assert.notEqual(await bootOf(target), bootBefore, 'rebooted');
    await sb.kubectl(['delete', 'pod', 'keep-me', '--grace-period=0', '--wait=false']);

    const bad = await sb.cli(['drain-reboot', target, ...COMMON, '--pod-selector', 'tier in (a']);
    assertExit(bad, 2);
    assert.match(errorLines(bad)[0] ?? '', /^error: --pod-selector must be a valid label selector/);
  });

  test('--skip-wait-for-delete-timeout: a pod stuck terminating (a finalizer) is not waited for once deleted long enough ago', async () => {
    const target = 'east-node-2';
    await untilReady(target);
    const stuck = barePod('stuck', target) as { metadata: Record<string, unknown> };
    stuck.metadata.finalizers = ['example.com/hold'];
    await apply(stuck);
    await untilPodRunning('stuck');
    const del = await sb.kubectl(['delete', 'pod', 'stuck', '--wait=false']);
    assert.equal(del.code, 0, del.stderr);
    assert.ok((await pod('stuck'))?.metadata.deletionTimestamp, 'the pod is terminating and stays (its finalizer)');
    const bootBefore = await bootOf(target);

    // the fault is there: without the flag the drain waits for the pod until --timeout, and gives the node back
    const waits = await sb.cli(['drain-reboot', target, ...COMMON, '--force', '--timeout', '3s']);
    assert.notEqual(waits.code, 0, waits.stderr);
    assert.match(waits.stderr, /still there: default\/stuck/);
    await assertUntouched(target, bootBefore);

    await new Promise((r) => setTimeout(r, 1100));
    const r = await sb.cli(['drain-reboot', target, ...COMMON, '--force', '--skip-wait-for-delete-timeout', '1', '--timeout', '1m']);
    assertExit(r, 0);
    assert.notEqual(await bootOf(target), bootBefore, 'rebooted without waiting for the stuck pod');
    await sb.kubectl(['patch', 'pod', 'stuck', '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
  });

  test('--disable-eviction deletes a pod whose PodDisruptionBudget refuses every eviction, and says so', async () => {
    const target = 'east-node-3';
    const labels = { app: 'pinned' };
    await apply({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'pinned', namespace: 'default' },
      spec: {
        replicas: 1, selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { nodeSelector: { 'kubernetes.io/hostname': target }, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36', command: ['sleep', 'infinity'] }] } },
      },
    });
    await apply({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'pinned', namespace: 'default' }, spec: { maxUnavailable: 0, selector: { matchLabels: labels } } });
    const w = await sb.kubectl(['rollout', 'status', 'deployment/pinned', '--timeout=60s']);
    assert.equal(w.code, 0, w.stderr);
    const before = await kjson<{ items: PodJson[] }>(['get', 'pods', '-l', 'app=pinned']);
    assert.equal(before.items.length, 1);
    const bootBefore = await bootOf(target);

    // the fault is there: the Eviction API refuses (429) until the timeout, and the node is given back unrebooted
    const evicting = await sb.cli(['drain-reboot', target, ...COMMON, '--timeout', '4s']);
    assert.notEqual(evicting.code, 0, evicting.stderr);
    assert.match(evicting.stderr, /refused for now by PodDisruptionBudget "pinned"/);
    await assertUntouched(target, bootBefore);

    const r = await sb.cli(['drain-reboot', target, ...COMMON, '--disable-eviction']);
    assertExit(r, 0);
    assert.match(r.stderr, /--disable-eviction: deleting 1 pod of east-node-3 instead of evicting them; PodDisruptionBudgets are not checked/);
    assert.match(r.stderr, /deleted pod default\/pinned-/);
    assert.notEqual(await bootOf(target), bootBefore, 'rebooted');
    const pods = await kjson<{ items: PodJson[] }>(['get', 'pods', '-l', 'app=pinned']);
    assert.ok(!pods.items.some((p) => p.metadata.uid === before.items[0].metadata.uid), 'the old pod was deleted');
    await sb.kubectl(['delete', 'deployment/pinned', 'pdb/pinned']);
  });

  test('--no-reboot drains and leaves the node cordoned with the same boot ID; --uncordon gives it back', async () => {
    const target = 'east-node-1';
    await untilReady(target);
    const bootBefore = await bootOf(target);
    const r = await sb.cli(['drain-reboot', target, ...COMMON, '--no-reboot', '-o', 'json']);
    assertExit(r, 0);
    const results = JSON.parse(r.stdout) as Array<{ node: string; result: string }>;
    assert.deepEqual(results.map((x) => [x.node, x.result]), [[target, 'drained']]);
    let n = await node(target);
    assert.equal(n.status.nodeInfo.bootID, bootBefore, 'not rebooted');
    assert.equal(n.spec?.unschedulable, true, 'left cordoned');
    assert.equal(n.metadata.annotations?.[MARK], undefined, 'our mark is removed: the run is over');

    const again = await sb.cli(['drain-reboot', target, ...COMMON, '--no-reboot', '--uncordon']);
    assertExit(again, 0);
    n = await node(target);
    assert.equal(n.status.nodeInfo.bootID, bootBefore, 'still not rebooted');
    // it was cordoned when this second run came: like every run, it never uncordons a node cordoned before it
    assert.equal(n.spec?.unschedulable, true);
    assert.match(again.stderr, /stays cordoned: it was cordoned before drain-reboot started/);
    await sb.kubectl(['uncordon', target]);
    const third = await sb.cli(['drain-reboot', target, ...COMMON, '--no-reboot', '--uncordon']);
    assertExit(third, 0);
    n = await node(target);
    assert.equal(n.spec?.unschedulable ?? false, false, '--uncordon gave it back');
    assert.equal(n.status.nodeInfo.bootID, bootBefore, 'still not rebooted');
  });

  test('--no-reboot with --reboot-method, or --uncordon without --no-reboot: one sentence, exit 2, nothing changed', async () => {
    const target = 'east-node-2';
    const bootBefore = await bootOf(target);
    for (const args of [['--no-reboot', '--reboot-method', 'pod'], ['--uncordon']]) {
      const r = await sb.cli(['drain-reboot', target, ...COMMON, ...args]);
      assertExit(r, 2);
      assert.equal(errorLines(r).length, 1, r.stderr);
      await assertUntouched(target, bootBefore);
    }
  });

  test('a running pod matching --blocking-pod-selector holds the reboot before anything changes; once it is gone the run goes on', async () => {
    const target = 'east-node-2';
    await untilReady(target);
    // the blocker runs on another node: "anywhere" (issue 22)
    await apply(barePod('backup-job', 'east-node-3', { app: 'backup' }));
    await untilPodRunning('backup-job');
    const bootBefore = await bootOf(target);

    const held = await sb.cli(['drain-reboot', target, ...COMMON, '--blocking-pod-selector', 'app=backup', '--blocking-pod-selector', 'app=other', '--gate-interval', '1s', '--timeout', '3s']);
    assertExit(held, 4);
    assert.deepEqual(errorLines(held), [`error: ${target} was held for 3s by closed gates: pod matching --blocking-pod-selector "app=backup" is running: default/backup-job`]);
    await assertUntouched(target, bootBefore);

    const live = sb.spawnCli(['drain-reboot', target, ...COMMON, '--blocking-pod-selector', 'app=backup', '--gate-interval', '1s', '--timeout', '2m']);
    await lineOf(live, /east-node-2: waiting: pod matching --blocking-pod-selector "app=backup" is running: default\/backup-job/);
    await assertUntouched(target, bootBefore);
    const del = await sb.kubectl(['delete', 'pod', 'backup-job', '--grace-period=0']);
    assert.equal(del.code, 0, del.stderr);
    const r = await live.result;
    assertExit(r, 0);
    assert.notEqual(await bootOf(target), bootBefore, 'rebooted once the blocker was gone');
  });

  test('a blocking pod that appears during --delay is seen right before the reboot: no reboot, the node is uncordoned', async () => {
    const target = 'east-node-3';
    await untilReady(target);
    const bootBefore = await bootOf(target);
    const run = sb.cli(['drain-reboot', target, '--delete-emptydir-data', '--ignore-daemonsets', '--yes', '--delay', '4s', '--blocking-pod-selector', 'app=late-backup', '--gate-interval', '1s', '--timeout', '3s']);
    await untilMarkStep(target, 'delay');
    await apply(barePod('late-backup', 'east-node-1', { app: 'late-backup' }));
    const r = await run;
    assertExit(r, 4);
    assert.match(errorLines(r)[0] ?? '', new RegExp(`^error: ${target} was held for 3s by closed gates: pod matching --blocking-pod-selector "app=late-backup" is running: default/late-backup; "${target}" was uncordoned again and not rebooted$`));
    assert.match(r.stderr, /check the gates again right before rebooting east-node-3/);
    await assertUntouched(target, bootBefore);
    await sb.kubectl(['delete', 'pod', 'late-backup', '--grace-period=0']);
    // the stopped run is journaled (it would resume with the same command); end it so other runs may start
    assertExit(await sb.cli(['drain-reboot', '--abort', '--yes']), 0);
  });

  test('--only-needed reboots only the node whose /var/run/reboot-required exists; the reboot clears it', async () => {
    const nodes = ['east-node-1', 'east-node-2', 'east-node-3'];
    for (const n of nodes) await untilReady(n);
    const marked = 'east-node-3';
    const mark = await sb.sandbox(['node-file', '--node', marked]);
    assert.equal(mark.code, 0, mark.stderr);
    const file = join(sb.dir, 'east', 'nodes', marked, 'root', 'var', 'run', 'reboot-required');
    assert.ok(existsSync(file), 'the sandbox wrote the sentinel on the node');
    const boots = new Map(await Promise.all(nodes.map(async (n) => [n, await bootOf(n)] as const)));

    const r = await sb.cli(['drain-reboot', ...nodes, ...COMMON, '--only-needed', '-o', 'json']);
    assertExit(r, 0);
    const results = JSON.parse(r.stdout) as Array<{ node: string; result: string }>;
    assert.deepEqual(results.map((x) => [x.node, x.result]), [['east-node-1', 'not-needed'], ['east-node-2', 'not-needed'], [marked, 'rebooted']]);
    for (const n of nodes) {
      if (n === marked) assert.notEqual(await bootOf(n), boots.get(n), `${n} rebooted`);
      else await assertUntouched(n, boots.get(n)!);
    }
    assert.ok(!existsSync(file), 'the reboot emptied /var/run');
    const pods = await sb.kubectl(['get', 'pods', '-n', 'kube-system', '-o', 'name']);
    assert.doesNotMatch(pods.stdout, /kubectl-redis-sentinel/, 'the sentinel pods are cleaned up');

    const again = await sb.cli(['drain-reboot', marked, ...COMMON, '--only-needed', '-o', 'json']);
    assertExit(again, 0);
    assert.deepEqual((JSON.parse(again.stdout) as Array<{ result: string }>).map((x) => x.result), ['not-needed']);

    // --reboot-sentinel-command, run in the node's mount namespace: exit 0 = needs a reboot (here: a file of its own)
    assert.equal((await sb.sandbox(['node-file', '--node', 'east-node-1', '--path', '/etc/needs-reboot'])).code, 0);
    const byCommand = await sb.cli(['drain-reboot', 'east-node-1', 'east-node-2', ...COMMON, '--only-needed', '--reboot-sentinel-command', 'test -e /etc/needs-reboot', '-o', 'json']);
    assertExit(byCommand, 0);
    assert.deepEqual((JSON.parse(byCommand.stdout) as Array<{ node: string; result: string }>).map((x) => [x.node, x.result]), [['east-node-1', 'rebooted'], ['east-node-2', 'not-needed']]);
    assert.notEqual(await bootOf('east-node-1'), boots.get('east-node-1'));
    await assertUntouched('east-node-2', boots.get('east-node-2')!);
  });

  test('outside the --window nothing starts: it waits, or stops with --window-action stop; inside it the same command resumes', async () => {
    const target = 'east-node-1';
    await untilReady(target);
    const bootBefore = await bootOf(target);
    const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
    const elsewhen = `${days[(new Date().getUTCDay() + 3) % 7]} 00:00-24:00 UTC`;

    const stopped = await sb.cli(['drain-reboot', target, ...COMMON, '--window', elsewhen, '--window-action', 'stop']);
    assertExit(stopped, 4);
    assert.deepEqual(errorLines(stopped), [`error: ${target}: outside the maintenance window ${elsewhen}, so drain-reboot stops here (--window-action stop)`]);
    assert.match(stopped.stderr, /run the same command again inside the window: it resumes where it stopped/);
    await assertUntouched(target, bootBefore);

    const waiting = sb.spawnCli(['drain-reboot', target, ...COMMON, '--window', elsewhen, '--gate-interval', '1s']);
    await lineOf(waiting, new RegExp(`${target}: waiting: outside the maintenance window ${elsewhen} \\(it opens at \\d{4}-\\d\\d-\\d\\dT00:00:00.000Z\\)`));
    await new Promise((r) => setTimeout(r, 2500));
    await assertUntouched(target, bootBefore);
    process.kill(waiting.pid, 'SIGINT');
    assert.equal((await waiting.result).code, 1);
    await assertUntouched(target, bootBefore);

    const inside = await sb.cli(['drain-reboot', target, ...COMMON, '--window', '* 00:00-24:00 UTC']);
    assertExit(inside, 0);
    assert.match(inside.stderr, /resuming drain-reboot dr-\w+ from its journal/);
    assert.notEqual(await bootOf(target), bootBefore, 'rebooted inside the window');
  });

  test('an unparsable --window, an invalid regexp, a bad selector: one sentence, exit 2, nothing changed', async () => {
    const target = 'east-node-2';
    const bootBefore = await bootOf(target);
    const cases: Array<[string[], RegExp]> = [
      [['--window', 'Mon-Fri 01:00'], /^error: --window: "Mon-Fri 01:00" is not START-END|^error: --window: "01:00" is not START-END/],
      [['--window', 'Mon-Fri 01:00-05:00 Europe/Atlantis'], /^error: --window: "Europe\/Atlantis" is not a time zone/],
      [['--prometheus-url', 'http://127.0.0.1:9', '--alert-filter-regexp', '(unclosed'], /^error: --alert-filter-regexp "\(unclosed" is not a valid regular expression/],
      [['--alert-firing-only'], /^error: .*need --prometheus-url/],
      [['--blocking-pod-selector', 'app in (x'], /^error: --blocking-pod-selector "app in \(x" is not a valid label selector/],
    ];
    for (const [args, re] of cases) {
      const r = await sb.cli(['drain-reboot', target, ...COMMON, ...args]);
      assertExit(r, 2);
      assert.equal(errorLines(r).length, 1, r.stderr);
      assert.match(errorLines(r)[0], re);
      await assertUntouched(target, bootBefore);
    }
  });

  test('an alert firing in a real Prometheus holds the reboot; once it stops firing the run goes on; unreachable refuses', async () => {
    const target = 'east-node-2';
    await untilReady(target);
    const blocker = { alert: 'RedisRebootBlocker', expr: 'vector(1) > 0' };
    const always = [{ alert: 'Watchdog', expr: 'vector(1)' }, { alert: 'SlowBurn', expr: 'vector(1)', for: '1h' }];
    const prom = await startPrometheus([blocker, ...always]);
    try {
      await prom.untilAlerts(['RedisRebootBlocker=firing', 'SlowBurn=pending', 'Watchdog=firing']);
      const bootBefore = await bootOf(target);
      // what each filter lets block, as the gate step of the dry-run plan says it (kured pkg/alerts ActiveAlerts)
      const gateRow = async (args: string[]) => {
        const r = await sb.cli(['drain-reboot', target, ...COMMON, '--dry-run', '-o', 'json', '--prometheus-url', prom.url, ...args]);
        assertExit(r, 0);
        return (JSON.parse(r.stdout) as Array<{ step: string; action: string }>).find((x) => x.step === 'gates')?.action ?? '';
      };
      assert.match(await gateRow([]), /NOW CLOSED: 3 active alerts in Prometheus: RedisRebootBlocker, SlowBurn, Watchdog$/);
      assert.match(await gateRow(['--alert-filter-regexp', '^Watchdog$']), /NOW CLOSED: 2 active alerts in Prometheus: RedisRebootBlocker, SlowBurn$/);
      assert.match(await gateRow(['--alert-filter-regexp', '^Watchdog$', '--alert-firing-only']), /NOW CLOSED: 1 active alert in Prometheus: RedisRebootBlocker$/);
      assert.match(await gateRow(['--alert-filter-regexp', 'Watch', '--alert-filter-match-only']), /NOW CLOSED: 1 active alert in Prometheus: Watchdog$/);
      assert.match(await gateRow(['--alert-filter-regexp', 'Watch', '--alert-filter-match-only', '--alert-firing-only']), /NOW CLOSED: 1 active alert in Prometheus: Watchdog$/);
      assert.match(await gateRow(['--alert-filter-regexp', 'Slow', '--alert-filter-match-only', '--alert-firing-only']), /now open$/);

      const live = sb.spawnCli(['drain-reboot', target, ...COMMON, '--prometheus-url', prom.url, '--alert-filter-regexp', '^Watchdog$', '--alert-firing-only', '--gate-interval', '1s', '--timeout', '2m']);
      await lineOf(live, /east-node-2: waiting: 1 active alert in Prometheus: RedisRebootBlocker/);
      await new Promise((r) => setTimeout(r, 2000));
      await assertUntouched(target, bootBefore);
      // the alert stops firing: the rule is rewritten and Prometheus reloaded
      await prom.setRules(always);
      await prom.untilAlerts(['SlowBurn=pending', 'Watchdog=firing']);
      const r = await live.result;
      assertExit(r, 0);
      assert.notEqual(await bootOf(target), bootBefore, 'rebooted once the alert was gone');
    } finally {
      await prom.stop();
    }

    const bootNow = await bootOf(target);
    const down = await sb.cli(['drain-reboot', target, ...COMMON, '--prometheus-url', prom.url]);
    assertExit(down, 4);
    assert.deepEqual(errorLines(down), [`error: cannot query Prometheus at ${prom.url}: ECONNREFUSED; a gate that cannot be evaluated is closed, so nothing was started`]);
    await assertUntouched(target, bootNow);
  });

  test('--pre/--post-reboot-node-labels, the last-reboot annotations, and --notify-url: start, rebooted, done, stopped', async () => {
    const target = 'east-node-3';
    await untilReady(target);
    const got: Array<Record<string, string>> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        got.push({ ...(JSON.parse(body) as Record<string, string>), contentType: req.headers['content-type'] ?? '' });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`;
    try {
      const bootBefore = await bootOf(target);
      const live = sb.spawnCli(['drain-reboot', target, '--delete-emptydir-data', '--ignore-daemonsets', '--yes', '--delay', '3s', '-o', 'json', '--notify-url', url, '--pre-reboot-node-labels', 'maintenance=rebooting,team=sre', '--post-reboot-node-labels', 'maintenance=done']);
      await untilMarkStep(target, 'delay');
      const during = await kjson<{ metadata: { labels: Record<string, string> } }>(['get', 'node', target]);
      assert.equal(during.metadata.labels.maintenance, 'rebooting', 'the pre-reboot label is on while it is drained');
      assert.equal(during.metadata.labels.team, 'sre');
      const r = await live.result;
      assertExit(r, 0);
      const after = await kjson<{ metadata: { labels: Record<string, string>; annotations: Record<string, string> }; status: { nodeInfo: { bootID: string } } }>(['get', 'node', target]);
      const bootAfter = after.status.nodeInfo.bootID;
      assert.notEqual(bootAfter, bootBefore);
      assert.equal(after.metadata.labels.maintenance, 'done', 'the post-reboot label after the uncordon');
      const op = /drain-reboot (dr-\w+) done/.exec(r.stderr)?.[1];
      assert.ok(op, r.stderr);
      assert.equal(after.metadata.annotations['redis.kubectl.io/last-reboot-operation'], op);
      assert.equal(after.metadata.annotations['redis.kubectl.io/last-reboot-boot-id'], bootAfter);
      assert.ok(!Number.isNaN(Date.parse(after.metadata.annotations['redis.kubectl.io/last-reboot-time'])));
      assert.deepEqual(got.map((m) => [m.event, m.node, m.operationId, m.contentType]), [['start', target, op, 'application/json'], ['rebooted', target, op, 'application/json'], ['done', target, op, 'application/json']]);
      assert.equal(got[0].bootIdBefore, bootBefore);
      assert.deepEqual([got[1].bootIdBefore, got[1].bootIdAfter], [bootBefore, bootAfter]);
      assert.equal(got[2].result, 'rebooted');

      // a node that is stopped says so too
      got.length = 0;
      const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
      const stop = await sb.cli(['drain-reboot', target, ...COMMON, '--notify-url', url, '--window', `${days[(new Date().getUTCDay() + 2) % 7]} 01:00-02:00 UTC`, '--window-action', 'stop']);
      assertExit(stop, 4);
      assert.deepEqual(got.map((m) => [m.event, m.node, m.result]), [['stopped', target, 'not-rebooted']]);
      assert.match(got[0].message, /outside the maintenance window/);
      assertExit(await sb.cli(['drain-reboot', '--abort', '--yes']), 0);

      const bad = await sb.cli(['drain-reboot', target, ...COMMON, '--pre-reboot-node-labels', 'maintenance']);
      assertExit(bad, 2);
      assert.deepEqual(errorLines(bad), ['error: --pre-reboot-node-labels takes key=value labels, not "maintenance"']);
    } finally {
      server.close();
    }
  });
});

interface PodsJson {
  items: Array<{ metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string }; status: { podIP?: string; conditions?: Array<{ type: string; status: string }> } }>;
}

describe('drain-reboot --max-unavailable auto: two Redis Clusters and a Sentinel on 6 nodes', { timeout: 600_000 }, () => {
  const NODES6 = ['east-node-1', 'east-node-2', 'east-node-3', 'east-node-4', 'east-node-5', 'east-node-6'];
  before(async () => {
    sb = await startSandbox({ preset: 'two-clusters-sentinel', nodes: 6 });
  });

  after(async () => {
    await sb?.down();
  });

  /** Each shard's pods (a master and its replicas), from CLUSTER NODES of one of the cluster's pods. */
  async function shardsOf(cluster: string): Promise<string[][]> {
    const pods = await kjson<PodsJson>(['get', 'pods', '-n', 'redis', '-l', `redis_setup_type=cluster`]);
    const mine = pods.items.filter((p) => p.metadata.name.startsWith(`${cluster}-`));
    const byIp = new Map(mine.map((p) => [p.status.podIP ?? '', p.metadata.name]));
    const text = await rc(mine[0].status.podIP ?? '', 6379, await secret(sb, 'redis', `${cluster}-redis`, 'password'), ['CLUSTER', 'NODES']);
    const shards = new Map<string, string[]>();
    for (const line of text.split('\n')) {
      const [id, addr, flags, master] = line.split(' ');
      const pod = byIp.get(addr.split(':')[0]);
      assert.ok(pod, `${cluster}: ${addr} is one of its pods`);
      const shard = flags.includes('master') ? id : master;
      shards.set(shard, [...(shards.get(shard) ?? []), pod]);
    }
    return [...shards.values()];
  }

  test('every node rebooted in fewer batches than nodes; never two copies of a shard or the sentinel quorum down', async () => {
    const shards = [...(await shardsOf('orders')), ...(await shardsOf('carts'))];
    assert.equal(shards.length, 6);
    for (const sh of shards) assert.equal(sh.length, 2, `a master and its replica: ${sh.join(', ')}`);
    const rfr = (await kjson<PodsJson>(['get', 'pods', '-n', 'redis', '-l', 'app.kubernetes.io/component=redis,app.kubernetes.io/name=sessions'])).items.map((p) => p.metadata.name);
    assert.equal(rfr.length, 3);
    const boots = new Map(await Promise.all(NODES6.map(async (n) => [n, await bootOf(n)] as const)));

    // the watcher: every 300 ms, which Redis pods are down (missing, not Ready, or deleting)
    const violations: string[] = [];
    let sawDown = 0;
    let minSentinels = Infinity;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const r = await sb.kubectl(['get', 'pods', '-n', 'redis', '-o', 'json']);
        if (r.code === 0) {
          const items = (JSON.parse(r.stdout) as PodsJson).items;
          const up = new Set(items.filter((p) => !p.metadata.deletionTimestamp && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((p) => p.metadata.name));
          for (const sh of [...shards, rfr]) {
            const down = sh.filter((p) => !up.has(p));
            sawDown = Math.max(sawDown, down.length);
            if (down.length > 1) violations.push(`${new Date().toISOString()}: ${down.join(' and ')} down at once`);
          }
          const sentinels = items.filter((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'sentinel' && up.has(p.metadata.name)).length;
          minSentinels = Math.min(minSentinels, sentinels);
        }
        await new Promise((res) => setTimeout(res, 300));
      }
    })();

    let r: RunResult;
    try {
      r = await sb.cli(['drain-reboot', ...NODES6, '--max-unavailable', 'auto', '--delete-emptydir-data', '--ignore-daemonsets', '--delay', '0s', '--timeout', '3m', '--yes', '-o', 'json'], { timeoutMs: 480_000 });
    } finally {
      watching = false;
      await watcher;
    }
    assertExit(r, 0);
    const results = JSON.parse(r.stdout) as Array<{ node: string; result: string }>;
    assert.deepEqual(results.map((x) => [x.node, x.result]), NODES6.map((n) => [n, 'rebooted']));
    for (const n of NODES6) assert.notEqual(await bootOf(n), boots.get(n), `${n} rebooted`);
    const batchLines = r.stderr.split('\n').filter((l) => /--max-unavailable auto: batch \d+: /.test(l));
    assert.ok(batchLines.length >= 2 && batchLines.length < NODES6.length, `fewer batches than nodes:\n${batchLines.join('\n')}`);
    assert.ok(batchLines.some((l) => /batch \d+: east-node-\d, east-node-\d/.test(l)), 'some batch has two nodes or more');
    assert.deepEqual(violations, [], 'never two copies of a shard down at once');
    assert.ok(sawDown >= 1, 'the watcher did see copies go down (it watches something)');
    assert.ok(minSentinels >= 2, `the sentinel quorum (2) stayed up: at least ${minSentinels} Ready`);
  });
});
