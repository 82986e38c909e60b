// `report`: one zip with what a person needs to debug a Redis on Kubernetes, the way CloudNativePG's
// `kubectl cnpg report` does for PostgreSQL. Read-only: it lists and gets objects, opens port-forwards (or --direct)
// and asks each Redis and sentinel read-only commands. Nothing that fails stops it: each part that could not be
// collected is in manifest.json with the sentence why (and the permission a 403 named). Secrets stay out (redact.ts).
import { stringify } from 'yaml';
import { UsageError } from '../../errors.js';
import type { Permission } from '../../kube/access.js';
import type { KubeClient } from '../../kube/client.js';
import { resourceName } from '../../kube/client.js';
import { RES } from '../../kube/resources.js';
import { matchesLabelSelector, type LabelSelector } from '../../kube/selector.js';
import type { KubeObject, ResourceRef } from '../../kube/types.js';
import { TargetSession } from '../../reconcile/session.js';
import type { RedisNode } from '../../redis/connect.js';
import { ADAPTERS, adapterOf, resolveTarget, type Target } from '../../targets/index.js';
import { detectOperator } from '../../targets/common.js';
import { formatDuration } from '../../util/duration.js';
import { mapPool } from '../../util/pool.js';
import { collectReports } from '../status/report.js';
import { statusDocument } from '../status/report.js';
import { Archive, type Part } from './archive.js';
import { defaultOutputName, openOutput } from './output.js';
import { configPairs, redactAclRules, redactConfig, redactObject } from './redact.js';
import type { ConnectOverrides } from '../../reconcile/session.js';

export type { Part } from './archive.js';

/** What report tells while it works (the command passes its Progress). */
export interface ReportProgress {
  step(index: number, total: number, title: string): void;
  info(message: string): void;
  warn(message: string): void;
}

export interface ReportOptions {
  /** The target as typed; undefined with `operator`. */
  target?: string;
  /** Report on the operators alone. */
  operator: boolean;
  namespace: string;
  outputFile?: string;
  force: boolean;
  logs: boolean;
  /** --since, for logs. */
  sinceMs: number;
  direct: boolean;
  connect?: ConnectOverrides;
  /** One Redis command (and connect) gives up after this long. */
  timeoutMs: number;
  /** kubectl-redis's own version. */
  version: string;
  /** The command line, for the manifest (it never holds a secret: passwords come from Secrets). */
  command: string;
  progress?: ReportProgress;
  now?: () => Date;
  cwd?: string;
}

export interface Manifest {
  apiVersion: 'redis.kubectl.io/v1alpha1';
  kind: 'Report';
  createdAt: string;
  command: string;
  kubectlRedis: { version: string };
  kubernetes: { context: string; server: string; version?: string; platform?: string; error?: string };
  targets: Array<{ ref: string; kind: string; name: string; namespace: string; system: string; topology: string; redisVersions: Record<string, string> }>;
  operators: Array<{ deployment: string; image?: string; version?: string; running: boolean }>;
  options: { logs: boolean; since?: string; direct: boolean; timeoutMs: number };
  summary: { collected: number; failed: number; skipped: number };
  redaction: { secretsRead: string[]; valuesScrubbed: number; configKeysRedacted: string[]; note: string };
  parts: Part[];
}

export interface ReportResult {
  path: string;
  bytes: number;
  manifest: Manifest;
}

const LOG_LIMIT_BYTES = 16 * 1024 * 1024;

const perm = (verb: string, res: ResourceRef, namespace?: string, subresource?: string): Permission => ({
  verb, group: res.group, resource: res.plural, subresource, namespace: res.namespaced ? namespace : undefined,
});

interface ContainerShape {
  name: string;
  env?: Array<{ valueFrom?: { secretKeyRef?: { name?: string }; configMapKeyRef?: { name?: string } } }>;
  envFrom?: Array<{ secretRef?: { name?: string }; configMapRef?: { name?: string } }>;
}

