// Issue 13 (reliability), migrate part: `kubectl redis migrate sts/cache` (Bitnami redis-cluster, 6 pods) from east to
// west (two sandbox clusters sharing storage and a flat pod network, as in test/e2e/migrate.test.ts) under API faults
// injected while it runs. Under each fault migrate either completes (rides through: bounded retries of safe
// requests), or stops with ONE clear sentence naming what to re-run, leaving a journal it resumes from; the same
// command run again after `fault clear` completes. One migration runs through both faults: the first run is killed
// (KUBECTL_REDIS_DIE_AFTER_STEP, the suite's hook) once cache-3 has joined west, so the second fault meets a migration
// that is half done. A probe writes throughout; afterwards all 6 pods run in west with the same node ids,
// redis-cli --cluster check is OK, no ordinal ever ran in both clusters, no acknowledged write is lost.
//
// | fault                                             | when                                   | expected outcome                                                  |
// |---------------------------------------------------|----------------------------------------|-------------------------------------------------------------------|
// | 500 on every verb in the DESTINATION (west) API,  | as cache-5 has joined west (first      | rides through (reads and absolute patches retried) or exit 1, one |
// | --count 6                                         | ordinal moved), before cache-4 moves   | sentence + re-run hint; the re-run continues from the journal     |
// | SOURCE (east) API unreachable 30 s (it holds the  | as the resumed run starts moving       | rides through or exit 1, one sentence naming the re-run; after    |
// | journal ConfigMap)                                | cache-2                                | the fault the same command resumes from the journal and completes |
// | (afterwards)                                      |                                        | 6 pods in west, same node ids, check OK, none in both, 0 lost     |
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startProbe, type Probe } from '../../bench/probe.js';
import { clusterCheck, nodeIds, podsIn, twiceWatcher, type MigrationTarget } from '../support/migration.js';
import { startSandbox, type LiveOptions, type RunResult, type TestSandbox } from '../support/sandbox.js';
import { eventually } from '../support/redis.js';

const NS = 'redis';
const CACHE = 'app.kubernetes.io/instance=cache';
const ARGS = ['migrate', 'sts/cache', '-n', NS, '--to-context', 'west', '--yes'];
const JOURNAL = 'kubectl-redis-migrate-sts-cache';

let sb: TestSandbox;
let password = '';
let ids: Record<string, string> = {};
let probe: Probe | undefined;
let twice: { stop(): Promise<string[]> } | undefined;
const cache: MigrationTarget = { sb: () => sb, namespace: NS, selector: CACHE, password: () => password };

function show(r: RunResult): string {
  return `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr.slice(-4000)}`;
}

/** The error a failed command printed: exactly one `error:` line, one sentence, no stack trace. */
function oneSentence(r: RunResult): string {
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
  assert.equal(lines.length, 1, `one error line: ${show(r)}`);
  const sentence = lines[0].slice('error: '.length);
  assert.doesNotMatch(sentence, /\n|at .*\.js:\d+|\[object Object\]|undefined/, sentence);
  assert.doesNotMatch(r.stderr, /^\s+at .*:\d+:\d+\)?$/m, `no stack trace: ${show(r)}`);
  return sentence;
}

/** The CLI with its stderr read line by line as it comes (to inject a fault at a given step). */
function cliLive(args: string[], opts: LiveOptions = {}): Promise<RunResult> {
  return sb.spawnCli(args, { timeoutMs: 300_000, ...opts }).result;
}

async function journalState(): Promise<string | undefined> {
  const r = await sb.kubectl(['get', 'configmap', '-n', NS, JOURNAL, '-o', 'jsonpath={.metadata.annotations.redis\\.kubectl\\.io/state}'], { context: 'east' });
  return r.code === 0 ? r.stdout : undefined;
}

async function fault(args: string[]): Promise<void> {
  const r = await sb.sandbox(['fault', ...args]);
  assert.equal(r.code, 0, `fault ${args.join(' ')}: ${r.stderr}`);
}

async function clearAll(): Promise<void> {
  for (const c of ['east', 'west']) await sb.sandbox(['fault', 'clear', '--cluster', c]).catch(() => undefined);
}

/** A stop under a fault: exit 1, one sentence, the hint says to re-run; the journal is left for the re-run. */
async function assertStoppedResumable(r: RunResult, sentenceRe: RegExp): Promise<string> {
  assert.equal(r.code, 1, show(r));
  const sentence = oneSentence(r);
  assert.match(sentence, sentenceRe, sentence);
  assert.match(r.stderr, /re-run the same command to resume/, show(r));
  assert.ok(['running', 'failed'].includes((await journalState()) ?? ''), 'the journal is left for the re-run');
  return sentence;
}

