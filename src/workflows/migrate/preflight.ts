// Preflight of a migration (WORKFLOWS.md): both API servers answer, the destination honours spec.ordinals.start,
// the StorageClass exists on both sides, the Secrets and ConfigMaps the pods need are there or can be copied, the
// StatefulSets' claims survive a scale-down, the destination operator (if any) is installed, and Redis is healthy
// with a replica for every master. Read-only: every check reads, none writes (the ordinals probe is a server dry run).
import { errText } from '../../errors.js';
import type { KubeError } from '../../errors.js';
import { resourcePath, type KubeClient } from '../../kube/client.js';
import type { KubeObject, ResourceRef } from '../../kube/types.js';
import { claimClasses, ensureCreated, RES, type StsShape } from './kube.js';
import { clusterProblems, mastersWithoutReplica, type ExpectedNode, type NodeView } from './plan.js';

export type CheckResult = 'ok' | 'fail' | 'warn' | 'later';

export interface Check {
  check: string;
  result: CheckResult;
  detail: string;
}


interface VersionInfo {
  major?: string;
  minor?: string;
  gitVersion?: string;
}

async function version(kube: KubeClient): Promise<VersionInfo> {
  return kube.request<VersionInfo>({ method: 'GET', path: '/version', call: { verb: 'get', resource: 'version' } });
}

/** Kubernetes minor version, from "27", "27+" or the gitVersion. */
export function minorOf(v: VersionInfo): number | undefined {
  const m = (v.minor ?? '').match(/^(\d+)/) ?? (v.gitVersion ?? '').match(/^v?\d+\.(\d+)/);
  return m ? Number(m[1]) : undefined;
}

/** StatefulSet start ordinals: alpha (gate off by default) in 1.26, beta (on) in 1.27, GA in 1.31. */
export function ordinalsSupport(v: VersionInfo): Check {
  const minor = minorOf(v);
  const shown = v.gitVersion ?? `${v.major}.${v.minor}`;
  if (minor === undefined) return { check: 'ordinals', result: 'warn', detail: `the destination's version "${shown}" could not be read; spec.ordinals.start needs 1.27 or later` };
  if (minor < 26) return { check: 'ordinals', result: 'fail', detail: `the destination runs Kubernetes ${shown}; StatefulSet spec.ordinals.start (KEP-3335) needs 1.26 with the StatefulSetStartOrdinal gate, or 1.27 and later` };
  if (minor === 26) return { check: 'ordinals', result: 'warn', detail: `Kubernetes ${shown}: spec.ordinals.start is alpha; the StatefulSetStartOrdinal feature gate must be on` };
  return { check: 'ordinals', result: 'ok', detail: `Kubernetes ${shown} supports spec.ordinals.start` };
}

export interface PreflightInput {
  from: KubeClient;
  to: KubeClient;
  namespace: string;
  toNamespace: string;
  /** The source StatefulSets, by name. */
  statefulSets: KubeObject[];
  /** The destination StatefulSets as migrate would create them (for the dry-run create probe). */
  destinationSets: KubeObject[];
  /** Secrets and ConfigMaps the pods need. */
  secrets: string[];
  configMaps: string[];
  /** The operator's resource type, when the target has one. */
  ownerResource?: ResourceRef;
  /** Why the operator cannot be paused, when it cannot. */
  pauseProblem?: string;
  /** Continuing a journal: the destination exists by our own doing, and Redis is mid-move. */
  resuming: boolean;
  /** Fresh start only: the views of every pod and what we expect (every ordinal running in the source). */
  redis?: () => Promise<{ views: NodeView[]; unreachable: string[]; expected: ExpectedNode[]; missing: string[] }>;
}

async function apiCheck(name: string, kube: KubeClient): Promise<{ check: Check; version?: VersionInfo }> {
  try {
    const v = await version(kube);
    return { check: { check: name, result: 'ok', detail: `context ${kube.context} (${kube.server}) answers, ${v.gitVersion ?? 'version unknown'}` }, version: v };
  } catch (e) {
    return { check: { check: name, result: 'fail', detail: `context ${kube.context} (${kube.server}): ${errText(e)}` } };
  }
}

function sameData(a: KubeObject | undefined, b: KubeObject | undefined): boolean {
  const pick = (o: KubeObject | undefined) => JSON.stringify([o?.data ?? {}, (o as { binaryData?: unknown } | undefined)?.binaryData ?? {}]);
  return pick(a) === pick(b);
}