interface PodShape {
  metadata: KubeObject['metadata'];
  spec?: {
    containers?: ContainerShape[];
    initContainers?: ContainerShape[];
    volumes?: Array<{
      secret?: { secretName?: string };
      configMap?: { name?: string };
      persistentVolumeClaim?: { claimName?: string };
      projected?: { sources?: Array<{ secret?: { name?: string }; configMap?: { name?: string } }> };
    }>;
    imagePullSecrets?: Array<{ name?: string }>;
  };
  status?: { phase?: string; podIP?: string };
}

/** The Secrets, ConfigMaps and PVCs a pod (or pod template) refers to. */
export function podReferences(pods: KubeObject[]): { secrets: Set<string>; configMaps: Set<string>; pvcs: Set<string> } {
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  const pvcs = new Set<string>();
  const add = (set: Set<string>, v: string | undefined) => v && set.add(v);
  for (const o of pods) {
    const s = (o as unknown as PodShape).spec;
    for (const c of [...(s?.containers ?? []), ...(s?.initContainers ?? [])]) {
      for (const e of c.env ?? []) {
        add(secrets, e.valueFrom?.secretKeyRef?.name);
        add(configMaps, e.valueFrom?.configMapKeyRef?.name);
      }
      for (const e of c.envFrom ?? []) {
        add(secrets, e.secretRef?.name);
        add(configMaps, e.configMapRef?.name);
      }
    }
    for (const v of s?.volumes ?? []) {
      add(secrets, v.secret?.secretName);
      add(configMaps, v.configMap?.name);
      add(pvcs, v.persistentVolumeClaim?.claimName);
      for (const src of v.projected?.sources ?? []) {
        add(secrets, src.secret?.name);
        add(configMaps, src.configMap?.name);
      }
    }
    for (const p of s?.imagePullSecrets ?? []) add(secrets, p.name);
  }
  return { secrets, configMaps, pvcs };
}

const yaml = (o: unknown): string => stringify(o, { lineWidth: 0 });
const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_');
const objectPath = (o: KubeObject, ns: string): string => `objects/${ns}/${o.kind ?? 'Object'}/${safe(o.metadata.name)}.yaml`;
const text = (v: unknown): string => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : JSON.stringify(v, null, 2));
const json = (v: unknown): string => `${JSON.stringify(v, (_k, x: unknown) => (Buffer.isBuffer(x) ? x.toString('utf8') : x), 2)}\n`;
const unanswered = (e: unknown): boolean => /did not answer|timed out|was lost|closed the plain-text connection/i.test(e instanceof Error ? e.message : String(e));

/** The parts of one report, and what they need to know about each other. */
class Collector {
  readonly archive = new Archive();
  readonly targets: Manifest['targets'] = [];
  readonly operators = new Map<string, Manifest['operators'][number]>();
  readonly secretsRead = new Set<string>();
  readonly configKeysRedacted = new Set<string>();
  /** uid and kind/name of every object collected, per namespace, for its Events. */
  private readonly involved = new Map<string, Set<string>>();
  /** pods whose logs --logs collects: namespace/name -> containers */
  readonly logPods = new Map<string, { namespace: string; name: string; containers: string[] }>();

  constructor(
    readonly kube: KubeClient,
    readonly opts: ReportOptions,
  ) {}

  info(m: string): void {
    this.opts.progress?.info(m);
  }

  private remember(o: KubeObject, ns: string): void {
    let set = this.involved.get(ns);
    if (!set) this.involved.set(ns, (set = new Set()));
    if (o.metadata.uid) set.add(o.metadata.uid);
    set.add(`${o.kind}/${o.metadata.name}`);
  }

  /** One object as redacted YAML. */
  object(o: KubeObject, ns: string): void {
    const path = objectPath(o, ns);
    this.remember(o, ns);
    if (this.archive.has(path)) return;
    this.archive.add(path, `${o.kind} ${ns}/${o.metadata.name}`, yaml(redactObject(o)));
  }