describe('faults during migrate (issue 13)', { concurrency: false, timeout: 900_000 }, () => {
  before(async () => {
    sb = await startSandbox({ preset: 'demo', clusters: ['east', 'west'] });
    const r = await sb.kubectl(['get', 'secret', '-n', NS, 'cache', '-o', 'jsonpath={.data.redis-password}'], { context: 'east' });
    password = Buffer.from(r.stdout, 'base64').toString();
    await eventually('cache to be ok in east', () => clusterCheck(cache, 'east', 6).then(() => true), 120_000, 1000);
    ids = await nodeIds(cache, 'east');
    assert.equal(Object.keys(ids).length, 6);
  }, { timeout: 300_000 });

  after(async () => {
    if (!sb) return;
    await twice?.stop().catch(() => undefined);
    await probe?.stop().catch(() => undefined);
    await clearAll();
    await sb.down();
  });

  test('500s on the destination API after the first ordinal moved: rides through, or one sentence and the re-run continues', async (t) => {
    const ps = await podsIn(cache, 'east');
    probe = await startProbe({ name: 'cache', mode: 'cluster', hosts: ps.map((p) => ({ host: p.ip, port: 6379 })), password, prefix: `chaos:migrate:${Date.now()}` });
    twice = twiceWatcher(cache);
    let injected: Promise<void> | undefined;
    const die = { KUBECTL_REDIS_DIE_AFTER_STEP: 'wait-joined/cache-3' };
    const r = await cliLive(ARGS, {
      env: die,
      onLine: (l) => {
        if (!injected && /==> step \d+\/\d+: if cache-4 is a master/.test(l)) injected = fault(['error', '--cluster', 'west', '--code', '500', '--count', '6']);
      },
    });
    assert.ok(injected, `the fault was injected as cache-4 started to move: ${show(r)}`);
    await injected;
    const left = JSON.parse((await sb.sandbox(['fault', 'list', '--cluster', 'west'])).stdout) as { faults: unknown[] };
    await clearAll();
    assert.deepEqual(left.faults, [], 'every injected 500 was met (cache-4 and cache-3 moved after it)');
    if (r.code === 137) {
      t.diagnostic('rode through the six 500s to the kill after cache-3 joined');
    } else {
      const sentence = await assertStoppedResumable(r, /^migrate mig-[0-9a-f]+ of sts\/cache stopped: .*(500|Internal)/);
      t.diagnostic(`stopped: ${sentence}`);
      const again = await cliLive(ARGS, { env: die });
      assert.equal(again.code, 137, `the re-run continues to the kill after cache-3 joined: ${show(again)}`);
      assert.match(again.stderr, /resuming migrate mig-[0-9a-f]+/);
    }
    assert.deepEqual((await podsIn(cache, 'west')).map((p) => p.name), ['cache-3', 'cache-4', 'cache-5'], 'three ordinals moved');
    assert.deepEqual((await podsIn(cache, 'east')).map((p) => p.name), ['cache-0', 'cache-1', 'cache-2']);
    assert.equal(await journalState(), 'running');
  });

  test('the source API (holding the journal) unreachable for 30 s: rides through, or one sentence; the re-run resumes and completes', async (t) => {
    let injected: Promise<void> | undefined;
    const started = Date.now();
    const r = await cliLive(ARGS, {
      onLine: (l) => {
        if (!injected && /==> step \d+\/\d+: if cache-2 is a master/.test(l)) injected = fault(['unreachable', '--cluster', 'east', '--seconds', '30']);
      },
    });
    assert.ok(injected, `the fault was injected as cache-2 started to move: ${show(r)}`);
    await injected;
    assert.match(r.stderr, /resuming migrate mig-[0-9a-f]+/);
    if (r.code === 0) {
      t.diagnostic(`rode through in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.match(r.stdout, /migrated sts\/cache: 6 pods with the same node ids/);
    } else {
      const sentence = await (async () => {
        // the journal lives in east: read it once east answers again
        await eventually('east to answer again', async () => (await sb.kubectl(['get', 'ns', NS], { context: 'east' })).code === 0, 60_000, 1000);
        return assertStoppedResumable(r, /^migrate mig-[0-9a-f]+ of sts\/cache stopped: .*(cannot reach|did not answer|API server)/);
      })();
      t.diagnostic(`stopped: ${sentence} / ${r.stderr.split('\n').filter((l) => /re-run/.test(l) && !l.startsWith('error: ')).join(' ')}`);
      await clearAll();
      const again = await cliLive(ARGS);
      assert.equal(again.code, 0, `the re-run: ${show(again)}`);
      assert.match(again.stderr, /resuming migrate mig-[0-9a-f]+/);
      assert.match(again.stdout, /migrated sts\/cache: 6 pods with the same node ids/);
    }
    await clearAll();
    assert.equal(await journalState(), 'done');
  });

  test('afterwards: 6 pods in west with the same node ids, check OK, none ran in both clusters, no acknowledged write lost', async (t) => {
    assert.ok(probe && twice, 'the first test started the probe and the watcher');
    const doubles = await twice.stop();
    twice = undefined;
    const report = await probe.stop();
    probe = undefined;
    t.diagnostic(`${report.acknowledged} writes acknowledged, ${report.lostAcknowledged} lost, ${report.errors} errors; longest gap ${report.longestGapMs.toFixed(0)} ms`);
    assert.deepEqual(doubles, [], 'no ordinal ran in both clusters at once');
    assert.deepEqual(await podsIn(cache, 'east'), [], 'no pod of cache left in east');
    assert.deepEqual(await nodeIds(cache, 'west'), ids, 'every pod runs in west with its node id');
    await clusterCheck(cache, 'west', 6);
    assert.ok(report.acknowledged > 100, `the probe wrote (${report.acknowledged} acknowledged)`);
    assert.equal(report.lostAcknowledged, 0, `lost acknowledged writes: ${report.lostKeys.slice(0, 5).join(', ')}`);
    assert.equal(report.unverified, 0, 'every acknowledged write could be read back');
  });
});
