// A planned, coordinated failover as ONE action of the engine (kind 'failover', applied by apply.ts like any other):
// which master, which replica takes over (named by --to, or the most in-sync one on another Kubernetes node), and
// the refusals (not a replica of that master, no replica in sync, --force while the master answers). execute()
// does the switch the way each topology wants it:
// - Redis Cluster: CLUSTER FAILOVER on the replica (Redis pauses the master's clients, waits until the replica
//   has its offset, then swaps: no acknowledged write lost; cluster/failover.c in redis/redis 7.0);
// - Sentinel: SENTINEL FAILOVER, steered to the chosen replica by setting the other replicas' replica-priority to 0
//   (Sentinel never promotes those: sentinelSelectSlave in redis/redis 7.0 sentinel.c) and restored after;
// - replication without Sentinel: CLIENT PAUSE WRITE on the master, wait until the replica has every byte,
//   REPLICAOF NO ONE on it, re-point the others (the old master too), unpause.
// Then the role label the operator or chart keeps (its master Service selects on it) is moved.
// Pods are matched to the addresses Redis and Sentinel announce by IP or by hostname (Bitnami announces hostnames),
// with diagnose's podForHost.
import { RefusedError, UsageError } from '../errors.js';
import type { RedisNode } from '../redis/connect.js';
import type { ApplyDeps } from './apply.js';
import { lagOf } from './conditions.js';
import { clusterPicture, podForHost, podOf, replicasOf, splitAddress } from './diagnose.js';
import type { Action, Condition, FailoverAction, Observed, RedisNodeFact } from './types.js';

/** A replica further behind than this is not "in sync" (offsets are read a moment apart under writes). */
export const IN_SYNC_BYTES = 1024 * 1024;

export interface FailoverRequest {
  /** the replica to promote */
  to?: string;
  /** the master to fail over (Redis Cluster: which shard) */
  shard?: string;
  force?: boolean;
  takeover?: boolean;
}

export interface FailoverCandidate {
  pod: string;
  nodeName: string;
  /** bytes behind the master; Infinity: link down or not answering */
  lag: number;
  linkUp: boolean;
  sameNode: boolean;
  priority?: number;
}

export interface FailoverPlan {
  action: FailoverAction;
  from: string;
  to: string;
  candidates: FailoverCandidate[];
  warnings: string[];
}

const fact = (o: Observed, pod: string): RedisNodeFact | undefined => o.redis.find((r) => r.pod === pod);

function behindText(c: FailoverCandidate, o: Observed): string {
  const rep = fact(o, c.pod);
  if (!rep?.reachable) return `${c.pod} does not answer`;
  const r = rep.replication;
  if (r?.masterLinkStatus !== 'up') return `${c.pod}'s link to its master is down${r?.masterLinkDownSinceSeconds !== undefined && r.masterLinkDownSinceSeconds >= 0 ? ` for ${r.masterLinkDownSinceSeconds} s` : ''}`;
  if (r.masterSyncInProgress) return `${c.pod} is still in its full sync`;
  return `${c.pod} is ${c.lag} bytes behind`;
}

/** The replica to promote: --to when given (checked), else the most in-sync one, preferring another Kubernetes node. */
function choose(o: Observed, master: string, replicas: string[], req: FailoverRequest, method: FailoverAction['method']): { to: string; candidates: FailoverCandidate[] } {
  const masterNode = podOf(o, master)?.nodeName ?? '';
  const candidates: FailoverCandidate[] = replicas.map((pod) => {
    const r = fact(o, pod)?.replication;
    const nodeName = podOf(o, pod)?.nodeName ?? '';
    return { pod, nodeName, lag: lagOf(o, pod, master), linkUp: r?.masterLinkStatus === 'up', sameNode: nodeName !== '' && nodeName === masterNode, priority: r?.replicaPriority };
  }).sort((a, b) => Number(a.sameNode) - Number(b.sameNode) || a.lag - b.lag || a.pod.localeCompare(b.pod));
  const forced = req.force === true || req.takeover === true;
  if (req.to) {
    const c = candidates.find((x) => x.pod === req.to);
    if (!c) throw new RefusedError(`--to: pod "${req.to}" is not a replica of ${master}${replicas.length > 0 ? ` (its replicas: ${replicas.join(', ')})` : ''}; name one of them, or --shard the master it replicates`);
    if (fact(o, c.pod)?.reachable !== true) throw new RefusedError(`--to: ${c.pod} does not answer, so it cannot take over; pick another replica`);
    if (method === 'sentinel' && c.priority === 0) throw new RefusedError(`--to: ${c.pod} has replica-priority 0, so Sentinel never promotes it; pick another replica or change its replica-priority`);
    if (!forced && c.lag > IN_SYNC_BYTES) throw new RefusedError(`--to: ${c.pod} is not in sync with ${master}: ${behindText(c, o)}; wait for it to catch up, or pick another replica`);
    return { to: c.pod, candidates };
  }
  const eligible = candidates.filter((c) => fact(o, c.pod)?.reachable === true && (forced || c.lag <= IN_SYNC_BYTES) && !(method === 'sentinel' && c.priority === 0));
  if (eligible.length === 0) {
    const why = candidates.length === 0 ? 'it has no replica' : candidates.map((c) => behindText(c, o)).join('; ');
    throw new RefusedError(`no replica of ${master} is in sync to take over (${why}); a failover now would lose writes, so wait until one has caught up`);
  }
  if (forced) eligible.sort((a, b) => (fact(o, b.pod)?.replication?.slaveReplOffset ?? 0) - (fact(o, a.pod)?.replication?.slaveReplOffset ?? 0));
  return { to: eligible[0].pod, candidates };
}

