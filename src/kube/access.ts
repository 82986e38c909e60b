// Preflight: ask the API server (SelfSubjectAccessReview, as `kubectl auth can-i`) whether every permission a command
// needs is granted, before it changes anything, so a missing RBAC rule fails at the start with one clear sentence.
import { ForbiddenError, type KubeError } from '../errors.js';
import type { KubeClient } from './client.js';

export interface Permission {
  verb: string;
  /** '' for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  /** undefined for cluster-scoped resources (nodes) or "in every namespace". */
  namespace?: string;
  name?: string;
}

/** `patch redisclusters.redis.redis.opstreelabs.in in namespace "redis"`: how the refusal names a permission. */
export function describePermission(p: Permission): string {
  const resource = `${p.resource}${p.group ? `.${p.group}` : ''}${p.subresource ? `/${p.subresource}` : ''}`;
  const name = p.name ? ` "${p.name}"` : '';
  return `${p.verb} ${resource}${name}${p.namespace ? ` in namespace "${p.namespace}"` : ''}`;
}

export function forbidden(p: Permission): ForbiddenError {
  const role = p.namespace ? 'a Role' : 'a ClusterRole';
  return new ForbiddenError(`you may not ${describePermission(p)}: ask for ${role} that allows it (see deploy/rbac)`);
}

interface AccessReview {
  status?: { allowed?: boolean; denied?: boolean; reason?: string };
}

/** Whether one permission is granted; undefined when the server cannot say (review API not served or not allowed). */
export async function canI(kube: KubeClient, p: Permission): Promise<boolean | undefined> {
  try {
    const review = await kube.request<AccessReview>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb: p.verb, group: p.group, resource: p.resource, subresource: p.subresource, namespace: p.namespace, name: p.name } },
      },
      call: { verb: 'create', resource: 'selfsubjectaccessreviews.authorization.k8s.io' },
      // a review only asks; it stores nothing
      idempotent: true,
    });
    return review?.status?.allowed === true;
  } catch (e) {
    const code = (e as KubeError).statusCode;
    if (code === 404 || code === 403) return undefined;
    throw e;
  }
}

/** Throws ForbiddenError for the first permission (in the order given) that is not granted. */
export async function requirePermissions(kube: KubeClient, permissions: Permission[]): Promise<void> {
  const answers = await Promise.all(permissions.map((p) => canI(kube, p)));
  const missing = permissions.findIndex((_, i) => answers[i] === false);
  if (missing >= 0) throw forbidden(permissions[missing]);
}

const minors = new WeakMap<KubeClient, Promise<number | undefined>>();

/** The server's Kubernetes minor version (GET /version, once per client); undefined when it does not say. */
export function serverMinor(kube: KubeClient): Promise<number | undefined> {
  let m = minors.get(kube);
  if (!m) {
    m = kube
      .request<{ minor?: string; gitVersion?: string }>({ method: 'GET', path: '/version', call: { verb: 'get', resource: '/version' }, idempotent: true })
      .then((v) => {
        const n = (v?.minor ?? '').match(/^(\d+)/) ?? (v?.gitVersion ?? '').match(/^v?\d+\.(\d+)/);
        return n ? Number(n[1]) : undefined;
      })
      .catch(() => undefined);
    minors.set(kube, m);
  }
  return m;
}

/**
 * What a port-forward to a pod in `namespace` needs on this server. client-node opens it as a WebSocket upgrade, an
 * HTTP GET, which the API server authorizes as `get` on pods/portforward; from 1.35 the
 * AuthorizePodWebsocketUpgradeCreatePermission feature gate (beta, on by default) also checks `create` on it. A server
 * that does not say its version is asked for both.
 */
export async function portForwardPermissions(kube: KubeClient, namespace: string): Promise<Permission[]> {
  const minor = await serverMinor(kube);
  const pf = { group: '', resource: 'pods', subresource: 'portforward', namespace };
  return minor !== undefined && minor < 35 ? [{ verb: 'get', ...pf }] : [{ verb: 'get', ...pf }, { verb: 'create', ...pf }];
}
