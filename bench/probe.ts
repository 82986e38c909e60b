// The write probe: a client that writes numbered keys continuously while something happens to Redis (a drain, a
// reboot, a migration), recording when each write was acknowledged and every error, and afterwards reads every
// acknowledged key back. Its report is what availability means here: acknowledged writes, lost acknowledged writes,
// the longest time without an acknowledged write, and latency percentiles.
//
//   const probe = await startProbe({ mode: 'cluster', hosts: [{ host: '10.0.0.5', port: 6379 }], password });
//   probe.mark('ordinal 2');          // optional: split the report into segments
//   const report = await probe.stop(); // stops writing, reads back, disconnects
//
// Cluster mode uses ioredis Cluster on the pods' own IPs (no natMap: the network is flat, in the sandbox as in a
// cluster-internal client); sentinel mode asks the sentinels for the master, as an application would; standalone
// writes to one node.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { sleep } from '../test/support/redis.js';

export interface ProbeHost {
  host: string;
  port: number;
}

export interface ProbeOptions {
  mode: 'cluster' | 'sentinel' | 'standalone';
  /** Cluster: seed nodes; sentinel: the sentinels; standalone: the node (first entry). */
  hosts: ProbeHost[];
  password?: string;
  /** Sentinel mode: the master group name (default mymaster). */
  masterName?: string;
  sentinelPassword?: string;
  /** Sentinel mode: where a master or replica address the sentinels give is reached (ioredis natMap), for names only
   * cluster DNS resolves (Sentinel with announce-hostnames). */
  natMap?: (key: string) => { host: string; port: number } | null;
  /** Key prefix; keys are `${prefix}:w${writer}:${n}`, spread over every slot (default `probe:<random>`). */
  prefix?: string;
  /** Label for reports. */
  name?: string;
  /** Parallel writers, each writing one key at a time (default 1). */
  concurrency?: number;
  /** Pause after each acknowledged write, per writer (default 10 ms). */
  intervalMs?: number;
  /** Pause after an error before the next write (default 20 ms). */
  errorBackoffMs?: number;
  /** Per-command timeout (default 2000 ms). */
  commandTimeoutMs?: number;
  /** Wait until the first write is acknowledged before start resolves (default true). */
  waitFirstAck?: boolean;
  /** How long start waits for the first acknowledgement (default 30 s). */
  startTimeoutMs?: number;
}

export interface ProbeSegment {
  label: string;
  fromMs: number;
  toMs: number;
  acknowledged: number;
  errors: number;
  longestGapMs: number;
}

export interface ProbeReport {
  name: string;
  mode: ProbeOptions['mode'];
  /** Milliseconds from start to stop. */
  durationMs: number;
  attempted: number;
  acknowledged: number;
  errors: number;
  /** Error messages (normalised: numbers and addresses replaced) and how often each happened. */
  errorKinds: Record<string, number>;
  /** Acknowledged keys whose value did not read back (missing or different). */
  lostAcknowledged: number;
  lostKeys: string[];
  /** Acknowledged keys that could not be read back at all (read errors): neither lost nor confirmed. */
  unverified: number;
  /** The longest time without any acknowledged write, from the first acknowledgement to stop (so a dead end shows too). */
  longestGapMs: number;
  /** When that gap began and ended, in milliseconds since start. */
  longestGapAt: { fromMs: number; toMs: number };
  /** Gaps longer than 250 ms, in order, as [fromMs, toMs] since start. */
  gapsOver250Ms: Array<[number, number]>;
  p50Ms: number;
  p99Ms: number;
  maxLatencyMs: number;
  segments: ProbeSegment[];
}

export interface Probe {
  readonly name: string;
  /** Acknowledged writes so far. */
  acknowledged(): number;
  /** Start a new segment here (the previous one ends); the report has per-segment gaps and counts. */
  mark(label: string): void;
  /** Stop writing, read every acknowledged key back, disconnect, report. */
  stop(): Promise<ProbeReport>;
}

interface Ack {
  at: number;
  latency: number;
}

const now = (): number => performance.now();

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function normaliseError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\d+\.\d+\.\d+\.\d+(:\d+)?/g, '<addr>').replace(/\b\d+\b/g, 'N').slice(0, 120);
}

