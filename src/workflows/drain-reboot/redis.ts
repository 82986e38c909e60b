// The Redis half of drain-reboot: which targets have pods on a node, are they healthy, move every master off the
// node before its pods are evicted (so the eviction costs no failover timeout), and wait until they are healthy
// again. Goes through the reconcile library (TargetSession: observe + connect) and the pure decisions in plan.ts.
import { KubectlRedisError, RedisError, RefusedError, TimeoutError, errText } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { NotYet, notYet, waitFor } from '../../kube/wait.js';
import { diagnose, podForHost } from '../../reconcile/diagnose.js';
import { TargetSession } from '../../reconcile/session.js';
import type { Observed } from '../../reconcile/types.js';
import type { RedisNode } from '../../redis/connect.js';
import { discoverAll, type Target } from '../../targets/index.js';
import { caughtUp, describeMove, hasPodsOn, healthProblems, masterMoves, stuckFindings, type MasterMove } from './plan.js';
import type { ConnectOverrides } from '../../reconcile/session.js';

export interface RedisGuardOptions {
  direct: boolean;
  connect?: ConnectOverrides;
  /** undefined = every namespace */
  namespace: string | undefined;
  /** per Redis command / connection */
  redisTimeoutMs?: number;
  pollMs?: number;
  /** How long a split (second master, two owners of a slot) may last while Sentinel or an operator can still end it. */
  splitGraceMs?: number;
  signal?: AbortSignal;
  log(message: string): void;
  warn(message: string): void;
}

export interface TargetOnNode {
  target: Target;
  observed: Observed;
}

/** Evicts a pod and waits until it is gone (DrainHelper.evictOne). */
export type EvictOne = (namespace: string, pod: string) => Promise<void>;


/** Runs one command on a pod's cached connection; a failure drops that connection and reads as "not yet". */
async function probe<T>(s: TargetSession, pod: string, fn: (n: RedisNode) => Promise<T>, component: 'redis' | 'sentinel' = 'redis'): Promise<T | NotYet> {
  try {
    return await fn(await s.connect(pod, component));
  } catch (e) {
    await s.drop(pod);
    return notYet(`${pod}: ${errText(e)}`);
  }
}

export class RedisGuard {
  constructor(
    private readonly kube: KubeClient,
    private readonly opts: RedisGuardOptions,
  ) {}

  private open(target: Target): Promise<TargetSession> {
    return TargetSession.open(this.kube, target, { direct: this.opts.direct, connect: this.opts.connect, timeoutMs: this.opts.redisTimeoutMs ?? 5000 });
  }

  private async withSession<T>(target: Target, fn: (s: TargetSession) => Promise<T>): Promise<T> {
    const s = await this.open(target);
    try {
      return await fn(s);
    } finally {
      await s.close();
    }
  }

  async observe(target: Target): Promise<Observed> {
    return this.withSession(target, (s) => s.observe());
  }

  /** Every Redis target in scope, observed; those with a pod (Redis or sentinel) on `node` come back. */
  /** Every Redis target, observed (--max-unavailable auto plans from all of them). */
  async observeAll(): Promise<TargetOnNode[]> {
    const targets = await discoverAll(this.kube, this.opts.namespace);
    return Promise.all(targets.map(async (target) => ({ target, observed: await this.observe(target) })));
  }

  async targetsOnNode(node: string): Promise<TargetOnNode[]> {
    const targets = await discoverAll(this.kube, this.opts.namespace);
    const seen = await Promise.all(targets.map(async (target) => ({ target, observed: await this.observe(target) })));
    return seen.filter((t) => hasPodsOn(t.observed, node));
  }

  /** Refuses (exit 4) when any of them is unhealthy: a reboot would make it worse. Returns warnings. */
  precheck(node: string, targets: TargetOnNode[]): string[] {
    const problems: string[] = [];
    const warnings: string[] = [];
    for (const t of targets) {
      for (const p of healthProblems(t.observed, diagnose(t.observed))) problems.push(`${t.target.ref} in namespace ${t.target.namespace}: ${p}`);
      for (const m of masterMoves(t.observed, node)) if (m.kind === 'stuck') warnings.push(describeMove(m, t.target.ref));
    }
    if (problems.length > 0) {
      throw new RefusedError(`not draining node "${node}": Redis is not healthy (${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''})`, {
        hint: 'run kubectl redis status (and heal) first; nothing was changed',
      });
    }
    return warnings;
  }