  async get(res: ResourceRef, ns: string, name: string): Promise<KubeObject | undefined> {
    const path = `objects/${ns}/${res.kind}/${safe(name)}.yaml`;
    if (this.archive.has(path)) return undefined;
    try {
      const o = await this.kube.get(res, ns, name);
      if (!o) {
        this.archive.skip(path, `${res.kind} ${ns}/${name}`, `${resourceName(res)} "${name}" does not exist in namespace "${ns}" (it is referenced)`);
        return undefined;
      }
      const full = { apiVersion: res.group ? `${res.group}/${res.version}` : res.version, kind: res.kind, ...o };
      this.object(full, ns);
      return full;
    } catch (e) {
      this.archive.fail(path, `${res.kind} ${ns}/${name}`, e, perm('get', res, ns));
      return undefined;
    }
  }

  async list(res: ResourceRef, ns: string, labelSelector?: string): Promise<KubeObject[] | undefined> {
    try {
      return await this.kube.list(res, ns, labelSelector ? { labelSelector } : {});
    } catch (e) {
      this.archive.fail(`objects/${ns}/${res.kind}/`, `${resourceName(res)} in namespace ${ns}${labelSelector ? ` (${labelSelector})` : ''}`, e, perm('list', res, ns));
      return undefined;
    }
  }

  /** A Secret: its values are remembered for scrubbing, the object goes in without them. */
  async secret(ns: string, name: string): Promise<void> {
    const o = await this.get(RES.secrets, ns, name);
    if (!o) return;
    this.secretsRead.add(`${ns}/${name}`);
    const data = (o.data ?? {}) as Record<string, string>;
    for (const v of Object.values(data)) {
      this.archive.secret(v);
      this.archive.secret(Buffer.from(v, 'base64').toString('utf8'));
    }
    for (const v of Object.values((o as { stringData?: Record<string, string> }).stringData ?? {})) this.archive.secret(v);
  }

  /** Pods, and what they reference: Secrets (values removed), ConfigMaps, PVCs; their containers for --logs. */
  async pods(ns: string, pods: KubeObject[]): Promise<void> {
    for (const p of pods) {
      this.object(p, ns);
      const containers = ((p as unknown as PodShape).spec?.containers ?? []).map((c) => c.name);
      this.logPods.set(`${ns}/${p.metadata.name}`, { namespace: ns, name: p.metadata.name, containers });
    }
    const refs = podReferences(pods);
    for (const s of [...refs.secrets].sort()) await this.secret(ns, s);
    for (const c of [...refs.configMaps].sort()) await this.get(RES.configmaps, ns, c);
    for (const c of [...refs.pvcs].sort()) await this.get(RES.pvcs, ns, c);
  }

  /** Events about anything collected in `ns`, oldest first. */
  async events(): Promise<void> {
    for (const [ns, involved] of this.involved) {
      const path = `events/${ns}.yaml`;
      try {
        const all = await this.kube.list(RES.events, ns);
        const mine = all
          .filter((e) => {
            const io = (e as { involvedObject?: { uid?: string; kind?: string; name?: string } }).involvedObject ?? {};
            return (io.uid !== undefined && involved.has(io.uid)) || involved.has(`${io.kind}/${io.name}`);
          })
          .map((e) => redactObject(e))
          .sort((a, b) => String(eventTime(a)).localeCompare(String(eventTime(b))));
        this.archive.add(path, `Events in namespace ${ns} about the objects collected (${mine.length})`, yaml(mine));
      } catch (e) {
        this.archive.fail(path, `Events in namespace ${ns}`, e, perm('list', RES.events, ns));
      }
    }
  }

  /** The operator's Deployment and pods (and, with --logs, their logs later). */
  async operator(deployment: string, info: { image?: string; version?: string; running: boolean }): Promise<void> {
    if (this.operators.has(deployment)) return;
    this.operators.set(deployment, { deployment, ...info });
    const [ns, name] = deployment.split('/');
    const d = await this.get(RES.deployments, ns, name);
    const sel = (d?.spec as { selector?: LabelSelector } | undefined)?.selector;
    if (!d || !sel) return;
    const pods = await this.list(RES.pods, ns);
    if (pods) await this.pods(ns, pods.filter((p) => matchesLabelSelector(sel, p.metadata.labels)));
  }