function makeClient(o: ProbeOptions): Cluster | Redis {
  const commandTimeout = o.commandTimeoutMs ?? 2000;
  const common: RedisOptions = {
    password: o.password,
    connectTimeout: 1000,
    commandTimeout,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    // a master demoted under the client: reconnect (and, in sentinel mode, ask the sentinels again) and resend
    reconnectOnError: (err) => (/READONLY|LOADING|MASTERDOWN/.test(err.message) ? 2 : false),
  };
  if (o.mode === 'cluster') {
    const opts: ClusterOptions = {
      redisOptions: common,
      clusterRetryStrategy: () => 100,
      retryDelayOnFailover: 50,
      retryDelayOnClusterDown: 50,
      retryDelayOnTryAgain: 50,
      retryDelayOnMoved: 0,
      slotsRefreshTimeout: 1000,
      slotsRefreshInterval: 2000,
      maxRedirections: 32,
      enableOfflineQueue: true,
    };
    return new Cluster(o.hosts.map((h) => ({ host: h.host, port: h.port })), opts);
  }
  if (o.mode === 'sentinel') {
    return new Redis({
      ...common,
      sentinels: o.hosts.map((h) => ({ host: h.host, port: h.port })),
      name: o.masterName ?? 'mymaster',
      sentinelPassword: o.sentinelPassword,
      ...(o.natMap ? { natMap: o.natMap } : {}),
      sentinelRetryStrategy: () => 100,
      retryStrategy: () => 100,
    });
  }
  const [h] = o.hosts;
  return new Redis({ ...common, host: h.host, port: h.port, retryStrategy: () => 100 });
}

/**
 * Disconnect for good. ioredis 5's Cluster re-arms its slotsRefreshInterval timer when a slot refresh that was in
 * flight during disconnect() completes, and from then on refreshes an empty node list every interval forever,
 * keeping the process alive: wait for that refresh to end, then disconnect once more (which clears the new timer).
 */
async function closeClient(client: Cluster | Redis): Promise<void> {
  client.disconnect();
  if (!(client instanceof Cluster)) return;
  // isRefreshing is private in ioredis's typings; read it through a narrow view
  const view = client as unknown as { isRefreshing?: boolean };
  const deadline = Date.now() + 15_000;
  while (view.isRefreshing === true && Date.now() < deadline) await sleep(20);
  client.disconnect();
}