  /**
   * Moves every master of every target off `node`, one move at a time per target, re-observing after each
   * (relocating a replica first where all of a master's replicas share its node). Returns what was done.
   */
  async moveMasters(node: string, targets: TargetOnNode[], evictOne: EvictOne, timeoutMs: number, alsoDraining: () => readonly string[] = () => []): Promise<string[]> {
    // every target to its end even when one fails: nothing may still be failing over when the caller uncordons
    const settled = await Promise.allSettled(targets.map((t) => this.moveMastersOf(node, t.target, evictOne, timeoutMs, alsoDraining)));
    const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.flatMap((x) => (x.status === 'fulfilled' ? x.value : []));
  }

  private async moveMastersOf(node: string, target: Target, evictOne: EvictOne, timeoutMs: number, alsoDraining: () => readonly string[]): Promise<string[]> {
    const done: string[] = [];
    const warned = new Set<string>();
    // masters whose failover failed (the replica died under it, a sentinel did not answer): observed again until
    // a replica of theirs is back in sync, never evicted as "stuck" meanwhile, which would cost a blind failover
    const failed = new Map<string, string>();
    const attempts = new Map<string, number>();
    const deadline = Date.now() + timeoutMs;
    for (let round = 0; round < 16; ) {
      this.checkAborted();
      const observed = await this.observe(target);
      const moves = masterMoves(observed, node, alsoDraining());
      const waiting = moves.filter((x) => x.kind === 'stuck' && failed.has(x.master));
      for (const m of moves.filter((x) => x.kind === 'stuck' && !failed.has(x.master))) {
        if (!warned.has(m.master)) this.opts.warn(describeMove(m, target.ref));
        warned.add(m.master);
      }
      const next = moves.find((m) => m.kind !== 'stuck');
      if (!next && waiting.length === 0) return done;
      if (!next) {
        const m = waiting[0];
        if (Date.now() > deadline) {
          throw new TimeoutError(`could not move master ${m.master} of ${target.ref} off node "${node}": ${failed.get(m.master)}, and since then ${m.kind === 'stuck' ? m.reason : 'no replica is ready'}`, {
            hint: `nothing was evicted from "${node}" by this step; run kubectl redis status ${target.ref} -n ${target.namespace}, heal it if needed, then run drain-reboot again`,
          });
        }
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      round++;
      this.opts.log(describeMove(next, target.ref));
      const started = Date.now();
      try {
        await this.apply(target, observed, next, () => [node, ...alsoDraining()], evictOne, timeoutMs);
      } catch (e) {
        if (next.kind === 'relocate-replica' || this.opts.signal?.aborted) throw e;
        const why = `its failover to ${next.replica} failed (${(e as Error).message})`;
        const tries = (attempts.get(next.master) ?? 0) + 1;
        attempts.set(next.master, tries);
        if (tries >= 3) throw e;
        failed.set(next.master, why);
        this.opts.warn(`${target.ref}: ${why}; observing again to pick a replica that answers`);
        continue;
      }
      failed.delete(next.master);
      if (next.kind !== 'relocate-replica') done.push(`${target.ref}: ${next.master} -> ${next.replica} (${Date.now() - started} ms)`);
      else this.opts.log(`${target.ref}: replica ${next.replica} is back on another node and in sync`);
    }
    throw new TimeoutError(`could not move every master of ${target.ref} off node "${node}" after 16 rounds`);
  }

  private checkAborted(): void {
    if (this.opts.signal?.aborted) throw new TimeoutError('interrupted');
  }

  private async apply(target: Target, observed: Observed, m: MasterMove, draining: () => string[], evictOne: EvictOne, timeoutMs: number): Promise<void> {
    switch (m.kind) {
      case 'cluster-failover': return this.withSession(target, (s) => this.clusterFailover(s, m));
      case 'sentinel-failover': return this.withSession(target, (s) => this.sentinelFailover(s, observed, m));
      case 'relocate-replica': {
        await evictOne(target.namespace, m.replica);
        await this.waitReplicaBack(target, m.replica, draining, timeoutMs);
        return;
      }
      case 'stuck': return;
    }
  }

  /** CLUSTER FAILOVER (the coordinated kind: the master pauses its clients until the replica caught up). */
  private async clusterFailover(s: TargetSession, m: Extract<MasterMove, { kind: 'cluster-failover' }>): Promise<void> {
    const replica = await s.connect(m.replica);
    let last = '';
    // Redis gives a manual failover 5 s (CLUSTER_MF_TIMEOUT); a second try covers a busy moment.
    for (let attempt = 1; attempt <= 3; attempt++) {
      await replica.clusterFailover();
      try {
        await waitFor(
          `replica ${m.replica} to take over from ${m.master}`,
          async () => {
            const r = await probe(s, m.replica, (n) => n.role());
            const o = await probe(s, m.master, (n) => n.role());
            if (r instanceof NotYet || o instanceof NotYet) return r instanceof NotYet ? r : o;
            last = `${m.replica} is ${r.role}, ${m.master} is ${o.role}`;
            return r.role === 'master' && o.role === 'replica' ? true : notYet(last);
          },
          { timeoutMs: 8000, intervalMs: 100, signal: this.opts.signal },
        );
        return;
      } catch (e) {
        if (!(e instanceof TimeoutError) || attempt === 3) throw e;
        this.opts.warn(`CLUSTER FAILOVER on ${m.replica} did not complete (${last}); trying again`);
      }
    }
  }

  /**
   * SENTINEL FAILOVER without losing acknowledged writes: replicas on the drained node get replica-priority 0 (so
   * Sentinel picks one elsewhere), the master's writes pause (CLIENT PAUSE WRITE) until every other replica has
   * its offset, Sentinel promotes one, then the old master is made its replica and its clients are dropped
   * before the pause ends (writes queued meanwhile never execute there, so none is acknowledged and lost).
   */
  private async sentinelFailover(s: TargetSession, o: Observed, m: Extract<MasterMove, { kind: 'sentinel-failover' }>): Promise<void> {
    const master = await s.connect(m.master);
    const masterIp = o.pods.find((p) => p.name === m.master)?.ip ?? '';
    const restore: Array<{ node: RedisNode; value: string }> = [];
    let paused = false;
    try {
      for (const pod of m.demote) {
        const n = await s.connect(pod);
        const value = (await n.configGet('replica-priority'))['replica-priority'] ?? '100';
        await n.configSet('replica-priority', '0');
        restore.push({ node: n, value });
      }
      const others = await Promise.all(m.others.map((p) => s.connect(p)));
      await master.call('CLIENT', 'PAUSE', 15_000, 'WRITE');
      paused = true;
      const target = (await master.infoReplication()).masterReplOffset;
      await waitFor(
        `the replicas of ${m.master} to catch up with it`,
        async () => {
          const offsets = await Promise.all(others.map(async (n) => (await n.infoReplication()).slaveReplOffset));
          return caughtUp(target, offsets) ? true : notYet(`offsets ${offsets.join(', ')} of ${target}`);
        },
        { timeoutMs: 5000, intervalMs: 50, signal: this.opts.signal },
      );
      let lastErr: unknown;
      for (const pod of m.sentinels) {
        try {
          const sentinel = await s.connect(pod, 'sentinel');
          await sentinel.sentinelFailover(m.masterName);
          lastErr = undefined;
          break;
        } catch (e) {
          lastErr = e;
        }
      }
      if (lastErr) throw lastErr;
      const promoted = await waitFor(
        `Sentinel to promote a replica of ${m.master}`,
        async () => {
          let state = 'every sentinel still names the old master';
          for (const pod of m.sentinels) {
            const addr = await probe(s, pod, (n) => n.sentinelGetMasterAddrByName(m.masterName), 'sentinel');
            if (addr instanceof NotYet) {
              state = addr.state;
              continue;
            }
            // Sentinel names an IP, or a pod's DNS name where it announces hostnames (Bitnami): the same node either way
            const pod2 = addr ? podForHost(o, addr.host)?.name : undefined;
            if (!addr || addr.host === masterIp || pod2 === m.master) continue;
            if (!pod2) return notYet(`sentinel ${pod} names ${addr.host}, no pod of ours`);
            // Sentinel drops the promoted instance's clients (CLIENT KILL TYPE normal): probe drops a dead connection
            const role = await probe(s, pod2, (n) => n.role());
            if (role instanceof NotYet) return role;
            return role.role === 'master' ? { pod: pod2, ...addr } : notYet(`${pod2} is still ${role.role}`);
          }
          return notYet(state);
        },
        { timeoutMs: 15_000, intervalMs: 100, signal: this.opts.signal },
      );
      this.opts.log(`Sentinel promoted ${promoted.pod}`);
      // Sentinel may have reconfigured the old master already (and killed our connection): fresh ones, a few tries
      let last: NotYet | undefined;
      for (let attempt = 0; attempt < 3 && paused; attempt++) {
        const r = await probe(s, m.master, async (n) => {
          await n.replicaOf(promoted.host, promoted.port);
          await n.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
          await n.call('CLIENT', 'UNPAUSE');
          return true;
        });
        if (r instanceof NotYet) last = r;
        else paused = false;
      }
      if (paused) throw new RedisError(`could not make ${m.master} a replica of ${promoted.pod} after the failover: ${last?.state ?? 'no answer'}`, { pod: m.master });
      this.opts.log(`${m.master} now replicates ${promoted.pod}`);
    } finally {
      for (let attempt = 0; attempt < 3 && paused; attempt++) {
        if (!((await probe(s, m.master, (n) => n.call('CLIENT', 'UNPAUSE'))) instanceof NotYet)) paused = false;
      }
      for (const r of restore) {
        await r.node.configSet('replica-priority', r.value).catch(() => undefined);
        await r.node.configRewrite().catch(() => undefined);
      }
    }
  }

  /** After a replica's eviction: its pod is back on another node, Ready, and its Redis a replica in sync. */
  /** `draining`: the nodes still cordoned for this run, asked anew each time (a batch peer may be done meanwhile). */
  private async waitReplicaBack(target: Target, pod: string, draining: () => string[], timeoutMs: number): Promise<void> {
    await waitFor(
      `replica ${pod} of ${target.ref} to come back on another node and sync`,
      async () => {
        const o = await this.observe(target);
        const p = o.pods.find((x) => x.name === pod && x.component === 'redis');
        if (!p) return notYet('pod not recreated yet');
        if (draining().includes(p.nodeName)) return notYet(`still on ${p.nodeName}`);
        if (!p.ready || p.deleting) return notYet(`pod on ${p.nodeName || 'no node yet'}, not Ready`);
        const r = o.redis.find((x) => x.pod === pod);
        const rep = r?.replication;
        if (!r?.reachable || rep?.role !== 'replica') return notYet(`Redis ${r?.reachable ? `is ${rep?.role}` : 'not answering'}`);
        if (rep.masterLinkStatus !== 'up' || rep.masterSyncInProgress) return notYet('replica not in sync yet');
        return true;
      },
      { timeoutMs, intervalMs: this.opts.pollMs ?? 500, signal: this.opts.signal, onState: (st) => this.opts.log(`${target.ref}: ${pod}: ${st}`) },
    );
  }

  /** Waits until every target is healthy and in sync (or throws TimeoutError naming what is still wrong). */
  async waitHealthy(targets: Target[], timeoutMs: number, onState?: (s: string) => void): Promise<void> {
    const graceMs = this.opts.splitGraceMs ?? 30_000;
    for (const target of targets) {
      const firstSeen = new Map<string, number>();
      await waitFor(
        `${target.ref} in namespace ${target.namespace} to be healthy`,
        async () => {
          let o: Observed;
          try {
            o = await this.observe(target);
          } catch (e) {
            if (e instanceof RedisError) return notYet(errText(e));
            throw e;
          }
          const findings = diagnose(o);
          const now = Date.now();
          for (const k of [...firstSeen.keys()]) if (!findings.some((f) => f.kind === k)) firstSeen.delete(k);
          for (const f of findings) if (!firstSeen.has(f.kind)) firstSeen.set(f.kind, now);
          const [stuck] = stuckFindings(o, findings, (k) => now - (firstSeen.get(k) ?? now), graceMs);
          if (stuck) {
            const heal = stuck.fix ?? `kubectl redis heal ${target.ref} -n ${target.namespace}`;
            throw new KubectlRedisError(`${target.ref} in namespace ${target.namespace}: ${stuck.message}; waiting will not end this: run \`${heal}\` (it says which side to keep)`, {
              hint: `then re-run with --resume to continue`,
            });
          }
          const problems = healthProblems(o, findings);
          return problems.length === 0 ? true : notYet(`${target.ref}: ${problems.slice(0, 2).join('; ')}`);
        },
        { timeoutMs, intervalMs: this.opts.pollMs ?? 1000, signal: this.opts.signal, onState },
      );
    }
  }
}