function labelOf(o: Observed, pod: string): FailoverAction['label'] {
  const l = podOf(o, pod)?.roleLabel;
  return l ? { key: l.key, masterValue: l.masterValue, replicaValue: l.replicaValue } : undefined;
}

function labelConditions(o: Observed, from: string, to: string): Condition[] {
  const l = labelOf(o, to);
  if (!l) return [];
  return [{ type: 'podLabel', pod: to, key: l.key, value: l.masterValue }, ...(podOf(o, from)?.roleLabel ? [{ type: 'podLabel' as const, pod: from, key: l.key, value: l.replicaValue }] : [])];
}

function ensureFlags(o: Observed, req: FailoverRequest): void {
  if (req.force && req.takeover) throw new UsageError('--force and --takeover are two ways of the same thing; give one');
  if ((req.force || req.takeover) && o.target.topology !== 'cluster') {
    throw new UsageError(`--force and --takeover are CLUSTER FAILOVER options, for Redis Cluster; ${o.target.ref ?? o.target.name} is a ${o.target.topology} target`);
  }
}

function forcedCheck(o: Observed, master: string, req: FailoverRequest): string[] {
  const answers = fact(o, master)?.reachable === true;
  if (!req.force && !req.takeover) {
    if (!answers) {
      throw new RefusedError(`the master ${master} does not answer, so a planned failover (which needs it to hand over) cannot run; if it is gone for good, --force (CLUSTER FAILOVER FORCE) promotes a replica without it`);
    }
    return [];
  }
  const flag = req.force ? '--force' : '--takeover';
  if (answers) throw new RefusedError(`${flag} while the master ${master} answers is refused: a forced failover does not wait for the replica to catch up and loses the writes it lacks; run without ${flag} for a coordinated one`);
  return [req.force
    ? `--force: the replica is promoted without the master's agreement; writes the master acknowledged and the replica had not received are lost`
    : `--takeover: the replica takes the slots without the other masters' vote (a new epoch of its own); if the old master comes back on the other side of a partition, both accept writes until it rejoins, and the writes of one side are lost`];
}

