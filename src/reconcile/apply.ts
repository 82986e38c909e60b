// apply: run a plan one action at a time, as a controller-runtime reconciler would run one step per round:
// re-check the precondition on the latest observation right before acting (the world changes meanwhile, the
// Kured lesson), act, then re-observe until the postcondition holds. Stops at the first failure with a report.
import type { RedisNode } from '../redis/connect.js';
import { RedisError, errText } from '../errors.js';
import { waitFor, notYet } from '../kube/wait.js';
import { describeCondition, holds } from './conditions.js';
import { executeFailover, retriable } from './failover.js';
import type { Action, Condition, Observed } from './types.js';

export interface KubeActions {
  patchPodLabel(pod: string, key: string, value: string): Promise<void>;
  deletePod(pod: string): Promise<void>;
  patchAnnotation(object: string, key: string, value: string | null): Promise<void>;
  scaleDeployment(name: string, replicas: number): Promise<void>;
}

export type ApplyEvent =
  | { type: 'start'; index: number; total: number; action: Action }
  | { type: 'skip'; index: number; total: number; action: Action; reason: string }
  | { type: 'done'; index: number; total: number; action: Action; ms: number }
  | { type: 'waiting'; action: Action; state: string }
  /** a moveSlots action closed `slots` more slots, with `keys` keys moved */
  | { type: 'moved'; action: Action; slots: number; keys: number };

export interface ApplyDeps {
  /** A fresh observation of the target. */
  observe(): Promise<Observed>;
  /** A connection to the pod's Redis, or to its sentinel for sentinel actions (the caller caches and closes). */
  connect(pod: string, component?: 'redis' | 'sentinel'): Promise<RedisNode>;
  /** Forget the cached connections to a pod (Sentinel closes clients' connections when it reconfigures a node). */
  drop?(pod: string): Promise<void>;
  kube: KubeActions;
  /** Password MIGRATE uses towards the target node, and sentinels need after MONITOR (auth-pass). */
  redisAuth?: { username?: string; password: string };
  progress(e: ApplyEvent): void;
  postconditionTimeoutMs: number;
  intervalMs?: number;
}

export interface ApplyReport {
  done: Action[];
  skipped: Array<{ action: Action; reason: string }>;
  failed?: { action: Action; reason: string };
  observed: Observed;
}

/** How long a manual failover may take before it is asked for again (Redis gives it 5 s, then gives up). */
const FAILOVER_RETRY_MS = 7000;

const allHold = (o: Observed, cs: Condition[]) => cs.every((c) => holds(o, c));
const firstFailing = (o: Observed, cs: Condition[]) => cs.find((c) => !holds(o, c));

function podIp(o: Observed, pod: string): string | undefined {
  return o.pods.find((p) => p.name === pod)?.ip;
}

async function migrateSlotKeys(a: Extract<Action, { kind: 'migrateKeys' }>, deps: ApplyDeps): Promise<void> {
  const from = await deps.connect(a.pod);
  for (let round = 0; round < 100_000; round++) {
    const keys = await from.getKeysInSlot(a.slot, 100);
    if (keys.length === 0) return;
    await migrateKeys(a, from, a.slot, keys, deps, 'resolve it by hand or re-run heal with --prefer');
  }
}

type MoveSlots = Extract<Action, { kind: 'moveSlots' }>;

/** MIGRATE `keys` of one slot to the receiver; a key already there (an earlier run's MIGRATE that timed out after
 * the copy, or a fixer's half-done move) moves only if both copies agree, as redis-cli's fixer does. */
async function migrateKeys(a: { pod: string; toPod: string; toAddress: string }, from: RedisNode, slot: number, keys: string[], deps: ApplyDeps, resolve = 'resolve it by hand, then re-run'): Promise<void> {
  const [host, portText] = a.toAddress.split(':');
  const port = Number(portText);
  try {
    await from.migrate(host, port, keys, { auth: deps.redisAuth, timeoutMs: 10_000 });
  } catch (e) {
    if (!/BUSYKEY/i.test(errText(e))) throw e;
    const to = await deps.connect(a.toPod);
    for (const key of keys) {
      const [mine, theirs] = await Promise.all([from.call('DUMP', key), to.call('DUMP', key)]);
      if (theirs !== null && !Buffer.from(String(mine)).equals(Buffer.from(String(theirs)))) {
        throw new RedisError(`key of slot ${slot} exists on ${a.pod} and ${a.toPod} with different values; ${resolve}`);
      }
      await from.migrate(host, port, [key], { auth: deps.redisAuth, replace: true, timeoutMs: 10_000 });
    }
  }
}