/** Start writing; resolves once the first write is acknowledged (unless waitFirstAck is false). */
export async function startProbe(opts: ProbeOptions): Promise<Probe> {
  if (opts.hosts.length === 0) throw new Error('probe: no hosts');
  const name = opts.name ?? opts.prefix ?? `${opts.mode}-probe`;
  const prefix = opts.prefix ?? `probe:${Math.random().toString(36).slice(2, 8)}`;
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  const interval = opts.intervalMs ?? 10;
  const backoff = opts.errorBackoffMs ?? 20;
  const client = makeClient(opts);
  client.on('error', () => undefined);
  client.on('node error', () => undefined);

  const acked = new Map<string, string>();
  const acks: Ack[] = [];
  const errorKinds: Record<string, number> = {};
  const errorTimes: number[] = [];
  let attempted = 0;
  let running = true;
  const t0 = now();
  const marks: Array<{ label: string; at: number }> = [{ label: 'start', at: 0 }];

  const writer = async (w: number): Promise<void> => {
    for (let i = 0; running; i++) {
      const key = `${prefix}:w${w}:${i}`;
      const value = `${i}-${Date.now()}`;
      attempted++;
      const sent = now();
      try {
        await client.set(key, value);
        const at = now();
        acks.push({ at: at - t0, latency: at - sent });
        acked.set(key, value);
        if (interval > 0) await sleep(interval);
      } catch (e) {
        const k = normaliseError(e);
        errorKinds[k] = (errorKinds[k] ?? 0) + 1;
        errorTimes.push(now() - t0);
        await sleep(backoff);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, (_, w) => writer(w));

  // gaps count from the first acknowledgement when start waits for it (connecting is not an outage)
  let gapsFrom = 0;
  if (opts.waitFirstAck ?? true) {
    const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
    while (acks.length === 0) {
      if (Date.now() > deadline) {
        running = false;
        await Promise.allSettled(loops);
        await closeClient(client);
        throw new Error(`probe ${name}: no write acknowledged within ${opts.startTimeoutMs ?? 30_000} ms (${Object.keys(errorKinds).join('; ') || 'no error'})`);
      }
      await sleep(20);
    }
    gapsFrom = acks[0].at;
    marks[0].at = gapsFrom;
  }

  const gapsIn = (fromMs: number, toMs: number): { longest: number; at: [number, number]; over: Array<[number, number]> } => {
    let prev = fromMs;
    let longest = 0;
    let at: [number, number] = [fromMs, fromMs];
    const over: Array<[number, number]> = [];
    const times = acks.map((a) => a.at).filter((t) => t >= fromMs && t <= toMs).sort((a, b) => a - b);
    for (const t of [...times, toMs]) {
      const g = t - prev;
      if (g > longest) {
        longest = g;
        at = [prev, t];
      }
      if (g > 250) over.push([Math.round(prev), Math.round(t)]);
      prev = t;
    }
    return { longest, at, over };
  };

  return {
    name,
    acknowledged: () => acks.length,
    mark(label: string): void {
      marks.push({ label, at: now() - t0 });
    },
    async stop(): Promise<ProbeReport> {
      running = false;
      await Promise.allSettled(loops);
      const end = now() - t0;
      // read back every acknowledged key; read errors are retried, then counted as unverified
      const lostKeys: string[] = [];
      let unverified = 0;
      const keys = [...acked.keys()];
      for (let i = 0; i < keys.length; i += 500) {
        const chunk = keys.slice(i, i + 500);
        const results = await Promise.all(chunk.map(async (k) => {
          for (let attempt = 0; attempt < 5; attempt++) {
            try {
              return { k, v: await client.get(k) };
            } catch {
              await sleep(200);
            }
          }
          return { k, err: true as const };
        }));
        for (const r of results) {
          if ('err' in r) unverified++;
          else if (r.v !== acked.get(r.k)) lostKeys.push(r.k);
        }
      }
      await closeClient(client);
      const latencies = acks.map((a) => a.latency).sort((a, b) => a - b);
      const whole = gapsIn(gapsFrom, end);
      const segments: ProbeSegment[] = marks.map((m, j) => {
        const to = j + 1 < marks.length ? marks[j + 1].at : end;
        const g = gapsIn(m.at, to);
        return {
          label: m.label,
          fromMs: Math.round(m.at),
          toMs: Math.round(to),
          acknowledged: acks.filter((a) => a.at >= m.at && a.at < to).length,
          errors: errorTimes.filter((t) => t >= m.at && t < to).length,
          longestGapMs: Math.round(g.longest),
        };
      });
      return {
        name,
        mode: opts.mode,
        durationMs: Math.round(end),
        attempted,
        acknowledged: acks.length,
        errors: errorTimes.length,
        errorKinds,
        lostAcknowledged: lostKeys.length,
        lostKeys: lostKeys.slice(0, 20),
        unverified,
        longestGapMs: Math.round(whole.longest),
        longestGapAt: { fromMs: Math.round(whole.at[0]), toMs: Math.round(whole.at[1]) },
        gapsOver250Ms: whole.over,
        p50Ms: Number(pct(latencies, 50).toFixed(2)),
        p99Ms: Number(pct(latencies, 99).toFixed(2)),
        maxLatencyMs: Number((latencies.at(-1) ?? NaN).toFixed(2)),
        segments,
      };
    },
  };
}

/** One line for logs: "orders: 5123 acked, 0 lost, 3 errors, longest gap 412 ms, p50 1.1 ms, p99 4.0 ms". */
export function probeLine(r: ProbeReport): string {
  const errs = Object.entries(r.errorKinds).sort((a, b) => b[1] - a[1]).slice(0, 2).map(([k, n]) => `${n}x ${k}`).join('; ');
  return `${r.name}: ${r.acknowledged} acked, ${r.lostAcknowledged} lost${r.unverified ? `, ${r.unverified} unverified` : ''}, ${r.errors} errors, longest gap ${r.longestGapMs} ms, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms${errs ? ` (${errs})` : ''}`;
}
