// heal: time from a fault to `redis-cli --cluster check` OK (from every node), for faults of the heal table (issue 8), on the demo's
// Bitnami redis-cluster `cache` (6 nodes, no operator to fight the fix). Each fault is made twice, the way it happens
// in life: once healed with `kubectl redis heal sts/cache --yes`, once with what a user would otherwise run,
// `redis-cli --cluster fix` (which knows nothing of Kubernetes). The clock starts when the fault is in place (for
// restarted pods: at the delete, so the restart is on both clocks) and stops at the first check that passes.
import { fmtMs, pods, ratio, relinkReplicas, replicaLinkState, replicasLinked, timeUntil, type Benchmark, type BenchContext, type PodAddr, type Row, type TestSandbox } from './lib.js';
import { clusterCheckResult, redisCli, secret, sleep } from '../test/support/redis.js';

const NS = 'redis';
const TARGET = 'sts/cache';
const SELECTOR = 'app.kubernetes.io/name=redis-cluster,app.kubernetes.io/instance=cache';
const PODS = 6;
const TARGET_MS = 30_000;
/** How long a check may take to pass after the fixing command returned. */
const SETTLE_MS = 30_000;

interface Fault {
  name: string;
  /** Make the fault; the clock starts when this returns. What it returns is added to heal's command line. */
  inject(h: Helpers): Promise<void | string[]>;
  /** Why redis-cli --cluster fix is not run on this fault (it would leave the cache broken for what follows). */
  noBaseline?: string;
  /** What must happen before a fix can be tried (restarted pods Ready again), on the clock. */
  settle?(h: Helpers): Promise<void>;
}

class Helpers {
  constructor(
    readonly sb: TestSandbox,
    readonly password: string,
    readonly log: (m: string) => void,
  ) {}

  pods(): Promise<PodAddr[]> {
    return pods(this.sb, NS, SELECTOR);
  }