/** SETSLOT NODE on a node that may have turned replica meanwhile: a master that gave away its last slot becomes a
 * replica of the receiver by itself once the receiver's claim reaches it (Redis 7, cluster-allow-replica-migration
 * yes), and a replica takes the slot map from its master: nothing to send it. */
async function setSlotNodes(n: RedisNode, slots: number[], nodeId: string): Promise<void> {
  await n.batch(() => Promise.all(slots.map((s) => n.clusterSetSlot(s, 'NODE', nodeId).catch((e: unknown) => {
    if (!/only with masters/i.test(errText(e))) throw e;
  }))));
}

/**
 * Slot moves as redis/redis src/redis-cli.c clusterManagerMoveSlot makes them, for every slot of the action
 * together where Redis allows it: SETSLOT IMPORTING on the receiver and MIGRATING on the source, MIGRATE of each
 * slot's keys `pipeline` at a time, then SETSLOT NODE on the receiver first, then the source, then every other
 * master (the order CLUSTER SETSLOT's documentation gives, so no node sends clients back to the source). While a
 * slot is open clients are sent on with ASK, never refused. Each round trip carries every slot of the action (one
 * slot at a time, a round trip each through a port-forward, took 40 s for 4096 slots). What an earlier run did is
 * read from the two nodes' own views and not done again: a slot the receiver owns only needs its NODE sent on.
 */
async function moveSlots(a: MoveSlots, deps: ApplyDeps): Promise<void> {
  const [from, to] = await Promise.all([deps.connect(a.pod), deps.connect(a.toPod)]);
  const [fromView, toView] = await Promise.all([from.clusterNodes(), to.clusterNodes()]);
  const me = (v: typeof fromView) => v.entries.find((e) => e.myself);
  const owns = (e: ReturnType<typeof me>, s: number) => !!e?.slots.some(([x, y]) => s >= x && s <= y);
  const fromSelf = me(fromView);
  const toSelf = me(toView);
  const pending = a.slots.filter((s) => !owns(toSelf, s));
  const importing = pending.filter((s) => !toSelf?.importing.some((i) => i.slot === s && i.from === a.fromNodeId));
  const migrating = pending.filter((s) => owns(fromSelf, s) && !fromSelf?.migrating.some((m) => m.slot === s && m.to === a.toNodeId));
  await to.batch(() => Promise.all(importing.map((s) => to.clusterSetSlot(s, 'IMPORTING', a.fromNodeId))));
  await from.batch(() => Promise.all(migrating.map((s) => from.clusterSetSlot(s, 'MIGRATING', a.toNodeId))));
  // rounds: the keys of every slot still holding some, asked at once, then their MIGRATEs sent back to back
  let left = pending;
  let keys = 0;
  while (left.length > 0) {
    const found = await from.batch(() => Promise.all(left.map((s) => from.getKeysInSlot(s, a.pipeline))));
    const work = left.map((s, i) => ({ s, keys: found[i] })).filter((x) => x.keys.length > 0);
    if (work.length === 0) break;
    await Promise.all(work.map((w) => migrateKeys(a, from, w.s, w.keys, deps)));
    keys += work.reduce((n, w) => n + w.keys.length, 0);
    // Test hook (the kill -9 e2e): die with slots open and their keys split between the two masters.
    if (process.env.KUBECTL_REDIS_DIE_MID_MOVE === '1') process.kill(process.pid, 'SIGKILL');
    left = work.filter((w) => w.keys.length >= a.pipeline).map((w) => w.s);
  }
  await setSlotNodes(to, a.slots, a.toNodeId);
  await setSlotNodes(from, a.slots, a.toNodeId);
  await Promise.all(a.masters.filter((p) => p !== a.pod && p !== a.toPod).map(async (p) => setSlotNodes(await deps.connect(p), a.slots, a.toNodeId)));
  deps.progress({ type: 'moved', action: a, slots: a.slots.length, keys });
}

