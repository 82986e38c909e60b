// Every adapter, and the two ways commands find targets: all of them in a scope (status), or one named the way
// kubectl names things (`rediscluster/orders`, `rf/sessions`, `sts/cache`, or a bare name when unambiguous).
import { KubeError, NotFoundError, UsageError } from '../errors.js';
import type { KubeReader } from '../kube/types.js';
import { pauseState, type PauseFact, type PauseMechanism } from './pause.js';
import { bitnamiCluster, bitnamiReplication, bitnamiSentinel } from './bitnami.js';
import { AUDIT_KEYS, detectOperator } from './common.js';
import { otRedis, otRedisCluster, otRedisReplication, otRedisSentinel } from './ot.js';
import { FRESHWORKS_IMAGES, spotahomeFailover } from './spotahome.js';
import type { OperatorInfo, Target, TargetAdapter } from './types.js';
import { ucloudDrc } from './ucloud.js';
import { RES } from '../kube/resources.js';

export type { Target, TargetAdapter, OperatorInfo } from './types.js';
export { AUDIT_KEYS } from './common.js';

export const ADAPTERS: TargetAdapter[] = [otRedis, otRedisCluster, otRedisReplication, otRedisSentinel, spotahomeFailover, ucloudDrc, bitnamiCluster, bitnamiSentinel, bitnamiReplication];

const SECRETS = RES.secrets;

export function adapterOf(target: Target): TargetAdapter {
  const system = target.system === 'freshworks' ? 'spotahome' : target.system;
  const candidates = ADAPTERS.filter((a) => a.system === system && a.kind === target.kind);
  // The Bitnami adapters are all StatefulSets: the topology tells them apart.
  const bitnami = { sentinel: bitnamiSentinel, cluster: bitnamiCluster, replication: bitnamiReplication, standalone: bitnamiReplication };
  const a = candidates.length > 1 ? bitnami[target.topology] : candidates[0];
  if (!a) throw new Error(`no adapter for ${target.ref}`);
  return a;
}

/** Every target in a namespace (or all namespaces), sorted by namespace then ref. */
export async function discoverAll(reader: KubeReader, namespace: string | undefined): Promise<Target[]> {
  const found = (await Promise.all(ADAPTERS.map((a) => a.discover(reader, namespace)))).flat();
  return found.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.ref.localeCompare(b.ref));
}

const KNOWN_KINDS = 'redis, rediscluster, redisreplication, redissentinel, rf (redisfailover), drc (distributedrediscluster), sts (Bitnami redis-cluster / redis)';
const named = (t: Target, name: string): boolean => t.name === name || (t.otherNames?.includes(name) ?? false);

/** Resolve what the user typed to exactly one target, or say in one sentence why not. */
export async function resolveTarget(reader: KubeReader, spec: string, namespace: string): Promise<Target> {
  const slash = spec.indexOf('/');
  if (slash >= 0) {
    const kind = spec.slice(0, slash).toLowerCase();
    const name = spec.slice(slash + 1);
    const adapters = ADAPTERS.filter((a) => a.aliases.includes(kind));
    if (adapters.length === 0) throw new UsageError(`unknown kind "${kind}" in "${spec}": use one of ${KNOWN_KINDS}`);
    if (!name) throw new UsageError(`"${spec}" names no object: use ${kind}/NAME`);
    const matches = (await Promise.all(adapters.map((a) => a.discover(reader, namespace)))).flat().filter((t) => named(t, name));
    if (matches.length === 0) {
      throw new NotFoundError(`${kind} "${name}" not found in namespace "${namespace}"`, { hint: `run kubectl redis status -n ${namespace} to list the Redis targets there` });
    }
    return matches[0];
  }
  const matches = (await discoverAll(reader, namespace)).filter((t) => named(t, spec));
  if (matches.length === 0) {
    throw new NotFoundError(`no Redis target named "${spec}" in namespace "${namespace}"`, { hint: `run kubectl redis status -n ${namespace} to list the Redis targets there` });
  }
  if (matches.length > 1) throw new UsageError(`"${spec}" is ambiguous in namespace "${namespace}": name one of ${matches.map((t) => t.ref).join(', ')}`);
  return matches[0];
}

/** Which operator runs a target, how it pauses the target, and whether the target is paused now. */
export interface TargetOperator {
  operator: OperatorInfo;
  mechanism: PauseMechanism;
  pause: PauseFact;
}

export async function targetOperator(reader: KubeReader, target: Target): Promise<TargetOperator> {
  const adapter = adapterOf(target);
  const operator = await detectOperator(reader, adapter);
  if (target.system === 'spotahome' && operator.image && FRESHWORKS_IMAGES.some((re) => re.test(operator.image ?? ''))) target.system = 'freshworks';
  const mechanism = adapter.pauseMechanism(target, operator);
  return { operator, mechanism, pause: pauseState(target.object.metadata.annotations ?? {}, mechanism, AUDIT_KEYS) };
}

/** The secrets a target's Redis is reached with: its password and the CA of its TLS, each with where it came from. */
export interface TargetSecrets {
  password?: string;
  sentinelPassword?: string;
  secretHint?: string;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; caHint: string; certHint?: string };
}

async function secretValue(reader: KubeReader, namespace: string, ref: { name: string; key: string }, owner: string): Promise<string> {
  const s = await reader.get(SECRETS, namespace, ref.name);
  const raw = s?.data?.[ref.key];
  if (raw === undefined) {
    throw new KubeError(`the password of ${owner} should be in Secret ${namespace}/${ref.name} key "${ref.key}", which ${s ? 'has no such key' : 'does not exist'}`, {
      hint: 'check the Secret the operator or chart was given',
    });
  }
  return Buffer.from(raw, 'base64').toString('utf8');
}

export async function targetSecrets(reader: KubeReader, target: Target): Promise<TargetSecrets> {
  const out: TargetSecrets = {};
  // two independent reads: asked at once, not one after the other (a failure is still told in the order they were)
  const passwordP = target.passwordSecret ? secretValue(reader, target.namespace, target.passwordSecret, target.ref) : Promise.resolve(undefined);
  const tlsP = target.tlsSecret ? reader.get(SECRETS, target.namespace, target.tlsSecret.name) : Promise.resolve(undefined);
  const sp = target.sentinelPasswordSecret;
  const same = sp && target.passwordSecret && sp.name === target.passwordSecret.name && sp.key === target.passwordSecret.key;
  const sentinelP = sp && !same ? secretValue(reader, target.namespace, sp, `the sentinels of ${target.ref}`) : passwordP;
  await Promise.allSettled([passwordP, tlsP, sentinelP]);
  if (target.passwordSecret) {
    out.password = await passwordP;
    out.secretHint = `Secret ${target.namespace}/${target.passwordSecret.name} key ${target.passwordSecret.key}`;
  }
  if (sp) out.sentinelPassword = await sentinelP;
  if (target.tlsSecret) {
    const s = await tlsP;
    const t = target.tlsSecret;
    const read = (key: string | undefined) => (key && s?.data?.[key] ? Buffer.from(s.data[key], 'base64') : undefined);
    const where = `Secret ${target.namespace}/${t.name}`;
    out.tls = { ca: read(t.caKey), caHint: `${where} key ${t.caKey}` };
    const cert = read(t.certKey);
    const key = read(t.keyKey);
    if (cert && key) Object.assign(out.tls, { cert, key });
    if (t.certKey && t.keyKey) out.tls.certHint = `${where} keys ${t.certKey} and ${t.keyKey}${cert && key ? '' : `, which ${s ? 'it lacks' : 'does not exist'}`}`;
  }
  return out;
}