  async cli(ip: string, args: string[]): Promise<string> {
    const r = await redisCli(ip, 6379, this.password, args, 20_000);
    if (r.code !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  /**
   * The check from every pod that has an IP, each with its own view: a forgotten node, or the cut-off side of a
   * partition, passes the check from the nodes that no longer know it.
   */
  async check(): Promise<{ ok: boolean; text: string }> {
    const ps = (await this.pods()).filter((x) => x.ip);
    if (ps.length === 0) return { ok: false, text: 'no pod has an IP' };
    const results = await Promise.all(ps.map(async (p) => ({ p, r: await clusterCheckResult(this.password, p.ip, 30_000) })));
    const bad = results.find((x) => !x.r.ok);
    return bad ? { ok: false, text: `from ${bad.p.name}: ${bad.r.text}` } : results[0].r;
  }

  async waitReady(timeoutMs = 120_000): Promise<void> {
    const ms = await timeUntil(async () => {
      const ps = await this.pods();
      return ps.length === PODS && ps.every((p) => p.ready && p.ip);
    }, timeoutMs, 500);
    if (ms === undefined) throw new Error(`cache: ${PODS} pods not Ready after ${timeoutMs / 1000} s`);
  }

  async ownerOf(slot: number): Promise<{ ip: string; id: string }> {
    for (const p of await this.pods()) {
      if (!p.ip) continue;
      const nodes = await this.cli(p.ip, ['CLUSTER', 'NODES']).catch(() => '');
      for (const line of nodes.split('\n')) {
        const w = line.trim().split(' ');
        if (!w[2]?.includes('myself') || !w[2].includes('master')) continue;
        for (const s of w.slice(8)) {
          const [a, b] = s.split('-').map(Number);
          if (slot >= a && slot <= (b ?? a)) return { ip: p.ip, id: w[0] };
        }
      }
    }
    throw new Error(`nobody owns slot ${slot}`);
  }

  async masters(): Promise<Array<PodAddr & { id: string }>> {
    const out: Array<PodAddr & { id: string }> = [];
    for (const p of await this.pods()) {
      if (!p.ip) continue;
      const role = await this.cli(p.ip, ['ROLE']).catch(() => '');
      if (role.startsWith('master')) out.push({ ...p, id: await this.cli(p.ip, ['CLUSTER', 'MYID']) });
    }
    return out;
  }

  async keys(): Promise<number> {
    let n = 0;
    for (const m of await this.masters()) n += Number(await this.cli(m.ip, ['DBSIZE']));
    return n;
  }

  async heal(extra: string[] = []): Promise<{ code: number; out: string }> {
    const r = await this.sb.cli(['heal', TARGET, '-n', NS, '--yes', '--step-timeout', '60s', ...extra], { timeoutMs: 240_000 });
    return { code: r.code, out: `${r.stdout}\n${r.stderr}` };
  }

  async fix(): Promise<{ code: number; out: string }> {
    const p = (await this.pods()).find((x) => x.ip);
    if (!p) return { code: 1, out: 'no pod has an IP' };
    // --cluster-yes does not answer every prompt of 7.0's fix (covering slots that hold keys): answer as a user would
    const r = await redisCli(p.ip, 6379, this.password, ['--cluster', 'fix', `${p.ip}:6379`, '--cluster-yes'], 120_000, 'yes\n'.repeat(50));
    return { code: r.code, out: `${r.stdout}\n${r.stderr}` };
  }

  /** Check OK and every replica's link up. */
  async healthy(): Promise<boolean> {
    if (!(await this.check()).ok) return false;
    return replicasLinked(this.password, (await this.pods()).map((p) => p.ip));
  }

  /**
   * Nothing for heal to do (its dry run plans no step). The check does not look at replica placement: a fresh demo
   * cache has replicas beside their masters, and a timed heal that also moves them (three full resyncs) was once
   * billed to "a slot left migrating" (19 s, of which the slot took under one).
   */
  async healClean(): Promise<boolean> {
    const r = await this.sb.cli(['heal', TARGET, '-n', NS, '--dry-run'], { timeoutMs: 60_000 });
    return r.code === 0 && !/^Plan for /m.test(r.stdout);
  }

  /** Before each fault: healthy, with nothing for heal to do, or made so by heal (untimed); throws when impossible. */
  async ensureHealthy(): Promise<void> {
    await this.waitReady();
    if ((await timeUntil(() => this.healthy(), 20_000, 1000)) !== undefined && (await this.healClean())) return;
    this.log('cache is not healthy before the next fault: healing it first (untimed)');
    for (let i = 0; i < 2; i++) {
      await this.heal();
      if ((await timeUntil(() => this.healthy(), SETTLE_MS, 1000)) !== undefined && (await this.healClean())) return;
      // heal leaves a replica whose link points at its master's old IP: re-point it as an operator would
      const fixed = await relinkReplicas(this.password, await this.pods());
      if (fixed.length > 0) this.log(`replica link still down on ${fixed.join(', ')}: re-pointed with CLUSTER REPLICATE (untimed)`);
      if ((await timeUntil(() => this.healthy(), SETTLE_MS, 1000)) !== undefined && (await this.healClean())) return;
    }
    const c = await this.check();
    throw new Error(`cache stays unhealthy: ${c.ok ? 'a replica link is down' : c.text.split('\n').filter((l) => /ERR|WARN/.test(l)).slice(0, 3).join(' ')}`);
  }
}

const FAULTS: Fault[] = [
  {
    name: 'a slot left migrating',
    async inject(h) {
      const owner = await h.ownerOf(100);
      const other = (await h.masters()).find((m) => m.id !== owner.id);
      if (!other) throw new Error('no second master');
      await h.cli(owner.ip, ['CLUSTER', 'SETSLOT', '100', 'MIGRATING', other.id]);
    },
  },
  {
    name: 'uncovered slots',
    async inject(h) {
      const owner = await h.ownerOf(5000);
      await h.cli(owner.ip, ['CLUSTER', 'DELSLOTSRANGE', '5000', '5010']);
      await sleep(2000);
    },
  },
  {
    name: 'a master pod restarted (new IP)',
    async inject(h) {
      const m = (await h.masters()).sort((a, b) => a.name.localeCompare(b.name))[0];
      const r = await h.sb.kubectl(['delete', 'pod', '-n', NS, m.name, '--wait=false']);
      if (r.code !== 0) throw new Error(r.stderr);
    },
    async settle(h) {
      await sleep(2000);
      await h.waitReady();
    },
  },
  {
    name: 'every pod restarted (new IPs)',
    async inject(h) {
      const r = await h.sb.kubectl(['delete', 'pod', '-n', NS, '-l', SELECTOR, '--wait=false']);
      if (r.code !== 0) throw new Error(r.stderr);
    },
    async settle(h) {
      await sleep(3000);
      await h.waitReady();
    },
  },
  {
    name: 'a forgotten master',
    async inject(h) {
      // CLUSTER FORGET of one master on every other node at once (its replica refuses: "Can't forget my master!")
      const m = (await h.masters()).sort((a, b) => a.name.localeCompare(b.name))[0];
      const others = (await h.pods()).filter((p) => p.ip && p.name !== m.name);
      await Promise.all(others.map((p) => h.cli(p.ip, ['CLUSTER', 'FORGET', m.id]).catch(() => '')));
      await sleep(1000);
    },
  },
  {
    name: 'two masters claiming one slot after a partition',
    // measured once (2026-11-25): run from the cut-off old master, fix covers every slot it does not see with it,
    // so both sides claim everything; the check from that node passes, keys went 300 -> 397 (duplicates), and
    // heal then refuses: the keys of different slots are on different sides
    noBaseline: 'redis-cli --cluster fix makes the cut-off master claim every slot too (keys 300 -> 397, duplicated): not run, it breaks the cache for what follows',
    async inject(h) {
      // the old master forgets everyone and freezes; its replica takes over (TAKEOVER) and takes a write; the rest
      // forget the old master; it thaws still claiming its slots. heal needs --prefer: the new master's side.
      const a = (await h.masters()).sort((x, y) => x.name.localeCompare(y.name))[0];
      const pods = (await h.pods()).filter((p) => p.ip);
      let b: PodAddr | undefined;
      for (const p of pods) if (p.name !== a.name && (await h.cli(p.ip, ['ROLE']).catch(() => '')).split('\n')[1] === a.ip) b = b ?? p;
      if (!b) throw new Error(`${a.name} has no replica`);
      const others = pods.filter((p) => p.name !== a.name);
      for (const p of others) await h.cli(a.ip, ['CLUSTER', 'FORGET', await h.cli(p.ip, ['CLUSTER', 'MYID'])]);
      const fault = async (kind: string) => {
        const r = await h.sb.sandbox(['fault', kind, '--namespace', NS, '--pod', a.name]);
        if (r.code !== 0) throw new Error(`fault ${kind}: ${r.stderr}`);
      };
      await fault('freeze');
      try {
        await h.cli(b.ip, ['CLUSTER', 'FAILOVER', 'TAKEOVER']);
        if ((await timeUntil(async () => (await h.cli(b.ip, ['ROLE'])).startsWith('master'), 10_000, 250)) === undefined) throw new Error(`${b.name} did not take over`);
        await Promise.all(others.map((p) => h.cli(p.ip, ['CLUSTER', 'FORGET', a.id])));
      } finally {
        await fault('thaw');
      }
      await sleep(1000);
      return ['--prefer', b.name];
    },
  },
];

interface Attempt {
  method: 'heal' | 'redis-cli --cluster fix';
  faultVisible: boolean;
  /** Fault -> pods Ready again (restarts only). */
  readyMs: number;
  commandMs: number;
  exit: number;
  /** Fault in place -> first passing check; undefined when it never passed within SETTLE_MS after the command. */
  toOkMs?: number;
  keysBefore: number;
  keysAfter?: number;
  /** Every replica's link up, to a current pod IP, when the check passed (the check does not look at links). */
  linked?: boolean;
  /** Why not, when not: 'stale-ip' (a replica on an address no pod has), 'down' (reconnecting or syncing). */
  links?: string;
  tail: string;
}

async function attempt(h: Helpers, fault: Fault, method: Attempt['method']): Promise<Attempt> {
  await h.ensureHealthy();
  const keysBefore = await h.keys();
  const extra = (await fault.inject(h)) ?? [];
  const t0 = Date.now();
  await fault.settle?.(h);
  const readyMs = Date.now() - t0;
  const faultVisible = !(await h.check()).ok;
  const r = method === 'heal' ? await h.heal(extra) : await h.fix();
  const commandMs = Date.now() - t0 - readyMs;
  const settle = await timeUntil(async () => (await h.check()).ok, SETTLE_MS, 250);
  const toOkMs = settle === undefined ? undefined : Date.now() - t0;
  const keysAfter = toOkMs === undefined ? undefined : await h.keys().catch(() => undefined);
  const links = toOkMs === undefined ? undefined : await replicaLinkState(h.password, (await h.pods()).map((p) => p.ip)).catch(() => undefined);
  const linked = links === undefined || links === 'unknown' ? undefined : links === 'linked';
  const tail = r.out.trim().split('\n').filter(Boolean).slice(-2).join(' | ').slice(0, 200);
  h.log(`${fault.name}, ${method}: ${fault.settle ? `pods Ready after ${fmtMs(readyMs)}, ` : ''}exit ${r.code}, command ${fmtMs(commandMs)}, check OK ${toOkMs === undefined ? 'never' : `after ${fmtMs(toOkMs)}`}${faultVisible ? '' : ' (the check passed when the command started)'}`);
  return { method, faultVisible, readyMs, commandMs, exit: r.code, toOkMs, keysBefore, keysAfter, linked, links, tail };
}

export const heal: Benchmark = {
  name: 'heal',
  summary: 'fault -> redis-cli --cluster check OK: kubectl redis heal vs redis-cli --cluster fix (sts/cache, 6 nodes)',
  async run(ctx: BenchContext) {
    const sb = await ctx.demo();
    const h = new Helpers(sb, await secret(sb, NS, 'cache', 'redis-password'), ctx.log);
    const rows: Row[] = [];
    const attempts: Record<string, Attempt[]> = {};
    // BENCH_HEAL_FAULTS=word,word runs only the faults whose name contains one of the words
    const only = (process.env.BENCH_HEAL_FAULTS ?? '').split(',').map((w) => w.trim()).filter(Boolean);
    for (const [i, fault] of FAULTS.filter((f) => only.length === 0 || only.some((w) => f.name.includes(w))).entries()) {
      // fix goes first every other fault: neither side always gets the cache just healed by the other
      const fixFirst = !fault.noBaseline && i % 2 === 1;
      const first: Attempt | undefined = fixFirst ? await attempt(h, fault, 'redis-cli --cluster fix') : undefined;
      const ours = await attempt(h, fault, 'heal');
      const theirs: Attempt | undefined = fault.noBaseline ? undefined : first ?? await attempt(h, fault, 'redis-cli --cluster fix');
      attempts[fault.name] = theirs ? [ours, theirs] : [ours];
      const healed = ours.toOkMs !== undefined;
      const keysLost = ours.keysAfter === undefined ? undefined : ours.keysBefore - ours.keysAfter;
      rows.push({
        benchmark: `heal ${TARGET}: ${fault.name}`,
        figure: healed ? `${fmtMs(ours.toOkMs)} to check OK` : `not healed (exit ${ours.exit})`,
        value: ours.toOkMs,
        unit: 'ms',
        baseline: !theirs ? 'redis-cli --cluster fix: not run' : theirs.toOkMs !== undefined ? `redis-cli --cluster fix ${fmtMs(theirs.toOkMs)}` : `redis-cli --cluster fix: not healed (exit ${theirs.exit})`,
        baselineValue: theirs?.toOkMs,
        ratio: ratio(ours.toOkMs, theirs?.toOkMs),
        target: `check OK <= ${TARGET_MS / 1000} s${theirs?.toOkMs !== undefined ? ' and <= 1x fix' : ''}, replicas linked, no key lost`,
        targetFrom: 'issue 20 (<= 1x redis-cli --cluster fix where fix heals), bench (30 s)',
        // the check does not look at replication links: a replica left on its master's old IP is not healed
        verdict: healed && (ours.toOkMs ?? Infinity) <= TARGET_MS && (keysLost ?? 0) <= 0 && ours.linked !== false
          && (theirs?.toOkMs === undefined || (ratio(ours.toOkMs, theirs.toOkMs) ?? Infinity) <= 1) ? 'PASS' : 'MISS',
        note: [
          fault.settle ? `clock includes the pods' restart (${fmtMs(ours.readyMs)} with heal${theirs ? `, ${fmtMs(theirs.readyMs)} with fix` : ''})` : '',
          ours.faultVisible ? '' : 'the check already passed once when heal started (the chart\'s nodes.sh rewrites peer IPs at start)',
          keysLost !== undefined ? `keys ${ours.keysBefore} before, ${ours.keysAfter} after` : '',
          ours.linked === false ? `a replica link was still down when the check passed (${ours.links === 'stale-ip' ? 'on a master\'s old IP' : 'to its master\'s current IP: reconnecting or syncing'})` : '',
          fault.noBaseline ?? '',
          theirs?.linked === false ? `after fix, a replica link was still down (${theirs.links === 'stale-ip' ? 'on a master\'s old IP' : 'to its master\'s current IP'})` : '',
          // a fix that "passes" the check from one node may have duplicated or dropped keys (a partition's two sides)
          theirs?.keysAfter !== undefined && theirs.keysAfter !== theirs.keysBefore ? `after fix, keys ${theirs.keysBefore} before, ${theirs.keysAfter} after` : '',
          healed ? '' : `heal said: ${ours.tail}`,
          theirs && theirs.toOkMs === undefined ? `fix said: ${theirs.tail}` : '',
        ].filter(Boolean).join('; ') || undefined,
      });
    }
    ctx.detail.attempts = attempts;
    // leave the cache healthy for whatever runs next
    await h.ensureHealthy().catch((e: unknown) => ctx.log(`cache left unhealthy: ${e instanceof Error ? e.message : String(e)}`));
    return rows;
  },
};