function clusterPlan(o: Observed, req: FailoverRequest): FailoverPlan {
  const pic = clusterPicture(o);
  let masterId: string;
  let master: string;
  if (req.shard) {
    const m = pic.members.find((x) => x.pod === req.shard);
    const downId = [...pic.down.entries()].find(([, pod]) => pod === req.shard)?.[0];
    if (!m && !downId) throw new UsageError(`--shard: pod "${req.shard}" is not a Redis Cluster node of ${o.target.ref ?? o.target.name}`);
    if (m && m.self.role !== 'master') throw new UsageError(`--shard: ${req.shard} is a replica; name the master of the shard (${pic.byId.get(m.self.masterId ?? '')?.pod ?? 'its master'})`);
    masterId = (m?.id ?? downId)!;
    master = req.shard;
  } else if (req.to) {
    const r = pic.members.find((x) => x.pod === req.to);
    if (!r) throw new UsageError(`--to: pod "${req.to}" is not a Redis Cluster node of ${o.target.ref ?? o.target.name} that answers`);
    if (r.self.role !== 'replica' || !r.self.masterId) throw new RefusedError(`--to: ${req.to} is a master, not a replica; name a replica, or --shard ${req.to} to move its master role away`);
    masterId = r.self.masterId;
    const pod = pic.byId.get(masterId)?.pod ?? pic.down.get(masterId);
    if (!pod) throw new RefusedError(`--to: the master ${masterId.slice(0, 8)} that ${req.to} replicates is not a pod of this target`);
    master = pod;
  } else {
    const masters = pic.members.filter((m) => m.self.role === 'master' && m.self.slots.length > 0);
    throw new UsageError(`a Redis Cluster has ${masters.length} masters: name the shard with --shard MASTER_POD (${masters.map((m) => m.pod).join(', ')}) or the replica with --to POD`);
  }
  const warnings = forcedCheck(o, master, req);
  // its replicas that answer, and those the others know that do not (named, so the refusal says why)
  const silent = [...pic.down.entries()].filter(([id]) => pic.members.some((m) => m.view.some((e) => e.id === id && e.masterId === masterId))).map(([, pod]) => pod);
  const replicas = [...replicasOf(pic, masterId).map((m) => m.pod), ...silent.filter((p) => p !== master)];
  const { to, candidates } = choose(o, master, replicas, req, 'cluster');
  const toId = pic.members.find((m) => m.pod === to)!.id;
  const mode = req.force ? 'force' : req.takeover ? 'takeover' : 'default';
  const answers = fact(o, master)?.reachable === true;
  const { host, port } = splitAddress(fact(o, to)?.address ?? '');
  const action: FailoverAction = {
    id: '1-failover', pod: to, kind: 'failover', method: 'cluster', fromPod: master, mode, toHost: host, toPort: port, label: labelOf(o, to), risk: mode === 'default' ? 'safe' : 'data-loss', why: 'maintenance',
    description: `CLUSTER FAILOVER${mode === 'default' ? '' : ` ${mode.toUpperCase()}`} on ${to}: it takes over from ${master}`,
    precondition: [{ type: 'role', pod: to, equals: 'replica' }, { type: 'replicaOf', pod: to, masterId }, ...(mode === 'default' ? [{ type: 'inSync' as const, pod: to, masterPod: master, maxLagBytes: IN_SYNC_BYTES }] : [])],
    postcondition: [
      { type: 'role', pod: to, equals: 'master' }, { type: 'clusterRoleAgreed', nodeId: toId, role: 'master' },
      ...(answers ? [{ type: 'role' as const, pod: master, equals: 'replica' as const }, { type: 'clusterRoleAgreed' as const, nodeId: masterId, role: 'replica' as const, masterId: toId }] : []),
      ...labelConditions(o, master, to),
    ],
  };
  return { action, from: master, to, candidates, warnings };
}

