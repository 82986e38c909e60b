// One way every command reaches a target: its context (operator, pause mechanism, password), observe bound to it,
// and Redis connections by pod (port-forward by default, pod IPs with --direct), all closed by close().
import type { KubeClient } from '../kube/client.js';
import type { KubeReader } from '../kube/types.js';
import { connectPod, directDialer, type RedisNode } from '../redis/connect.js';
import type { PodDialer } from '../redis/types.js';
import { targetOperator, targetSecrets, type OperatorInfo, type Target } from '../targets/index.js';
import type { PauseMechanism } from '../targets/pause.js';
import { tlsFor, type CollectSpec } from './collect.js';
import { observe, type ObserveInput } from './observe.js';
import type { Observed, OperatorFact } from './types.js';
import { RES } from '../kube/resources.js';
import { portForwardPermissions, requirePermissions } from '../kube/access.js';

const PODS = RES.pods;
const STATEFULSETS = RES.statefulsets;
// The DNS domain of the cluster's Services; kubelet's --cluster-domain, which no object of a target says.
const CLUSTER_DOMAIN = 'cluster.local';

/** Everything a command needs to act on a target: its operator, how to pause it, and observe's input. */
export interface TargetContext {
  target: Target;
  operator: OperatorInfo;
  mechanism: PauseMechanism;
  observeInput: ObserveInput;
}

/** What the adapter knows of a target (src/targets), turned into what observe reads. */
/** What the user says about reaching Redis that no object says (flags). */
export interface ConnectOverrides {
  /** --tls-server-name: the one name every pod's certificate is checked against */
  tlsServerName?: string;
  /** --insecure-skip-tls-verify: accept any certificate (warned about by the command) */
  insecureSkipTlsVerify?: boolean;
  /** --redis-user: the ACL user to authenticate as (with the target's password) */
  redisUser?: string;
  /** --redis-password-secret NAME[:KEY]: the Secret (in the target's namespace) that holds the password */
  passwordSecret?: { name: string; key?: string };
}

/**
 * The pods' DNS domain per StatefulSet of the target, `<spec.serviceName>.<ns>.svc.<domain>`, the names their
 * certificates carry. A StatefulSet that cannot be read (RBAC) or has no serviceName is left out: its pods are then
 * checked against the address connected to, and a failure says so.
 */
async function podDomains(reader: KubeReader, target: Target): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  await Promise.all(target.statefulSets.map(async (name) => {
    const sts = await reader.get(STATEFULSETS, target.namespace, name).catch(() => undefined);
    const service = (sts?.spec as { serviceName?: string } | undefined)?.serviceName;
    if (service) out[name] = `${service}.${target.namespace}.svc.${CLUSTER_DOMAIN}`;
  }));
  return out;
}

export async function targetContext(reader: KubeReader, given: Target, opts: ConnectOverrides = {}): Promise<TargetContext> {
  const target: Target = opts.passwordSecret
    ? { ...given, passwordSecret: { name: opts.passwordSecret.name, key: opts.passwordSecret.key ?? given.passwordSecret?.key ?? 'password' } }
    : given;
  // independent reads, asked at once; a failure is still told in the order they were
  const operatorP = targetOperator(reader, target);
  const secretsP = targetSecrets(reader, target);
  const domainsP = target.tlsSecret ? podDomains(reader, target) : Promise.resolve(undefined);
  await Promise.allSettled([operatorP, secretsP, domainsP]);
  const { operator, mechanism, pause } = await operatorP;
  const secrets = await secretsP;
  const domains = await domainsP;
  const spec: CollectSpec = {
    namespace: target.namespace, topology: target.topology, redisSelector: target.redisSelector, sentinelSelector: target.sentinelSelector,
    sentinelInRedisPods: target.sentinelInRedisPods, redisPort: target.redisPort, sentinelPort: target.sentinelPort,
    sentinelMasterName: target.sentinelMasterName, auth: secrets.password !== undefined ? { password: secrets.password, ...(opts.redisUser ? { username: opts.redisUser } : {}) } : undefined, tls: secrets.tls,
    secretHint: secrets.secretHint,
    // spotahome's sentinels run without a password; Bitnami's have the Redis password when the chart says so
    sentinelAuth: secrets.sentinelPassword !== undefined ? { password: secrets.sentinelPassword } : undefined,
  };
  if (domains) spec.podDomains = domains;
  if (opts.tlsServerName && spec.tls) spec.tls = { ...spec.tls, servername: opts.tlsServerName };
  if (opts.insecureSkipTlsVerify && spec.tls) spec.tls = { ...spec.tls, rejectUnauthorized: false };
  const opFact: OperatorFact = { present: operator.present, running: operator.running };
  if (operator.replicas !== undefined) opFact.replicas = operator.replicas;
  if (operator.version !== undefined) opFact.version = operator.version;
  if (operator.deployment !== undefined) opFact.deployment = operator.deployment;
  const observeInput: ObserveInput = {
    fact: { kind: target.kind, name: target.name, namespace: target.namespace, system: target.system, topology: target.topology, expected: target.expected, ref: target.ref },
    spec, roleLabel: target.roleLabel, pdbNames: target.pdbNames, pause, operator: opFact,
    podPlacement: (p) => (p.labels.statefulSet ? { shard: p.labels.statefulSet } : {}),
  };
  return { target, operator, mechanism, observeInput };
}

