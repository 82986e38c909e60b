// Authentication (a static token file, as kube-apiserver --token-auth-file) and the RBAC authorizer over the
// Role/ClusterRole/RoleBinding/ClusterRoleBinding objects in a cluster's store.
import { readFileSync, statSync, appendFileSync, existsSync } from 'node:fs';
import type { KObject, Store } from './store.js';

export interface UserInfo {
  name: string;
  uid: string;
  groups: string[];
}

/** Parse one CSV line with optional double-quoted fields. */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((f) => f.trim());
}

export class TokenAuthenticator {
  private mtime = -1;
  private size = -1;
  private tokens = new Map<string, UserInfo>();

  constructor(private readonly file: string) {}

  private reload(): void {
    let st;
    try {
      st = statSync(this.file);
    } catch {
      this.tokens = new Map();
      return;
    }
    if (st.mtimeMs === this.mtime && st.size === this.size) return;
    this.mtime = st.mtimeMs;
    this.size = st.size;
    const next = new Map<string, UserInfo>();
    for (const raw of readFileSync(this.file, 'utf8').split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const [token, name, uid, groups] = csvFields(line);
      if (!token || !name) continue;
      next.set(token, { name, uid: uid ?? name, groups: groups ? groups.split(',').map((g) => g.trim()).filter(Boolean) : [] });
    }
    this.tokens = next;
  }

  /** The user of an `Authorization: Bearer <token>` header, or undefined (401). */
  authenticate(header: string | undefined): UserInfo | undefined {
    const m = header?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!m) return undefined;
    this.reload();
    const u = this.tokens.get(m[1]);
    if (!u) return undefined;
    return { ...u, groups: [...u.groups.filter((g) => g !== 'system:authenticated'), 'system:authenticated'] };
  }
}

/** Append a token line to a token file (quoted groups, as kube-apiserver reads them). */
export function appendToken(file: string, token: string, user: string, groups: string[]): void {
  const line = `${token},${user},${user},"${groups.join(',')}"\n`;
  if (existsSync(file)) appendFileSync(file, line);
  else appendFileSync(file, line, { mode: 0o600 });
}

export interface Attributes {
  user: UserInfo;
  verb: string;
  /** Resource requests. */
  resourceRequest: boolean;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  name: string;
  namespace: string;
  /** Non-resource requests. */
  path: string;
}

export interface Decision {
  allowed: boolean;
  reason: string;
}

interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}
interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

function has(list: string[] | undefined, v: string): boolean {
  return !!list && (list.includes('*') || list.includes(v));
}

function ruleAllows(r: PolicyRule, a: Attributes): boolean {
  if (!has(r.verbs, a.verb)) return false;
  if (!a.resourceRequest) {
    return (r.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))));
  }
  if (!has(r.apiGroups, a.apiGroup)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resOk = (r.resources ?? []).some(
    (x) => x === '*' || x === combined || (a.subresource && x === `*/${a.subresource}`) || (!a.subresource ? false : x === `${a.resource}/*`),
  );
  if (!resOk) return false;
  if (r.resourceNames && r.resourceNames.length > 0) return a.name !== '' && r.resourceNames.includes(a.name);
  return true;
}

function subjectMatches(s: Subject, u: UserInfo, bindingNamespace: string | undefined): boolean {
  if (s.kind === 'User') return s.name === u.name;
  if (s.kind === 'Group') return u.groups.includes(s.name);
  if (s.kind === 'ServiceAccount') return u.name === `system:serviceaccount:${s.namespace ?? bindingNamespace}:${s.name}`;
  return false;
}

function describeSubject(s: Subject): string {
  return s.kind === 'ServiceAccount' ? `ServiceAccount "${s.name}/${s.namespace ?? ''}"` : `${s.kind} "${s.name}"`;
}

/** What every authenticated user may do without a binding (system:basic-user, system:discovery, system:public-info-viewer). */
function basicAllowed(a: Attributes): boolean {
  if (!a.resourceRequest) return a.verb === 'get';
  if (a.apiGroup === 'authorization.k8s.io' && (a.resource === 'selfsubjectaccessreviews' || a.resource === 'selfsubjectrulesreviews')) return a.verb === 'create';
  return false;
}

export class RbacAuthorizer {
  constructor(private readonly store: Store) {}

  authorize(a: Attributes): Decision {
    if (a.user.groups.includes('system:masters')) return { allowed: true, reason: '' };
    if (basicAllowed(a)) return { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "system:basic-user" of ClusterRole "system:basic-user" to Group "system:authenticated"' };
    for (const b of this.store.list('clusterrolebindings.rbac.authorization.k8s.io').items) {
      const hit = this.bindingAllows(b, a, undefined);
      if (hit) return { allowed: true, reason: `RBAC: allowed by ClusterRoleBinding "${b.metadata.name}" of ${hit}` };
    }
    if (a.namespace) {
      for (const b of this.store.list('rolebindings.rbac.authorization.k8s.io', a.namespace).items) {
        const hit = this.bindingAllows(b, a, a.namespace);
        if (hit) return { allowed: true, reason: `RBAC: allowed by RoleBinding "${b.metadata.name}/${a.namespace}" of ${hit}` };
      }
    }
    return { allowed: false, reason: '' };
  }

  /** "ClusterRole "view" to User "x"" when the binding allows the request. */
  private bindingAllows(b: KObject, a: Attributes, namespace: string | undefined): string | undefined {
    const subjects = (b.subjects ?? []) as Subject[];
    const subject = subjects.find((s) => subjectMatches(s, a.user, namespace));
    if (!subject) return undefined;
    const ref = b.roleRef as { kind: string; name: string } | undefined;
    if (!ref) return undefined;
    const role =
      ref.kind === 'ClusterRole'
        ? this.store.get('clusterroles.rbac.authorization.k8s.io', undefined, ref.name)
        : this.store.get('roles.rbac.authorization.k8s.io', namespace, ref.name);
    if (!role) return undefined;
    const rules = (role.rules ?? []) as PolicyRule[];
    if (!rules.some((r) => ruleAllows(r, a))) return undefined;
    return `${ref.kind} "${ref.name}" to ${describeSubject(subject)}`;
  }
}

/** The message kube-apiserver's Forbidden response carries (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters). */
export function forbiddenMessage(a: Attributes): string {
  if (!a.resourceRequest) return `forbidden: User "${a.user.name}" cannot ${a.verb} path "${a.path}"`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const gr = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const who = `User "${a.user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}"`;
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  const prefix = a.name ? `${gr} "${a.name}" is forbidden` : `${gr} is forbidden`;
  return `${prefix}: ${who}${where}`;
}