function sentinelOrReplicationPlan(o: Observed, req: FailoverRequest): FailoverPlan {
  const ref = o.target.ref ?? o.target.name;
  const masters = o.redis.filter((r) => r.reachable && r.replication?.role === 'master');
  if (masters.length !== 1) {
    throw new RefusedError(`${ref} has ${masters.length === 0 ? 'no master that answers' : `${masters.length} masters (${masters.map((m) => m.pod).join(', ')})`}; a planned failover needs exactly one: run kubectl redis heal ${ref} first`);
  }
  const master = masters[0].pod;
  if (req.shard && req.shard !== master) throw new UsageError(`--shard: ${req.shard} is not the master of ${ref} (${master} is)`);
  if (req.to && !o.redis.some((r) => r.pod === req.to)) throw new UsageError(`--to: pod "${req.to}" is not a Redis pod of ${ref}`);
  forcedCheck(o, master, req);
  const replicas = o.redis.filter((r) => r.pod !== master && r.replication?.role === 'replica' && podForHost(o, r.replication.masterHost)?.name === master).map((r) => r.pod);
  const sentinels = o.sentinels.filter((s) => s.reachable);
  const method = o.target.topology === 'sentinel' && sentinels.length > 0 ? 'sentinel' : 'replication';
  const { to, candidates } = choose(o, master, replicas, req, method);
  const toFact = fact(o, to)!;
  const { host, port } = splitAddress(toFact.address);
  const others = o.redis.filter((r) => r.pod !== to && r.pod !== master && r.reachable).map((r) => r.pod);
  const post: Condition[] = [
    { type: 'role', pod: to, equals: 'master' },
    ...[master, ...others].map((pod) => ({ type: 'replicaOfPod' as const, pod, masterPod: to })),
    ...sentinels.map((s) => ({ type: 'sentinelMasterPod' as const, pod: s.pod, masterPod: to })),
    ...labelConditions(o, master, to),
  ];
  const base = {
    id: '1-failover', pod: to, kind: 'failover' as const, fromPod: master, mode: 'default' as const, toHost: host, toPort: port, label: labelOf(o, to), risk: 'safe' as const, why: 'maintenance' as const,
    precondition: [{ type: 'role' as const, pod: master, equals: 'master' as const }, { type: 'inSync' as const, pod: to, masterPod: master, maxLagBytes: IN_SYNC_BYTES }],
    postcondition: post,
  };
  if (method === 'sentinel') {
    const steer = replicas.filter((p) => p !== to).map((pod) => ({ pod, priority: fact(o, pod)?.replication?.replicaPriority ?? 100 }));
    const action: FailoverAction = {
      ...base, method, masterName: sentinels[0].masterName, sentinelPod: sentinels[0].pod, steer,
      description: `SENTINEL FAILOVER ${sentinels[0].masterName} via ${sentinels[0].pod}, steered to ${to}${steer.length > 0 ? ` (replica-priority 0 on ${steer.map((s) => s.pod).join(', ')} meanwhile)` : ''}`,
    };
    return { action, from: master, to, candidates, warnings: [] };
  }
  const action: FailoverAction = {
    ...base, method, repoint: [master, ...others],
    description: `promote ${to} (writes paused on ${master} until it has every byte), re-point ${[master, ...others].join(', ')} to it`,
  };
  return { action, from: master, to, candidates, warnings: [] };
}

/** The failover of one master, as one action, or a refusal (RefusedError, exit 4) / bad input (UsageError, exit 2). */
export function planFailover(o: Observed, req: FailoverRequest): FailoverPlan {
  ensureFlags(o, req);
  if (req.to && !o.pods.some((p) => p.name === req.to)) throw new UsageError(`--to: pod "${req.to}" is not a pod of ${o.target.ref ?? o.target.name}`);
  if (req.shard && !o.pods.some((p) => p.name === req.shard)) throw new UsageError(`--shard: pod "${req.shard}" is not a pod of ${o.target.ref ?? o.target.name}`);
  return o.target.topology === 'cluster' ? clusterPlan(o, req) : sentinelOrReplicationPlan(o, req);
}