/** Do the one thing an action says. Idempotent where Redis allows it (a FORGET of an unknown node is done). */
async function execute(a: Action, deps: ApplyDeps): Promise<void> {
  switch (a.kind) {
    case 'clusterMeet':
      return (await deps.connect(a.pod)).clusterMeet(a.ip, a.port, a.busPort);
    case 'clusterForget':
      // Back to back on every node, inside the 60 s ban window, or gossip re-introduces the node.
      await Promise.all(a.pods.map(async (p) => {
        try {
          await (await deps.connect(p)).clusterForget(a.nodeId);
        } catch (e) {
          if (!/Unknown node/i.test(errText(e))) throw e;
        }
      }));
      return;
    case 'setSlotStable':
      return (await deps.connect(a.pod)).clusterSetSlot(a.slot, 'STABLE');
    case 'setSlotNode':
      return (await deps.connect(a.pod)).clusterSetSlot(a.slot, 'NODE', a.nodeId);
    case 'setSlotMigrating':
      return (await deps.connect(a.pod)).clusterSetSlot(a.slot, 'MIGRATING', a.nodeId);
    case 'setSlotImporting':
      return (await deps.connect(a.pod)).clusterSetSlot(a.slot, 'IMPORTING', a.nodeId);
    case 'delSlots':
      return (await deps.connect(a.pod)).clusterDelSlotsRange(a.ranges);
    case 'addSlots':
      return (await deps.connect(a.pod)).clusterAddSlotsRange(a.ranges);
    case 'migrateKeys':
      return migrateSlotKeys(a, deps);
    case 'moveSlots':
      return moveSlots(a, deps);
    case 'clusterReplicate':
      return (await deps.connect(a.pod)).clusterReplicate(a.masterId);
    case 'clusterFailover':
      return (await deps.connect(a.pod)).clusterFailover(a.mode === 'default' ? undefined : a.mode === 'force' ? 'FORCE' : 'TAKEOVER');
    case 'bumpEpoch':
      await (await deps.connect(a.pod)).clusterBumpEpoch();
      return;
    case 'sentinelReset':
      await (await deps.connect(a.pod, 'sentinel')).sentinelReset(a.pattern);
      return;
    case 'sentinelFailover':
      return (await deps.connect(a.pod, 'sentinel')).sentinelFailover(a.masterName);
    case 'sentinelRemove':
      return (await deps.connect(a.pod, 'sentinel')).sentinelRemove(a.masterName);
    case 'sentinelMonitor': {
      const s = await deps.connect(a.pod, 'sentinel');
      await s.sentinelMonitor(a.masterName, a.ip, a.port, a.quorum);
      if (deps.redisAuth) await s.sentinelSet(a.masterName, 'auth-pass', deps.redisAuth.password);
      return;
    }
    case 'replicaOf':
      return (await deps.connect(a.pod)).replicaOf(a.host, a.port);
    case 'replicaOfNoOne':
      return (await deps.connect(a.pod)).replicaOfNoOne();
    case 'patchPodLabel':
      return deps.kube.patchPodLabel(a.pod, a.key, a.value);
    case 'deletePod':
      return deps.kube.deletePod(a.pod);
    case 'patchAnnotation':
      return deps.kube.patchAnnotation(a.object, a.key, a.value);
    case 'scaleDeployment':
      return deps.kube.scaleDeployment(a.name, a.replicas);
    case 'failover':
      return executeFailover(a, deps);
  }
}

/** The node id a pod's Redis says is its own, in an observation. */
function idOf(o: Observed, pod: string): string | undefined {
  return o.redis.find((r) => r.pod === pod)?.clusterNodes?.find((e) => e.myself)?.id;
}

/**
 * The run of steps starting at `from` that can be sent back to back and awaited together; 1 for any other step.
 * - CLUSTER MEET: a MEET only adds what a node knows, and each waits for gossip (a handshake, then the met node's
 *   slots on its next ping): one after another, re-introducing a forgotten master to four nodes took 10 s.
 * - CLUSTER REPLICATE, while each moves another replica and none moves a node another of them is told to follow:
 *   each waits for a full resync, which Redis starts only after repl-diskless-sync-delay (5 s by default). Awaited
 *   one by one, a swap of three replicas took 15 s, and the masters they left were without a synced replica all
 *   that time.
 */
