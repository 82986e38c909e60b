// Legacy (JSON) discovery and a minimal OpenAPI v3 index: what kubectl and client-node read before any request.
import { createHash } from 'node:crypto';
import type { Registry, ResourceType } from '../core/registry.js';
import { apiVersionOf } from '../core/registry.js';

/** The Kubernetes minor versions the sandbox can report (`sandbox up --kube-version`), and the default. */
export const KUBE_MINORS = [32, 35] as const;
export const DEFAULT_KUBE_MINOR = 32;

/** GET /version of a cluster reporting 1.`minor`. */
export function serverVersion(minor: number = DEFAULT_KUBE_MINOR): typeof SERVER_VERSION {
  if (minor === 32) return SERVER_VERSION;
  return { ...SERVER_VERSION, minor: String(minor), gitVersion: `v1.${minor}.0-sandbox`, buildDate: '2025-12-17T12:32:00Z', goVersion: 'go1.25.5' };
}

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.4-sandbox',
  gitCommit: '00f20d443ba0cee2e8d2a4e3ad5a1dd0a1ab1d92',
  gitTreeState: 'clean',
  buildDate: '2024-10-22T20:28:14Z',
  goVersion: 'go1.23.8',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function hash(s: string): string {
  return createHash('sha256').update(s).digest('base64').slice(0, 11);
}

interface SubDef {
  kind: string;
  group?: string;
  version?: string;
  verbs: string[];
}

function subresourceDef(t: ResourceType, sub: string): SubDef {
  switch (sub) {
    case 'status':
      return { kind: t.kind, verbs: ['get', 'patch', 'update'] };
    case 'scale':
      return { kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] };
    case 'eviction':
      return { kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] };
    case 'portforward':
      return { kind: 'PodPortForwardOptions', verbs: ['create', 'get'] };
    case 'exec':
      return { kind: 'PodExecOptions', verbs: ['create', 'get'] };
    case 'log':
      return { kind: t.kind, verbs: ['get'] };
    default:
      return { kind: t.kind, verbs: ['get'] };
  }
}

export function resourceList(reg: Registry, group: string, version: string): Record<string, unknown> | undefined {
  const types = reg.all().filter((t) => t.group === group && t.versions.includes(version));
  if (types.length === 0) return undefined;
  const resources: Array<Record<string, unknown>> = [];
  for (const t of types.sort((a, b) => a.plural.localeCompare(b.plural))) {
    const r: Record<string, unknown> = { name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs };
    if (t.shortNames.length) r.shortNames = t.shortNames;
    if (t.categories.length) r.categories = t.categories;
    r.storageVersionHash = hash(`${t.group}/${t.versions[0]}/${t.kind}`);
    resources.push(r);
    for (const sub of t.subresources) {
      const d = subresourceDef(t, sub);
      const s: Record<string, unknown> = { name: `${t.plural}/${sub}`, singularName: '', namespaced: t.namespaced };
      if (d.group !== undefined) s.group = d.group;
      if (d.version !== undefined) s.version = d.version;
      s.kind = d.kind;
      s.verbs = d.verbs;
      resources.push(s);
    }
  }
  const out: Record<string, unknown> = { kind: 'APIResourceList' };
  if (group) out.apiVersion = 'v1';
  out.groupVersion = apiVersionOf(group, version);
  out.resources = resources;
  return out;
}

export function apiVersions(address: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: address }] };
}

function groupEntry(name: string, versions: string[]): Record<string, unknown> {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(reg: Registry): Record<string, unknown> {
  const groups = [...reg.groups().entries()].map(([name, versions]) => groupEntry(name, versions));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(reg: Registry, name: string): Record<string, unknown> | undefined {
  const versions = reg.groups().get(name);
  if (!versions) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(name, versions) };
}

/** /openapi/v3: one entry per group-version. */
export function openapiV3Index(reg: Registry): Record<string, unknown> {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  const add = (gv: string): void => {
    paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${hash(JSON.stringify(openapiV3Doc(reg, gv) ?? {}))}` };
  };
  add('api/v1');
  for (const [g, vs] of reg.groups()) for (const v of vs) add(`apis/${g}/${v}`);
  return { paths };
}

const QUERY_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation'].map((name) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } }));

/**
 * One group-version's OpenAPI v3 document: every path with its operations and the query parameters kubectl
 * probes for (fieldValidation, dryRun), and no component schemas, so kubectl uses its compiled-in types for
 * strategic merge and leaves validation to the server.
 */
export function openapiV3Doc(reg: Registry, gvPath: string): Record<string, unknown> | undefined {
  const m = gvPath.match(/^api\/v1$|^apis\/([^/]+)\/([^/]+)$/);
  if (!m) return undefined;
  const group = m[1] ?? '';
  const version = m[2] ?? 'v1';
  const types = reg.all().filter((t) => t.group === group && t.versions.includes(version));
  if (types.length === 0) return undefined;
  const prefix = group ? `/apis/${group}/${version}` : '/api/v1';
  const paths: Record<string, unknown> = {};
  for (const t of types) {
    const gvk = [{ group, version, kind: t.kind }];
    const op = (action: string): Record<string, unknown> => ({
      operationId: `${action}${t.kind}`,
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk[0],
      parameters: QUERY_PARAMS,
      responses: { '200': { description: 'OK' } },
    });
    const item = { get: op('get'), put: op('put'), patch: op('patch'), delete: op('delete') };
    const coll = { get: op('list'), post: op('post'), delete: op('deletecollection') };
    const base = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.plural}` : `${prefix}/${t.plural}`;
    paths[base] = coll;
    paths[`${base}/{name}`] = item;
    for (const sub of t.subresources) paths[`${base}/{name}/${sub}`] = item;
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion },
    paths,
    components: { schemas: {} },
  };
}