  async logs(): Promise<void> {
    const since = Math.max(1, Math.ceil(this.opts.sinceMs / 1000));
    const jobs = [...this.logPods.values()].flatMap((p) => p.containers.map((c) => ({ ...p, container: c })));
    await mapPool(jobs, 4, async (j) => {
      const path = `logs/${j.namespace}/${safe(j.name)}/${safe(j.container)}.log`;
      const ok = await this.archive.collect(
        path,
        `log of container ${j.container} of pod ${j.namespace}/${j.name} (last ${formatDuration(this.opts.sinceMs)})`,
        async () => text(await this.kube.call({ verb: 'get', resource: 'pods/log', namespace: j.namespace, name: j.name }, () =>
          this.kube.core.readNamespacedPodLog({ name: j.name, namespace: j.namespace, container: j.container, sinceSeconds: since, limitBytes: LOG_LIMIT_BYTES }))),
        { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: j.namespace },
      );
      if (ok) this.info(`log of ${j.namespace}/${j.name} ${j.container}`);
    });
  }
}

function eventTime(e: KubeObject): unknown {
  const x = e as { lastTimestamp?: string; eventTime?: string; firstTimestamp?: string; metadata: { creationTimestamp?: unknown } };
  return x.lastTimestamp ?? x.eventTime ?? x.firstTimestamp ?? x.metadata.creationTimestamp ?? '';
}

/** Deployments in the namespace whose selector matches one of these pods (spotahome's sentinels). */
function owningDeployments(deployments: KubeObject[], pods: KubeObject[]): KubeObject[] {
  return deployments.filter((d) => {
    const sel = (d.spec as { selector?: LabelSelector } | undefined)?.selector;
    return sel && pods.some((p) => matchesLabelSelector(sel, p.metadata.labels));
  });
}

/** Services that select one of these pods, or are owned by one of these objects. */
function relatedServices(services: KubeObject[], pods: KubeObject[], owners: Set<string>): KubeObject[] {
  return services.filter((s) => {
    const sel = (s.spec as { selector?: Record<string, string> } | undefined)?.selector;
    const selects = sel && Object.keys(sel).length > 0 && pods.some((p) => matchesLabelSelector({ matchLabels: sel }, p.metadata.labels));
    return selects || (s.metadata.ownerReferences ?? []).some((r) => owners.has(r.uid));
  });
}

async function redisParts(c: Collector, session: TargetSession | undefined, sessionError: unknown, target: Target, pod: KubeObject, versions: Record<string, string>): Promise<void> {
  const name = pod.metadata.name;
  const dir = `redis/${target.namespace}/${safe(name)}`;
  const cluster = target.topology === 'cluster';
  type Cmd = { file: string; what: string; run: (n: RedisNode) => Promise<string>; only?: boolean };
  const cmds: Cmd[] = [
    { file: 'cluster-nodes.txt', what: 'CLUSTER NODES', only: cluster, run: async (n) => text(await n.call('CLUSTER', 'NODES')) },
    { file: 'cluster-info.txt', what: 'CLUSTER INFO', only: cluster, run: async (n) => text(await n.call('CLUSTER', 'INFO')) },
    {
      file: 'info.txt', what: 'INFO all', run: async (n) => {
        const t = text(await n.call('INFO', 'all'));
        const v = t.match(/^redis_version:(\S+)/m)?.[1];
        if (v) versions[name] = v;
        return t;
      },
    },
    { file: 'role.json', what: 'ROLE', run: async (n) => json(await n.call('ROLE')) },
    {
      file: 'config.json', what: 'CONFIG GET *', run: async (n) => {
        const { config, redacted } = redactConfig(configPairs(await n.call('CONFIG', 'GET', '*')));
        for (const k of redacted) c.configKeysRedacted.add(k);
        return json(config);
      },
    },
    { file: 'slowlog.json', what: 'SLOWLOG GET 32', run: async (n) => json(await n.call('SLOWLOG', 'GET', 32)) },
    { file: 'latency.json', what: 'LATENCY LATEST', run: async (n) => json(await n.call('LATENCY', 'LATEST')) },
    { file: 'acl-list.txt', what: 'ACL LIST', run: async (n) => `${(await n.call('ACL', 'LIST') as unknown[]).map((l) => redactAclRules(text(l))).join('\n')}\n` },
  ];
  await nodeParts(c, dir, name, cmds, async () => {
    if (!session) throw sessionError;
    return session.connect(name, 'redis');
  }, pod, cluster ? undefined : `not a Redis Cluster (topology ${target.topology})`);
}