export function batchAt(actions: Action[], from: number, o: Observed): number {
  const first = actions[from];
  if (first?.kind === 'clusterMeet') {
    let end = from;
    while (end < actions.length && actions[end].kind === 'clusterMeet') end++;
    return end - from;
  }
  if (first?.kind !== 'clusterReplicate') return 1;
  const pods = new Set<string>();
  const masters = new Set<string>();
  let end = from;
  for (; end < actions.length; end++) {
    const a = actions[end];
    if (a.kind !== 'clusterReplicate') break;
    const id = idOf(o, a.pod);
    if (pods.has(a.pod) || !id || masters.has(id) || [...pods].some((p) => idOf(o, p) === a.masterId)) break;
    pods.add(a.pod);
    masters.add(a.masterId);
  }
  return Math.max(1, end - from);
}

export async function applyPlan(actions: Action[], first: Observed, deps: ApplyDeps): Promise<ApplyReport> {
  const report: ApplyReport = { done: [], skipped: [], observed: first };
  const total = actions.length;
  for (let i = 0; i < actions.length;) {
    const size = batchAt(actions, i, report.observed);
    const sent: Array<{ a: Action; index: number; started: number; ipBefore: string | undefined; lastSent: number }> = [];
    // send every step of the batch: skip what is done, re-check the precondition on the latest observation, act
    for (const [k, a] of actions.slice(i, i + size).entries()) {
      const index = i + k + 1;
      let current = report.observed;
      // Already true: an earlier action (or gossip, or the operator) did it. Re-running a plan is safe.
      if (a.postcondition.length > 0 && allHold(current, a.postcondition) && a.kind !== 'deletePod') {
        report.skipped.push({ action: a, reason: 'already done' });
        deps.progress({ type: 'skip', index, total, action: a, reason: 'already done' });
        continue;
      }
      if (!allHold(current, a.precondition)) {
        current = await deps.observe();
        report.observed = current;
        const failing = firstFailing(current, a.precondition);
        if (failing) {
          report.failed = { action: a, reason: `its precondition no longer holds: ${describeCondition(failing)}; the cluster changed since the plan was made, re-run to plan again` };
          return report;
        }
      }
      deps.progress({ type: 'start', index, total, action: a });
      const started = Date.now();
      try {
        await execute(a, deps);
      } catch (e) {
        report.failed = { action: a, reason: errText(e) };
        return report;
      }
      sent.push({ a, index, started, ipBefore: podIp(current, a.pod), lastSent: Date.now() });
    }
    // then wait until every postcondition of the batch holds on one fresh observation
    let waitingFor = sent[0]?.a;
    try {
      if (sent.length > 0) {
        report.observed = await waitFor(
          sent.map((x) => describeAll(x.a)).join('; '),
          async () => {
            for (const x of sent) {
              // a manual CLUSTER FAILOVER that cannot finish within Redis's 5 s window (the replica was still
              // catching up) is dropped silently: ask again, which is harmless if it is already under way
              if (retriable(x.a) && Date.now() - x.lastSent > FAILOVER_RETRY_MS) {
                x.lastSent = Date.now();
                await execute(x.a, deps).catch(() => undefined);
              }
            }
            const o = await deps.observe();
            for (const x of sent) {
              if (x.a.kind === 'deletePod') {
                const back = o.pods.find((p) => p.name === x.a.pod);
                if (!back || podIp(o, x.a.pod) === x.ipBefore || !back.ready) {
                  waitingFor = x.a;
                  return notYet(`pod ${x.a.pod} not re-created and Ready yet`);
                }
              }
              const failing = firstFailing(o, x.a.postcondition);
              if (failing) {
                waitingFor = x.a;
                return notYet(`not yet: ${describeCondition(failing)}`);
              }
            }
            return o;
          },
          { timeoutMs: deps.postconditionTimeoutMs, intervalMs: deps.intervalMs ?? 500, onState: (state) => deps.progress({ type: 'waiting', action: sent[0].a, state }) },
        );
      }
    } catch (e) {
      report.failed = { action: waitingFor ?? sent[0].a, reason: errText(e) };
      return report;
    }
    for (const x of sent) {
      report.done.push(x.a);
      deps.progress({ type: 'done', index: x.index, total, action: x.a, ms: Date.now() - x.started });
    }
    i += size;
  }
  return report;
}

function describeAll(a: Action): string {
  return a.postcondition.length > 0 ? a.postcondition.map(describeCondition).join(' and ') : `${a.description} to take effect`;
}
