// What the migrate tests (test/e2e/migrate.test.ts, test/chaos/faults-migrate.test.ts) look at on both clusters of a
// two-cluster sandbox: a target's pods per cluster, node ids, redis-cli --cluster check from the cluster it runs in,
// and a watcher that no ordinal ever runs in both clusters at once (at-most-one semantics of KEP-3335).
import assert from 'node:assert/strict';
import { assertClusterCheck, redisCli as redisCliAt } from './redis.js';
import type { RunResult, TestSandbox } from './sandbox.js';

export interface PodRow {
  name: string;
  ip: string;
  phase: string;
  ready: boolean;
}

/** One Redis target on a two-cluster sandbox: where its pods are and its password (never on a command line). */
export interface MigrationTarget {
  sb: () => TestSandbox;
  namespace: string;
  selector: string;
  password: () => string;
}

export async function podsIn(t: MigrationTarget, context: string): Promise<PodRow[]> {
  const r = await t.sb().kubectl(['get', 'pods', '-n', t.namespace, '-l', t.selector, '-o', 'json'], { context });
  if (r.code !== 0) return [];
  const list = JSON.parse(r.stdout) as { items: Array<{ metadata: { name: string; deletionTimestamp?: string }; status?: { podIP?: string; phase?: string; conditions?: Array<{ type: string; status: string }> } }> };
  return list.items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => ({ name: p.metadata.name, ip: p.status?.podIP ?? '', phase: p.status?.phase ?? '', ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') }))
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}

export function redisCli(t: MigrationTarget, ip: string, args: string[]): Promise<RunResult> {
  return redisCliAt(ip, 6379, t.password(), args);
}

export async function nodeIds(t: MigrationTarget, context: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of await podsIn(t, context)) out[p.name] = (await redisCli(t, p.ip, ['CLUSTER', 'MYID'])).stdout.trim();
  return out;
}

/** `pods` Ready in `context`, redis-cli --cluster check clean, and every node knows itself at the address it runs at. */
export async function clusterCheck(t: MigrationTarget, context: string, pods: number): Promise<void> {
  const ps = await podsIn(t, context);
  assert.equal(ps.filter((p) => p.ready).length, pods, `ready pods of ${t.selector} in ${context}: ${JSON.stringify(ps)}`);
  await assertClusterCheck(t.password(), ps[0].ip);
  // every node, asked itself, has the address it runs at (no stale myself line to hand to clients)
  for (const p of ps) {
    const nodes = (await redisCli(t, p.ip, ['CLUSTER', 'NODES'])).stdout;
    assert.match(nodes, new RegExp(`^\\S+ ${p.ip.replace(/\./g, '\\.')}:6379@16379(,\\S*)? myself,`, 'm'), `${p.name} knows itself at its address: ${nodes}`);
  }
}

/** Samples both clusters every 300 ms; stop() gives the pods seen Running in east and west at once. */
export function twiceWatcher(t: MigrationTarget): { stop(): Promise<string[]> } {
  let running = true;
  const seen: string[] = [];
  const loop = (async () => {
    while (running) {
      const [east, west] = await Promise.all([podsIn(t, 'east'), podsIn(t, 'west')]);
      const live = (ps: PodRow[]) => new Set(ps.filter((p) => p.phase === 'Running').map((p) => p.name));
      const w = live(west);
      for (const n of live(east)) if (w.has(n)) seen.push(n);
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return [...new Set(seen)];
    },
  };
}