export interface SessionOptions {
  direct: boolean;
  /** what flags say about reaching Redis that no object says */
  connect?: ConnectOverrides;
  timeoutMs?: number;
  concurrency?: number;
}

export async function podDialer(kube: KubeClient, direct: boolean): Promise<PodDialer> {
  if (direct) {
    return directDialer(async (namespace, pod) => {
      const p = await kube.get(PODS, namespace, pod);
      const ip = (p?.status as { podIP?: string } | undefined)?.podIP;
      if (!ip) throw new Error(`pod ${namespace}/${pod} has no IP`);
      return ip;
    });
  }
  const { PortForwardDialer } = await import('../kube/portforward.js');
  return new PortForwardDialer(kube);
}

export class TargetSession {
  private readonly connections = new Map<string, Promise<RedisNode>>();

  private constructor(
    readonly kube: KubeClient,
    readonly ctx: TargetContext,
    private readonly dialer: PodDialer,
    private readonly opts: Required<SessionOptions>,
  ) {}

  static async open(kube: KubeClient, target: Target, opts: SessionOptions): Promise<TargetSession> {
    const ctx = await targetContext(kube, target, opts.connect);
    // without --direct every Redis connection is a port-forward: a role that cannot open one is named at once
    if (!opts.direct) await requirePermissions(kube, await portForwardPermissions(kube, target.namespace));
    const dialer = await podDialer(kube, opts.direct);
    return new TargetSession(kube, ctx, dialer, { direct: opts.direct, connect: opts.connect ?? {}, timeoutMs: opts.timeoutMs ?? 5000, concurrency: opts.concurrency ?? 64 });
  }

  get target(): Target {
    return this.ctx.target;
  }

  async observe(): Promise<Observed> {
    return observe(this.ctx.observeInput, { reader: this.kube, dialer: this.dialer, timeoutMs: this.opts.timeoutMs, concurrency: this.opts.concurrency, now: () => new Date() });
  }

  /** A cached connection to a pod's Redis, or its sentinel when the pod is a sentinel pod of the last observation. */
  connect(pod: string, component: 'redis' | 'sentinel' = 'redis'): Promise<RedisNode> {
    const key = `${pod}/${component}`;
    let c = this.connections.get(key);
    if (!c) {
      const spec = this.ctx.observeInput.spec;
      c = connectPod({
        namespace: spec.namespace, pod, port: component === 'sentinel' ? spec.sentinelPort : spec.redisPort, dialer: this.dialer,
        auth: component === 'sentinel' ? spec.sentinelAuth : spec.auth, tls: tlsFor(spec, pod), secretHint: spec.secretHint,
        timeoutMs: this.opts.timeoutMs, name: 'kubectl-redis',
      });
      c.catch(() => this.connections.delete(key));
      this.connections.set(key, c);
    }
    return c;
  }

  /** Forget a cached connection (the pod restarted; the next connect opens a new one). */
  async drop(pod: string): Promise<void> {
    for (const key of [...this.connections.keys()].filter((k) => k.startsWith(`${pod}/`))) {
      const c = this.connections.get(key);
      this.connections.delete(key);
      await c?.then((n) => n.quit()).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.then((n) => n.quit()).catch(() => undefined)));
    this.connections.clear();
    await this.dialer.closeAll();
  }
}
