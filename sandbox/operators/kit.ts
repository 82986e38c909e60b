// What every mini operator shares: talking to Redis in pods, writing owned objects (creating what is missing and
// resetting the fields the real operator owns), reading Secrets, role labels, whether the operator's own
// Deployment runs (scaling it to 0 stops the operator, as in life), and the redis-cli style cluster bootstrap.
import { execFile } from 'node:child_process';
import { Redis } from 'ioredis';
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { applyDefaults } from '../apiserver/defaults.js';
import { createIfMissing, isPodReady, isTerminating, mutate, obj, ownerRef, type Obj } from '../controllers/util.js';
import { matchesLabelString } from '../core/selectors.js';

export const CRD_KEY = 'customresourcedefinitions.apiextensions.k8s.io';

export interface Endpoint {
  ip: string;
  port: number;
  password?: string;
  /** TLS with a client certificate; servername is the name the server's certificate carries (it has no IP SANs) */
  tls?: { ca: Buffer; cert: Buffer; key: Buffer; servername: string };
}

/** One command to one Redis, on a fresh connection with short timeouts (operators do few calls per pass). */
export async function redisCall(ep: Endpoint, args: Array<string | number>, timeoutMs = 3000): Promise<unknown> {
  const r = new Redis({
    host: ep.ip, port: ep.port, password: ep.password, lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0, enableOfflineQueue: true, retryStrategy: () => null, enableReadyCheck: false,
    ...(ep.tls ? { tls: { ...ep.tls } } : {}),
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await r.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    r.disconnect();
  }
}

export async function redisText(ep: Endpoint, args: Array<string | number>, timeoutMs?: number): Promise<string> {
  const v = await redisCall(ep, args, timeoutMs);
  return Buffer.isBuffer(v) ? v.toString() : String(v);
}

/** `INFO section` as key/value pairs. */
export async function info(ep: Endpoint, section: string): Promise<Record<string, string>> {
  const text = await redisText(ep, ['INFO', section]);
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `check` until it returns true or the deadline passes (then throw with `what`). */
export async function until(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A Secret's value (decoded), or undefined. */
export function secretValue(ctx: ClusterContext, ns: string, name: string | undefined, key: string): string | undefined {
  if (!name) return undefined;
  const s = ctx.store.get('secrets', ns, name);
  const data = obj(s?.data);
  const v = data[key];
  if (typeof v === 'string') return Buffer.from(v, 'base64').toString();
  const sd = obj(s?.stringData)[key];
  return typeof sd === 'string' ? sd : undefined;
}

/** Pods of a namespace matching a selector string, not terminating, sorted by name. */
export function podsOf(ctx: ClusterContext, ns: string, selector: string): KObject[] {
  return ctx.store
    .list('pods', ns)
    .items.filter((p) => matchesLabelString(selector, p.metadata.labels ?? {}) && !isTerminating(p))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name, undefined, { numeric: true }));
}

export function podIP(p: KObject): string | undefined {
  const ip = obj(p.status).podIP;
  return typeof ip === 'string' && ip ? ip : undefined;
}

export function allReady(pods: KObject[], want: number): boolean {
  return pods.length >= want && pods.every((p) => isPodReady(p) && podIP(p) !== undefined);
}

/** The operator's Deployment is up: the operator acts only then (scale it to 0 and it stops, as a real one does). */
export function operatorRunning(ctx: ClusterContext, ns: string, name: string): { running: boolean; image?: string } {
  const d = ctx.store.get('deployments.apps', ns, name);
  if (!d) return { running: false };
  const spec = obj(d.spec);
  const containers = obj(obj(spec.template).spec).containers;
  const image = Array.isArray(containers) ? String(obj(containers[0]).image ?? '') : undefined;
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const ready = Number(obj(d.status).readyReplicas ?? 0);
  return { running: replicas > 0 && ready > 0, image };
}

/** The version tag of an image ("v0.21.0" of quay.io/opstree/redis-operator:v0.21.0). */
export function imageTag(image: string | undefined): string | undefined {
  const tag = image?.split('@')[0].split('/').pop()?.split(':')[1];
  return tag && /^v?\d/.test(tag) ? tag : undefined;
}

export function versionAtLeast(version: string | undefined, min: string): boolean {
  if (!version) return true;
  const parts = (v: string) => v.replace(/^v/i, '').split(/[-+]/)[0].split('.').map((x) => Number.parseInt(x, 10) || 0);
  const [a, b] = [parts(version), parts(min)];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/**
 * Make an owned object exist; when it does, put back the fields the operator owns (`owned` paths under spec, for
 * example "replicas" or "template"), which is how operators undo spec drift. Returns what changed.
 */
export function ensureObject(ctx: ClusterContext, key: string, desired: KObject, owner: KObject | undefined, owned: string[] = []): 'created' | 'updated' | 'unchanged' {
  const o: KObject = structuredClone(desired);
  if (owner) o.metadata.ownerReferences = [ownerRef(owner)];
  const ns = o.metadata.namespace;
  const cur = ctx.store.get(key, ns, o.metadata.name);
  if (!cur) {
    applyDefaults(key, o, { create: true, defaultStorageClass: defaultStorageClass(ctx) });
    createIfMissing(ctx.store, key, o);
    return 'created';
  }
  if (isTerminating(cur)) return 'unchanged';
  let changed = false;
  mutate(ctx.store, key, ns, o.metadata.name, (c) => {
    const spec = obj(c.spec);
    const want = obj(o.spec);
    for (const path of owned) {
      if (JSON.stringify(spec[path]) !== JSON.stringify(want[path]) && !(path === 'template' && templatesEqual(spec[path], want[path]))) {
        spec[path] = want[path];
        changed = true;
      }
    }
    if (!changed) return false;
    c.spec = spec;
    applyDefaults(key, c, { create: false });
    c.metadata.generation = (c.metadata.generation ?? 1) + 1;
  });
  return changed ? 'updated' : 'unchanged';
}

/** Templates compared on what the operator sets (the API server adds defaults we do not send). */
function templatesEqual(a: unknown, b: unknown): boolean {
  const images = (t: unknown) => {
    const cs = obj(obj(t).spec).containers;
    return Array.isArray(cs) ? cs.map((c) => `${String(obj(c).name)}=${String(obj(c).image)}`).join(',') : '';
  };
  return images(a) === images(b);
}

function defaultStorageClass(ctx: ClusterContext): string | undefined {
  const sc = ctx.store.list('storageclasses.storage.k8s.io').items.find((s) => s.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
  return sc?.metadata.name;
}

/** Set one label on a pod when it differs. */
export function setPodLabel(ctx: ClusterContext, pod: KObject, key: string, value: string): void {
  if (pod.metadata.labels?.[key] === value) return;
  mutate(ctx.store, 'pods', pod.metadata.namespace, pod.metadata.name, (p) => {
    if (p.metadata.labels?.[key] === value) return false;
    p.metadata.labels = { ...(p.metadata.labels ?? {}), [key]: value };
  });
}

/** Replace a custom resource's status (CRDs with a status subresource get it through /status). */
export function setStatus(ctx: ClusterContext, key: string, cr: KObject, status: Obj): void {
  mutate(ctx.store, key, cr.metadata.namespace, cr.metadata.name, (c) => {
    if (JSON.stringify(c.status ?? {}) === JSON.stringify(status)) return false;
    c.status = status;
  });
}

/** A CRD object, served by the API server once stored. */
export function crd(group: string, versions: string[], kind: string, plural: string, shortNames: string[] = [], opts: { status?: boolean; scale?: boolean } = {}): KObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List`, shortNames },
      versions: versions.map((name, i) => ({
        name,
        served: true,
        storage: i === versions.length - 1,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        subresources: opts.status ? { status: {} } : undefined,
      })),
    },
  };
}

export function installCrd(ctx: ClusterContext, c: KObject): void {
  if (!ctx.store.get(CRD_KEY, undefined, c.metadata.name)) createIfMissing(ctx.store, CRD_KEY, c);
}

// ---- Redis Cluster bootstrap, the way `redis-cli --cluster create` / `add-node --cluster-slave` do it ----

export interface NodeView {
  id: string;
  addr: string;
  flags: string[];
  master: string;
  slots: string[];
}

export function parseNodes(text: string): NodeView[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const w = l.split(' ');
      return { id: w[0], addr: w[1]?.split('@')[0] ?? '', flags: (w[2] ?? '').split(','), master: w[3] ?? '-', slots: w.slice(8) };
    });
}

export async function clusterNodes(ep: Endpoint): Promise<NodeView[]> {
  return parseNodes(await redisText(ep, ['CLUSTER', 'NODES']));
}

export async function myId(ep: Endpoint): Promise<string> {
  return (await redisText(ep, ['CLUSTER', 'MYID'])).trim();
}

/** A master serving no slot (a fresh node, or one added but not rebalanced yet). */
export async function isEmptyMaster(ep: Endpoint): Promise<boolean> {
  const me = (await clusterNodes(ep)).find((n) => n.flags.includes('myself'));
  return !!me && me.flags.includes('master') && me.slots.length === 0;
}

/** True when a node has never joined anything: it knows only itself and serves no slot. */
export async function isFresh(ep: Endpoint): Promise<boolean> {
  const nodes = await clusterNodes(ep);
  return nodes.length === 1 && nodes[0].slots.length === 0;
}

/** The slot range of master i of n, as redis-cli splits 16384 slots. */
export function slotRange(i: number, n: number): [number, number] {
  return [Math.floor((i * 16384) / n), Math.floor(((i + 1) * 16384) / n) - 1];
}

/**
 * Form a cluster: distinct config epochs, MEET everyone, wait until all know all, ADDSLOTSRANGE on the masters,
 * REPLICATE for the replicas (replica r of `replicas` follows masters[r.master]), wait for cluster_state:ok.
 */
export async function formCluster(masters: Endpoint[], replicas: Array<{ node: Endpoint; master: number }>, timeoutMs = 60_000): Promise<void> {
  const all = [...masters, ...replicas.map((r) => r.node)];
  for (const [i, m] of all.entries()) {
    try {
      await redisCall(m, ['CLUSTER', 'SET-CONFIG-EPOCH', i + 1]);
    } catch {
      // already set (a retried bootstrap): harmless
    }
  }
  for (const n of all.slice(1)) await redisCall(n, ['CLUSTER', 'MEET', all[0].ip, all[0].port]);
  await until('every node to know every other', timeoutMs, async () => {
    for (const n of all) {
      const v = await clusterNodes(n);
      if (v.length < all.length || v.some((x) => x.flags.includes('handshake') || x.flags.includes('noaddr'))) return false;
    }
    return true;
  });
  for (const [i, m] of masters.entries()) {
    const [a, b] = slotRange(i, masters.length);
    await redisCall(m, ['CLUSTER', 'ADDSLOTSRANGE', a, b]);
  }
  const ids = await Promise.all(masters.map((m) => myId(m)));
  for (const r of replicas) await attachReplica(r.node, ids[r.master], timeoutMs);
  await until('cluster_state:ok on every node', timeoutMs, async () => {
    for (const n of all) if (!(await redisText(n, ['CLUSTER', 'INFO'])).includes('cluster_state:ok')) return false;
    return true;
  });
}

/** CLUSTER REPLICATE once the replica knows the master (gossip may lag a MEET). */
export async function attachReplica(node: Endpoint, masterId: string, timeoutMs = 30_000): Promise<void> {
  await until(`a replica to accept CLUSTER REPLICATE ${masterId.slice(0, 8)}`, timeoutMs, async () => {
    await redisCall(node, ['CLUSTER', 'REPLICATE', masterId]);
    return true;
  }, 300);
}

/**
 * Scale a formed cluster out, as OT's AddRedisNodeToCluster + RebalanceRedisClusterEmptyMasters do: MEET each new
 * (fresh) master into the cluster, then `redis-cli --cluster rebalance --cluster-use-empty-masters` moves slots (and
 * their keys) to them. redis-cli gets the password through REDISCLI_AUTH, never on its command line.
 */
export async function addMasters(existing: Endpoint, fresh: Endpoint[], log: (m: string) => void = () => undefined, timeoutMs = 90_000): Promise<void> {
  if (fresh.length > 0) {
    const isNew = (addr: string) => fresh.some((f) => addr === `${f.ip}:${f.port}`);
    const count = (await clusterNodes(existing)).filter((n) => !isNew(n.addr)).length + fresh.length;
    for (const f of fresh) await redisCall(f, ['CLUSTER', 'MEET', existing.ip, existing.port]);
    // every node must know the new ones first, or SETSLOT MIGRATING <new id> fails on the source ("I don't know about node")
    await until('the new masters to be known by every node', timeoutMs, async () => {
      for (const n of await members(existing)) {
        const v = await clusterNodes(n);
        if (v.length < count || v.some((x) => x.flags.includes('handshake') || x.flags.includes('noaddr'))) return false;
      }
      return true;
    }, 300);
  }
  const at = `${existing.ip}:${existing.port}`;
  for (let attempt = 1; ; attempt++) {
    // a node that just joined answers CLUSTERDOWN (to MIGRATE's RESTORE-ASKING too) until it has seen the slots
    // served: moving slots to it before then fails and leaves the slot open
    await until('cluster_state:ok on every member', timeoutMs, async () => {
      for (const m of await members(existing)) if (!(await redisText(m, ['CLUSTER', 'INFO'])).includes('cluster_state:ok')) return false;
      return true;
    }, 300);
    try {
      // an interrupted migration leaves a slot open: close it as `--cluster fix` does before rebalancing
      if (attempt > 1 || (await hasOpenSlots(existing))) await redisCliCluster(existing, ['fix', at]);
      await redisCliCluster(existing, ['rebalance', at, '--cluster-use-empty-masters']);
      return;
    } catch (e) {
      log(`rebalance (attempt ${attempt}): ${e instanceof Error ? e.message : String(e)}`);
      if (attempt >= 3) throw e;
      await sleep(1000);
    }
  }
}

/** The reachable members of the cluster a node is in (itself included), as endpoints with its password. */
export async function members(ep: Endpoint): Promise<Endpoint[]> {
  return (await clusterNodes(ep))
    .filter((n) => !n.flags.includes('fail') && !n.flags.includes('noaddr') && n.addr.includes(':'))
    .map((n) => {
      const [ip, port] = n.addr.split(':');
      return { ip, port: Number(port), password: ep.password, ...(ep.tls ? { tls: ep.tls } : {}) };
    });
}

/** Slots left open (MIGRATING/IMPORTING) by an interrupted resharding, as CLUSTER NODES shows them on any member. */
export async function hasOpenSlots(ep: Endpoint): Promise<boolean> {
  for (const m of await members(ep)) {
    const view = await clusterNodes(m).catch(() => []); // a member at a stale address: not ours to judge here
    if (view.some((n) => n.flags.includes('myself') && n.slots.some((s) => s.startsWith('[')))) return true;
  }
  return false;
}

/** `redis-cli --cluster <args>` (what operators exec in a pod); rejects with its output when it fails. */
export function redisCliCluster(ep: Endpoint, args: string[], timeoutMs = 120_000): Promise<string> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (ep.password) env.REDISCLI_AUTH = ep.password;
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['--cluster', ...args], { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`;
      if (err || /\[ERR\]/.test(out)) reject(new Error(`redis-cli --cluster ${args[0]} failed: ${out.replace(/\x1b\[[0-9;]*m/g, '').replace(/#+/g, '#').trim().split('\n').slice(-4).join(' | ') || String(err)}`));
      else resolve(out);
    });
  });
}

/** The Redis role of a pod's server ("master" | "slave"), or undefined when it does not answer. */
export async function roleOf(ep: Endpoint): Promise<{ role: string; masterHost?: string } | undefined> {
  try {
    const i = await info(ep, 'replication');
    return { role: i.role, masterHost: i.master_host };
  } catch {
    return undefined;
  }
}