// ---------------------------------------------------------------- execute

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, timeoutMs: number, fn: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting until ${what}`);
    await sleep(100);
  }
}

async function moveLabels(a: FailoverAction, deps: ApplyDeps): Promise<void> {
  if (!a.label) return;
  // the new master first: for a moment two pods carry the master value rather than none (the master Service
  // then has an endpoint that answers READONLY, instead of none)
  await deps.kube.patchPodLabel(a.pod, a.label.key, a.label.masterValue);
  await deps.kube.patchPodLabel(a.fromPod, a.label.key, a.label.replicaValue).catch(() => undefined);
}

async function sentinelFailover(a: FailoverAction, deps: ApplyDeps): Promise<void> {
  const masterName = a.masterName!;
  const sentinel = await deps.connect(a.sentinelPod!, 'sentinel');
  const steer = a.steer ?? [];
  const o = await deps.observe();
  const podOfRecord = (rec: Record<string, string>) => podForHost(o, rec.ip)?.name;
  try {
    for (const s of steer) await (await deps.connect(s.pod)).configSet('replica-priority', '0');
    if (steer.length > 0) {
      // Sentinel learns a replica's priority from its INFO (every 10 s, every 1 s during a failover): wait until
      // it knows, or it may still pick one of them
      await until(`sentinel ${a.sentinelPod} sees replica-priority 0 on ${steer.map((s) => s.pod).join(', ')}`, 15_000, async () => {
        const recs = await sentinel.sentinelReplicas(masterName);
        return steer.every((s) => recs.some((r) => podOfRecord(r) === s.pod && r['slave-priority'] === '0'));
      });
    }
    // SENTINEL FAILOVER alone lets the old master take writes until Sentinel converts it to a replica (seconds
    // later, on its next INFO), and those writes are lost: pause them on the master first (a write waiting there
    // fails with READONLY once it is a replica, never acknowledged), let the replica get every byte, switch, and
    // re-point the old master ourselves the moment Sentinel names the new one
    await pauseWrites(deps, a.fromPod, async (master) => {
      const target = (await master.infoReplication()).masterReplOffset;
      const heir = await deps.connect(a.pod);
      await until(`${a.pod} has every byte of ${a.fromPod} (offset ${target})`, 5000, async () => ((await heir.infoReplication()).slaveReplOffset ?? -1) >= target);
      await sentinel.sentinelFailover(masterName);
      await until(`sentinel ${a.sentinelPod} names ${a.pod} master`, Math.min(deps.postconditionTimeoutMs, PAUSE_MS - 2000), async () => {
        const addr = await sentinel.sentinelGetMasterAddrByName(masterName);
        return !!addr && podForHost(o, addr.host)?.name === a.pod;
      });
      await master.replicaOf(a.toHost, a.toPort);
    });
  } finally {
    // restored whatever happened; Sentinel closed our connections to the replicas it reconfigured (CLIENT KILL
    // TYPE normal), so each is tried again on a new connection
    const left: string[] = [];
    for (const s of steer) {
      const ok = await retrying(6, 500, async () => {
        await deps.drop?.(s.pod);
        await (await deps.connect(s.pod)).configSet('replica-priority', String(s.priority));
      });
      if (!ok) left.push(`${s.pod} (was ${s.priority})`);
    }
    if (left.length > 0) throw new Error(`replica-priority is left at 0 on ${left.join(', ')}: set it back with CONFIG SET replica-priority on each`);
  }
}

async function retrying(times: number, delayMs: number, fn: () => Promise<void>): Promise<boolean> {
  for (let i = 0; i < times; i++) {
    try {
      await fn();
      return true;
    } catch {
      await sleep(delayMs);
    }
  }
  return false;
}

/** How long writes may stay paused on a master: if this process dies meanwhile, the master takes writes again after it by itself. */
const PAUSE_MS = 15_000;

/** CLIENT PAUSE WRITE on a master for the length of `fn`, bounded by PAUSE_MS, then CLIENT UNPAUSE. */
async function pauseWrites(deps: ApplyDeps, pod: string, fn: (master: RedisNode) => Promise<void>): Promise<void> {
  const master = await deps.connect(pod);
  await master.call('CLIENT', 'PAUSE', PAUSE_MS, 'WRITE');
  try {
    await fn(master);
  } finally {
    await master.call('CLIENT', 'UNPAUSE').catch(() => undefined);
  }
}

async function replicationFailover(a: FailoverAction, deps: ApplyDeps): Promise<void> {
  const heir = await deps.connect(a.pod);
  await pauseWrites(deps, a.fromPod, async (master) => {
    const target = (await master.infoReplication()).masterReplOffset;
    await until(`${a.pod} has every byte of ${a.fromPod} (offset ${target})`, 5000, async () => ((await heir.infoReplication()).slaveReplOffset ?? -1) >= target);
    await heir.replicaOfNoOne();
    await moveLabels(a, deps);
    const repointed = await Promise.all((a.repoint ?? []).map((p) => deps.connect(p)));
    await Promise.all(repointed.map((n) => n.replicaOf(a.toHost, a.toPort)));
  });
}

/** Do the failover an action says (apply.ts calls this for kind 'failover', then waits for its postcondition). */
export async function executeFailover(a: FailoverAction, deps: ApplyDeps): Promise<void> {
  switch (a.method) {
    case 'cluster':
      await (await deps.connect(a.pod)).clusterFailover(a.mode === 'default' ? undefined : a.mode === 'force' ? 'FORCE' : 'TAKEOVER');
      // the labels follow once the swap happened; apply re-sends this action if Redis dropped it, so wait briefly
      await until(`${a.pod} is master`, 6000, async () => (await (await deps.connect(a.pod)).infoReplication()).role === 'master').catch(() => undefined);
      return moveLabels(a, deps);
    case 'sentinel':
      await sentinelFailover(a, deps);
      return moveLabels(a, deps);
    case 'replication':
      return replicationFailover(a, deps);
  }
}

/** Is this action a failover apply may ask again (a manual CLUSTER FAILOVER Redis dropped after its 5 s window)? */
export function retriable(a: Action): boolean {
  return a.kind === 'clusterFailover' || (a.kind === 'failover' && a.method === 'cluster');
}
