// What the tests (sandbox, e2e, chaos) and the benchmarks share when they look at a sandbox: only through the real
// kubectl and redis-cli (passwords read from the Secrets and handed to redis-cli in REDISCLI_AUTH, never on a
// command line), waiting for a condition, and a fingerprint of a namespace to show that nothing changed.
import assert from 'node:assert/strict';
import { run, startSandbox, type RunResult, type SandboxOptions, type TestSandbox } from './sandbox.js';

export type Obj = Record<string, unknown>;
export const o = (v: unknown): Obj => (v !== null && typeof v === 'object' ? (v as Obj) : {});

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll until `fn` returns something truthy; on timeout, fail with `what` and the last value or error seen. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what} (last: ${JSON.stringify(last)?.slice(0, 500)})`);
    await sleep(everyMs);
  }
}

/** kubectl that must succeed. */
export async function k(sb: TestSandbox, args: string[], timeoutMs = 30_000): Promise<string> {
  const r = await sb.kubectl(args, { timeoutMs });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export async function kjson(sb: TestSandbox, args: string[]): Promise<Obj> {
  return JSON.parse(await k(sb, [...args, '-o', 'json'])) as Obj;
}

export async function items(sb: TestSandbox, args: string[]): Promise<Obj[]> {
  return ((await kjson(sb, args)).items ?? []) as Obj[];
}

export const meta = (x: Obj): { name: string; labels: Record<string, string>; annotations: Record<string, string> } => {
  const m = o(x.metadata);
  return { name: String(m.name), labels: (m.labels ?? {}) as Record<string, string>, annotations: (m.annotations ?? {}) as Record<string, string> };
};

/** A Secret's value, as `kubectl get secret -o jsonpath` shows it (base64, decoded here). */
export async function secret(sb: TestSandbox, ns: string, name: string, key: string): Promise<string> {
  const b64 = await k(sb, ['get', 'secret', '-n', ns, name, '-o', `jsonpath={.data.${key.replace(/\./g, '\\.')}}`]);
  assert.ok(b64, `secret ${ns}/${name} has no key ${key}`);
  return Buffer.from(b64, 'base64').toString();
}

export interface PodView {
  name: string;
  ip: string;
  ready: boolean;
  node: string;
  labels: Record<string, string>;
  restarts: number;
}

export async function pods(sb: TestSandbox, ns: string, selector: string): Promise<PodView[]> {
  const list = await items(sb, ['get', 'pods', '-n', ns, '-l', selector]);
  return list
    .filter((p) => !o(p.metadata).deletionTimestamp)
    .map((p) => {
      const st = o(p.status);
      const conds = (st.conditions ?? []) as Obj[];
      const cs = (st.containerStatuses ?? []) as Obj[];
      return {
        name: meta(p).name,
        ip: String(st.podIP ?? ''),
        ready: conds.some((c) => c.type === 'Ready' && c.status === 'True'),
        node: String(o(p.spec).nodeName ?? ''),
        labels: meta(p).labels,
        restarts: cs.reduce((n, c) => n + Number(c.restartCount ?? 0), 0),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}

/** redis-cli against an address, the password in REDISCLI_AUTH; `input` is its stdin. */
export function redisCli(ip: string, port: number, password: string | undefined, args: string[], timeoutMs = 30_000, input?: string): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.REDISCLI_AUTH;
  if (password) env.REDISCLI_AUTH = password;
  return run('redis-cli', ['-h', ip, '-p', String(port), ...args], { env, timeoutMs, input });
}

/** `redis-cli --cluster check` from one node, uncoloured; ok when it exits 0, every slot is covered and nothing is [ERR] or [WARNING]. */
export async function clusterCheckResult(password: string | undefined, ip: string, timeoutMs = 60_000, port = 6379): Promise<{ ok: boolean; text: string; out: string; code: number }> {
  const r = await redisCli(ip, port, password, ['--cluster', 'check', `${ip}:${port}`], timeoutMs);
  const out = r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
  const text = out + r.stderr;
  return { ok: r.code === 0 && !/\[ERR\]|\[WARNING\]/.test(text) && /All 16384 slots covered/.test(text), text, out, code: r.code };
}

/** The same check, as assertions: exit 0, the nodes agree, every slot covered, no error or warning. Its output. */
export async function assertClusterCheck(password: string | undefined, ip: string): Promise<string> {
  const { out, text, code } = await clusterCheckResult(password, ip, 30_000);
  assert.equal(code, 0, `redis-cli --cluster check failed (${code}): ${text}`);
  assert.match(out, /\[OK\] All nodes agree about slots configuration/, out);
  assert.match(out, /\[OK\] All 16384 slots covered/, out);
  assert.doesNotMatch(out, /\[ERR\]|\[WARNING\]/, out);
  return out;
}

/** redis-cli that must succeed (and not answer with an error); its output, trimmed. */
export async function rc(ip: string, port: number, password: string | undefined, args: string[], timeoutMs?: number): Promise<string> {
  const r = await redisCli(ip, port, password, args, timeoutMs);
  assert.equal(r.code, 0, `redis-cli -h ${ip} -p ${port} ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  assert.doesNotMatch(r.stdout, /^(ERR|NOAUTH|WRONGPASS|CLUSTERDOWN|MOVED)\b/, `redis-cli ${args.join(' ')}: ${r.stdout}`);
  return r.stdout.trim();
}

export interface ClusterTarget {
  ns: string;
  selector: string;
  secret: { name: string; key: string };
}