async function defaultClass(kube: KubeClient): Promise<KubeObject | undefined> {
  return (await kube.list(RES.storageclasses, undefined)).find((c) => c.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
}

export async function preflight(input: PreflightInput): Promise<Check[]> {
  const checks: Check[] = [];
  const src = await apiCheck('source API', input.from);
  const dst = await apiCheck('destination API', input.to);
  checks.push(src.check, dst.check);
  if (!dst.version) return checks;
  const ordinals = ordinalsSupport(dst.version);
  // A server that accepts the field but drops it (gate off) is caught by a dry-run create.
  const ns = await input.to.get(RES.namespaces, undefined, input.toNamespace);
  if (ordinals.result !== 'fail' && ns && !input.resuming) {
    for (const d of input.destinationSets) {
      if (await input.to.get(RES.statefulsets, input.toNamespace, d.metadata.name)) continue;
      try {
        const probe = { ...d, metadata: { ...d.metadata, ownerReferences: undefined } };
        const { object } = await ensureCreated(input.to, RES.statefulsets, input.toNamespace, probe, { dryRun: true });
        const want = (d.spec as StsShape).ordinals?.start;
        const got = (object.spec as StsShape | undefined)?.ordinals?.start;
        if (got !== want) {
          ordinals.result = 'fail';
          ordinals.detail = `the destination API server dropped spec.ordinals.start from a StatefulSet (dry run): turn on the StatefulSetStartOrdinal feature gate`;
        }
      } catch (e) {
        ordinals.result = 'fail';
        ordinals.detail = `a dry-run create of StatefulSet ${d.metadata.name} in ${input.to.context} failed: ${errText(e)}`;
      }
      break;
    }
  }
  checks.push(ordinals);

  // StorageClass: the same class (by name and provisioner) on both sides, so the copied PV means the same storage.
  const classes = new Set<string>();
  let srcDefault: KubeObject | undefined;
  for (const s of input.statefulSets) {
    for (const c of claimClasses(s)) {
      if (c) classes.add(c);
      else {
        srcDefault ??= await defaultClass(input.from);
        if (srcDefault) classes.add(srcDefault.metadata.name);
        else checks.push({ check: 'storage class', result: 'fail', detail: `StatefulSet ${s.metadata.name} names no StorageClass and ${input.from.context} has no default one` });
      }
    }
  }
  for (const c of classes) {
    const a = await input.from.get(RES.storageclasses, undefined, c);
    const b = await input.to.get(RES.storageclasses, undefined, c);
    const prov = (o: KubeObject | undefined) => String((o as { provisioner?: string } | undefined)?.provisioner ?? '');
    if (!b) checks.push({ check: 'storage class', result: 'fail', detail: `StorageClass ${c} exists in ${input.from.context} but not in ${input.to.context}: create it there with the same provisioner (${prov(a) || 'unknown'})` });
    else if (a && prov(a) !== prov(b)) checks.push({ check: 'storage class', result: 'fail', detail: `StorageClass ${c} uses provisioner ${prov(a)} in ${input.from.context} but ${prov(b)} in ${input.to.context}: the copied volumes would not be the same storage` });
    else checks.push({ check: 'storage class', result: 'ok', detail: `${c} (${prov(b)}) on both sides` });
  }

  for (const s of input.statefulSets) {
    const policy = (s.spec as StsShape | undefined)?.persistentVolumeClaimRetentionPolicy;
    if (policy?.whenScaled === 'Delete') {
      checks.push({ check: 'claims', result: 'fail', detail: `StatefulSet ${s.metadata.name} deletes its claims on scale-down (persistentVolumeClaimRetentionPolicy.whenScaled=Delete): set it to Retain first` });
    }
  }

  const copyCheck = async (res: ResourceRef, kind: string, names: string[]) => {
    for (const name of names) {
      const a = await input.from.get(res, input.namespace, name);
      const b = await input.to.get(res, input.toNamespace, name);
      if (!a) checks.push({ check: kind, result: 'fail', detail: `${kind} ${input.namespace}/${name}, which the pods need, does not exist in ${input.from.context}` });
      else if (!b) checks.push({ check: kind, result: 'ok', detail: `${name}: will be copied` });
      else if (sameData(a, b)) checks.push({ check: kind, result: 'ok', detail: `${name}: present in ${input.to.context} with the same data` });
      else checks.push({ check: kind, result: 'fail', detail: `${kind} ${input.toNamespace}/${name} in ${input.to.context} differs from the one in ${input.from.context}: make them equal (or delete the destination's) first` });
    }
  };
  await copyCheck(RES.secrets, 'Secret', input.secrets);
  await copyCheck(RES.configmaps, 'ConfigMap', input.configMaps);

  if (!input.resuming) {
    for (const d of input.destinationSets) {
      if (await input.to.get(RES.statefulsets, input.toNamespace, d.metadata.name)) {
        checks.push({ check: 'destination', result: 'fail', detail: `StatefulSet ${input.toNamespace}/${d.metadata.name} already exists in ${input.to.context}; migrate creates it (delete it, or move to another --to-namespace)` });
      }
    }
  }

  if (input.ownerResource) {
    try {
      await input.to.request({ method: 'GET', path: resourcePath(input.ownerResource, input.toNamespace), call: { verb: 'list', resource: input.ownerResource.plural } });
      checks.push({ check: 'operator', result: input.pauseProblem ? 'fail' : 'ok', detail: input.pauseProblem ?? `${input.to.context} serves ${input.ownerResource.kind}; its copy is created paused and resumed at the end` });
    } catch (e) {
      const missing = (e as KubeError).statusCode === 404;
      checks.push({ check: 'operator', result: 'fail', detail: missing ? `${input.to.context} does not serve ${input.ownerResource.kind} (${input.ownerResource.group}): install the operator there first` : errText(e) });
    }
  }

  if (input.redis) {
    try {
      const r = await input.redis();
      const problems = [
        ...r.missing.map((p) => `${p} is not running`),
        ...r.unreachable,
        ...clusterProblems(r.views, r.expected),
        ...r.views.flatMap((v) => (v.entries.find((e) => e.myself) ? mastersWithoutReplica(v.entries).map((id) => `${v.pod} sees master ${id.slice(0, 8)} without a replica: moving it would take its slots down`) : [])).slice(0, 1),
      ];
      checks.push(problems.length === 0
        ? { check: 'redis', result: 'ok', detail: `${r.views.length} nodes agree, every slot covered, every master has a replica` }
        : { check: 'redis', result: 'fail', detail: `${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}: run kubectl redis heal first` });
    } catch (e) {
      checks.push({ check: 'redis', result: 'fail', detail: errText(e) });
    }
    checks.push({ check: 'network', result: 'later', detail: `proved when the first moved pod replicates from its master in ${input.from.context} (a flat network between the clusters is needed)` });
  }
  return checks;
}