async function sentinelParts(c: Collector, session: TargetSession | undefined, sessionError: unknown, target: Target, pod: KubeObject): Promise<void> {
  const name = pod.metadata.name;
  const dir = `sentinel/${target.namespace}/${safe(name)}`;
  let masters: string[] = [];
  const each = async (n: RedisNode, sub: 'REPLICAS' | 'SENTINELS'): Promise<string> => {
    const out: Record<string, unknown> = {};
    for (const m of masters) out[m] = sub === 'REPLICAS' ? await n.sentinelReplicas(m) : await n.sentinelSentinels(m);
    return json(out);
  };
  await nodeParts(c, dir, name, [
    {
      file: 'sentinel-masters.json', what: 'SENTINEL MASTERS', run: async (n) => {
        const list = await n.sentinelMasters();
        masters = list.map((m) => m.name).filter((m): m is string => Boolean(m));
        return json(list);
      },
    },
    { file: 'sentinel-replicas.json', what: 'SENTINEL REPLICAS', run: (n) => each(n, 'REPLICAS') },
    { file: 'sentinel-sentinels.json', what: 'SENTINEL SENTINELS', run: (n) => each(n, 'SENTINELS') },
  ], async () => {
    if (!session) throw sessionError;
    return session.connect(name, 'sentinel');
  }, pod, undefined);
}

/**
 * One node's commands, in order. A node that cannot be reached fails every part with that one sentence; a node
 * that stops answering midway fails the rest without waiting out each timeout again.
 */
async function nodeParts(
  c: Collector, dir: string, pod: string,
  cmds: Array<{ file: string; what: string; run: (n: RedisNode) => Promise<string>; only?: boolean }>,
  connect: () => Promise<RedisNode>, podObject: KubeObject, notCluster: string | undefined,
): Promise<void> {
  const st = (podObject as unknown as PodShape).status;
  let gone: string | undefined = !st?.podIP || st.phase !== 'Running' ? `pod ${pod} is ${podObject.metadata.deletionTimestamp ? 'terminating' : (st?.phase ?? 'Unknown')}${st?.podIP ? '' : ' and has no IP'}` : undefined;
  let node: RedisNode | undefined;
  if (!gone) {
    try {
      node = await connect();
    } catch (e) {
      gone = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    }
  }
  let ok = 0;
  for (const cmd of cmds) {
    const path = `${dir}/${cmd.file}`;
    const what = `${cmd.what} of ${pod}`;
    if (cmd.only === false) {
      c.archive.skip(path, what, notCluster ?? 'not asked');
      continue;
    }
    if (gone || !node) {
      c.archive.fail(path, what, new Error(gone ?? 'not connected'));
      continue;
    }
    try {
      c.archive.add(path, what, await cmd.run(node));
      ok++;
    } catch (e) {
      const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
      // an older Redis (ACL before 6) or a command renamed away (rename-command CONFIG ""): a fact, not a failure
      if (/ERR unknown (sub)?command/i.test(msg)) {
        c.archive.skip(path, what, `${msg} (this Redis is too old for it, or rename-command renamed or disabled it)`);
        continue;
      }
      c.archive.fail(path, what, e);
      if (unanswered(e)) gone = `not asked: ${pod} stopped answering (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`;
    }
  }
  if (gone && ok === 0) c.opts.progress?.warn(`${pod}: ${gone}`);
  else c.info(`${pod}: ${ok} command${ok === 1 ? '' : 's'} answered`);
}