/** `redis-cli --cluster check` from one pod of the cluster: every slot covered, nodes agree, nothing open. */
export async function clusterCheck(sb: TestSandbox, t: ClusterTarget, want: { masters: number; replicasPer: number }): Promise<string> {
  const ps = await pods(sb, t.ns, t.selector);
  const password = await secret(sb, t.ns, t.secret.name, t.secret.key);
  assert.ok(ps.length > 0 && ps.every((p) => p.ip && p.ready), `pods of ${t.selector} not all ready: ${JSON.stringify(ps)}`);
  const out = await assertClusterCheck(password, ps[0].ip);
  for (const p of ps) assert.match(await rc(p.ip, 6379, password, ['CLUSTER', 'INFO']), /cluster_state:ok/, `${p.name} sees the cluster down`);
  const masters = [...out.matchAll(/^\S+:6379 \(\w+\.\.\.\) -> \d+ keys \| (\d+) slots \| (\d+) slaves\./gm)];
  assert.equal(masters.length, want.masters, `masters in ${out}`);
  for (const m of masters) assert.equal(Number(m[2]), want.replicasPer, `replicas per master in ${out}`);
  return out;
}

/** The sentinels all name the same master, and it is the pod whose INFO says role:master with every other replica attached. */
export async function sentinelsAgree(sb: TestSandbox, t: ClusterTarget & { sentinels: string; masterName: string; redisPods: number; sentinelPods: number }): Promise<string> {
  const redis = await pods(sb, t.ns, t.selector);
  const password = await secret(sb, t.ns, t.secret.name, t.secret.key);
  assert.equal(redis.length, t.redisPods, `redis pods of ${t.selector}`);
  const roles = await Promise.all(redis.map((p) => rc(p.ip, 6379, password, ['INFO', 'replication'])));
  const masters = redis.filter((_, i) => /role:master/.test(roles[i]));
  assert.equal(masters.length, 1, `one master among ${redis.map((p) => p.name).join(', ')}`);
  assert.match(roles[redis.indexOf(masters[0])], new RegExp(`connected_slaves:${t.redisPods - 1}\\b`));
  const sentinels = await pods(sb, t.ns, t.sentinels);
  assert.equal(sentinels.length, t.sentinelPods, `sentinel pods of ${t.sentinels}`);
  for (const s of sentinels) {
    const addr = (await rc(s.ip, 26379, undefined, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', t.masterName])).split('\n');
    assert.deepEqual(addr, [masters[0].ip, '6379'], `sentinel ${s.name} names ${addr.join(':')}, the master is ${masters[0].name} ${masters[0].ip}`);
  }
  return masters[0].ip;
}

/**
 * What a reconcile would change, as seen through kubectl: the StatefulSets' and Deployments' replicas, the pods
 * (names, IPs, readiness, role labels) and the custom resources' status.
 */
export async function fingerprint(sb: TestSandbox, ns: string, crKinds: string[]): Promise<string> {
  const list = await items(sb, ['get', ['statefulsets', 'deployments', 'pods', ...crKinds].join(','), '-n', ns]);
  const lines = list.map((x) => {
    const kind = String(x.kind);
    const { name, labels } = meta(x);
    if (kind === 'Pod') {
      const st = o(x.status);
      const ready = ((st.conditions ?? []) as Obj[]).some((c) => c.type === 'Ready' && c.status === 'True');
      const roles = Object.entries(labels).filter(([key]) => /role/.test(key)).map(([key, v]) => `${key}=${v}`).join(',');
      return `pod ${name} ${String(st.podIP)} ready=${ready} ${roles}`;
    }
    if (kind === 'StatefulSet' || kind === 'Deployment') return `${kind} ${name} replicas=${String(o(x.spec).replicas)} ready=${String(o(x.status).readyReplicas ?? 0)}`;
    return `${kind} ${name} spec-size=${JSON.stringify(o(x.spec).clusterSize ?? o(o(x.spec).redis).replicas ?? o(x.spec).clusterReplicas)} status=${JSON.stringify(x.status ?? {})}`;
  });
  return lines.sort().join('\n');
}

/** Drop the lines about the custom resources' spec (the edit itself), keeping everything a reconcile would change. */
export const withoutSpec = (f: string): string => f.replace(/ spec-size=\S+/g, '');

/** Start several sandboxes at once; if one fails, stop the others and fail. */
export async function startSandboxes(opts: Record<string, SandboxOptions>): Promise<Record<string, TestSandbox>> {
  const names = Object.keys(opts);
  const results = await Promise.allSettled(names.map((n) => startSandbox(opts[n])));
  const ok: Record<string, TestSandbox> = {};
  const errors: string[] = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') ok[names[i]] = r.value;
    else errors.push(`${names[i]}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
  });
  if (errors.length > 0) {
    await Promise.allSettled(Object.values(ok).map((s) => s.down()));
    throw new Error(`sandboxes did not come up:\n${errors.join('\n')}`);
  }
  return ok;
}

/** Scale an operator's Deployment and wait until its ready replicas match (0: the operator is stopped). */
export async function scaleOperator(sb: TestSandbox, ns: string, name: string, replicas: number): Promise<void> {
  await k(sb, ['scale', 'deployment', '-n', ns, name, `--replicas=${replicas}`]);
  await eventually(`deployment ${ns}/${name} to have ${replicas} ready`, async () => {
    const d = await kjson(sb, ['get', 'deployment', '-n', ns, name]);
    return Number(o(d.status).readyReplicas ?? 0) === replicas && (replicas > 0 || (await pods(sb, ns, `app.kubernetes.io/name=${name}`)).length === 0);
  }, 60_000);
}