async function kubernetesVersion(kube: KubeClient): Promise<Manifest['kubernetes']> {
  const base = { context: kube.context, server: kube.server };
  try {
    const v = await kube.request<{ gitVersion?: string; platform?: string }>({ method: 'GET', path: '/version', call: { verb: 'get', resource: '/version' } });
    return { ...base, version: v?.gitVersion, platform: v?.platform };
  } catch (e) {
    return { ...base, error: (e instanceof Error ? e.message : String(e)).split('\n')[0] };
  }
}

async function reportTarget(c: Collector, target: Target): Promise<void> {
  const { kube, opts } = c;
  const ns = target.namespace;
  const progress = opts.progress;
  const total = opts.logs ? 5 : 4;
  const versions: Record<string, string> = {};
  c.targets.push({ ref: target.ref, kind: target.kind, name: target.name, namespace: ns, system: target.system, topology: target.topology, redisVersions: versions });

  progress?.step(1, total, `Kubernetes objects of ${target.ref} in namespace ${ns}`);
  c.object(target.object, ns);
  for (const s of target.statefulSets) await c.get(RES.statefulsets, ns, s);
  const redisPods = (await c.list(RES.pods, ns, target.redisSelector)) ?? [];
  const sentinelPods = target.sentinelSelector ? ((await c.list(RES.pods, ns, target.sentinelSelector)) ?? []) : target.sentinelInRedisPods ? redisPods : [];
  const pods = [...redisPods, ...(target.sentinelSelector ? sentinelPods : [])];
  await c.pods(ns, pods);
  if (target.passwordSecret) await c.secret(ns, target.passwordSecret.name);
  if (target.tlsSecret) await c.secret(ns, target.tlsSecret.name);
  const deployments = await c.list(RES.deployments, ns);
  for (const d of owningDeployments(deployments ?? [], pods)) c.object({ apiVersion: 'apps/v1', kind: 'Deployment', ...d }, ns);
  const owners = new Set([target.object.metadata.uid, ...pods.map((p) => p.metadata.uid)].filter((u): u is string => Boolean(u)));
  const services = await c.list(RES.services, ns);
  for (const s of relatedServices(services ?? [], pods, owners)) c.object({ apiVersion: 'v1', kind: 'Service', ...s }, ns);
  if (target.pdbNames.length > 0) {
    const pdbs = await c.list(RES.pdbs, ns);
    for (const p of (pdbs ?? []).filter((x) => target.pdbNames.includes(x.metadata.name))) c.object({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', ...p }, ns);
  }
  const operator = await detectOperator(kube, adapterOf(target));
  if (operator.deployment) await c.operator(operator.deployment, { image: operator.image, version: operator.version, running: operator.running });
  c.info(`${pods.length} pods, ${c.archive.parts.filter((p) => p.status === 'collected').length} objects`);

  progress?.step(2, total, `status of ${target.ref}`);
  const [report] = await collectReports(kube, [target], { direct: opts.direct, connect: opts.connect, timeoutMs: opts.timeoutMs });
  c.archive.add('status.json', `kubectl redis status ${target.ref} -n ${ns} -o json`, json(statusDocument([report])));
  if (report.error) c.opts.progress?.warn(`status: ${report.error}`);
  else c.info(`health ${report.health}, ${report.findings.length} finding${report.findings.length === 1 ? '' : 's'}`);

  progress?.step(3, total, `ask every Redis node${sentinelPods.length ? ' and sentinel' : ''}`);
  let session: TargetSession | undefined;
  let sessionError: unknown;
  try {
    session = await TargetSession.open(kube, target, { direct: opts.direct, connect: opts.connect, timeoutMs: opts.timeoutMs });
    const spec = session.ctx.observeInput.spec;
    c.archive.secret(spec.auth?.password);
    c.archive.secret(spec.sentinelAuth?.password);
  } catch (e) {
    sessionError = e;
    progress?.warn(`cannot reach Redis: ${(e as Error).message}`);
  }
  try {
    await mapPool(redisPods, 4, (p) => redisParts(c, session, sessionError, target, p, versions));
    await mapPool(sentinelPods, 4, (p) => sentinelParts(c, session, sessionError, target, p));
  } finally {
    await session?.close();
  }

  progress?.step(4, total, 'Events');
  await c.events();

  if (opts.logs) {
    progress?.step(5, total, `container logs of the last ${formatDuration(opts.sinceMs)}`);
    await c.logs();
  }
}

async function reportOperators(c: Collector): Promise<void> {
  const progress = c.opts.progress;
  const total = c.opts.logs ? 3 : 2;
  progress?.step(1, total, 'operator Deployments');
  const seen = new Set<string>();
  for (const a of ADAPTERS) {
    if (a.operatorImages.length === 0) continue;
    const op = await detectOperator(c.kube, a);
    if (!op.deployment || seen.has(op.deployment)) continue;
    seen.add(op.deployment);
    c.info(`${op.deployment} (${op.image ?? 'unknown image'})`);
    await c.operator(op.deployment, { image: op.image, version: op.version, running: op.running });
  }
  if (seen.size === 0) {
    c.archive.skip('objects/', 'operator Deployments', 'no Deployment runs an image of a supported operator (or Deployments cannot be listed in every namespace)');
    progress?.warn('no operator Deployment found');
  }
  progress?.step(2, total, 'Events');
  await c.events();
  if (c.opts.logs) {
    progress?.step(3, total, `container logs of the last ${formatDuration(c.opts.sinceMs)}`);
    await c.logs();
  }
}

/** Collects the report and writes the archive; resolves its path, size and manifest. */
export async function report(kube: KubeClient, opts: ReportOptions): Promise<ReportResult> {
  const now = opts.now ?? (() => new Date());
  const started = now();
  if (opts.operator && opts.target) throw new UsageError('--operator reports on the operators alone: drop TARGET, or drop --operator to report on the target (its operator included)');
  if (!opts.operator && !opts.target) throw new UsageError('name a target (such as rediscluster/orders), or give --operator');
  const target = opts.target ? await resolveTarget(kube, opts.target, opts.namespace) : undefined;
  const label = target ? `${target.namespace}-${target.ref}` : 'operators';
  const out = openOutput(opts.outputFile ?? defaultOutputName(label, started), opts.force, opts.cwd);
  try {
    const c = new Collector(kube, opts);
    const kubernetes = await kubernetesVersion(kube);
    if (target) await reportTarget(c, target);
    else await reportOperators(c);
    const built = c.archive.build((parts, scrubbed): Manifest => ({
        apiVersion: 'redis.kubectl.io/v1alpha1', kind: 'Report', createdAt: started.toISOString(), command: opts.command,
        kubectlRedis: { version: opts.version }, kubernetes, targets: c.targets, operators: [...c.operators.values()],
        options: { logs: opts.logs, since: opts.logs ? formatDuration(opts.sinceMs) : undefined, direct: opts.direct, timeoutMs: opts.timeoutMs },
        summary: { collected: parts.filter((p) => p.status === 'collected').length, failed: parts.filter((p) => p.status === 'failed').length, skipped: parts.filter((p) => p.status === 'skipped').length },
        redaction: {
          secretsRead: [...c.secretsRead].sort(), valuesScrubbed: scrubbed, configKeysRedacted: [...c.configKeysRedacted].sort(),
          note: 'Secret values, credential config options and env vars, and ACL passwords are replaced by "(redacted)"; every text was also scrubbed of the values of the Secrets read.',
        },
        parts: [...parts.filter((p) => p.status !== 'collected'), ...parts.filter((p) => p.status === 'collected')],
    }), now());
    out.commit(built.zip);
    return { path: out.path, bytes: built.zip.length, manifest: built.manifest as Manifest };
  } catch (e) {
    out.abandon();
    throw e;
  }
}
