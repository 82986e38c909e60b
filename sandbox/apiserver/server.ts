// The sandbox's kube-apiserver: one HTTPS server per simulated cluster, with token authentication, RBAC,
// discovery, the REST verbs, watch, the streaming subresources and fault injection.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterContext } from '../core/context.js';
import type { KObject, StoreEvent } from '../core/store.js';
import { Registry, storeKey, type ResourceType } from '../core/registry.js';
import { RbacAuthorizer, TokenAuthenticator, forbiddenMessage, type Attributes, type UserInfo } from '../core/auth.js';
import type { TlsMaterial } from '../core/tls.js';
import type { ExecHandler, PortForwardHandler } from '../stream/types.js';
import { ApiError, apiError, notFound } from './status.js';
import { serverVersion, apiGroup, apiGroupList, apiVersions, openapiV3Doc, openapiV3Index, resourceList } from './discovery.js';
import { Faults } from './faults.js';
import { ProtobufError, decodeProtobufObject, isProtobufContentType } from './protobuf.js';
import { CRD_KEY, Resources, type DeleteRequest } from './resources.js';
import { expiredContinue, type Page } from './paging.js';
import { managerName } from './managedfields.js';
import { seedCluster } from './seed.js';
import { podSecurityRejection } from './podsecurity.js';
import { toTable, wantsTable } from './table.js';

export interface ApiServerOptions {
  ctx: ClusterContext;
  tls: TlsMaterial;
  /** The token file (token,user,uid,"groups"), re-read when it changes. */
  tokenFile: string;
  /** 0 or undefined: a free port. */
  port?: number;
  /** The streaming handlers of sandbox/stream (pods/portforward, pods/exec). */
  streams?: { portForward: PortForwardHandler; exec: ExecHandler };
  /** How often an open watch with allowWatchBookmarks gets a BOOKMARK (default 10 s). */
  bookmarkIntervalMs?: number;
}

export interface ApiServer {
  url: string;
  port: number;
  registry: Registry;
  faults: Faults;
  stop(): Promise<void>;
}

interface Route {
  group: string;
  version: string;
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource: string;
}

const MAX_BODY = 16 * 1024 * 1024;

/** Request bodies that arrived as protobuf, already decoded to JSON text (see handle()). */
const decodedBodies = new WeakMap<IncomingMessage, string>();

function readBody(req: IncomingMessage): Promise<string> {
  const decoded = decodedBodies.get(req);
  if (decoded !== undefined) return Promise.resolve(decoded);
  return readRawBody(req).then((b) => b.toString('utf8'));
}

function readRawBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(apiError(413, 'Request entity too large: limit is 3145728'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(raw: string): unknown {
  if (!raw.trim()) return undefined;
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw apiError(400, `couldn't get version/kind; json parse error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, e: unknown): void {
  const err = e instanceof ApiError ? e : apiError(500, e instanceof Error ? e.message : String(e));
  send(res, err.code, err.status(), err.headers);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function boolParam(q: URLSearchParams, k: string): boolean {
  const v = q.get(k);
  return v === 'true' || v === '1';
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { ctx } = opts;
  const store = ctx.store;
  const registry = new Registry();
  const resources = new Resources(store, registry);
  const auth = new TokenAuthenticator(opts.tokenFile);
  const rbac = new RbacAuthorizer(store);
  seedCluster(store);
  for (const crd of store.list(CRD_KEY).items) registry.registerCrd(crd);

  const sockets = new Set<Socket>();
  const watches = new Set<() => void>();
  let unreachableUntil = 0;
  let address = '127.0.0.1:0';

  const faults = new Faults({
    dropWatches: () => {
      for (const close of [...watches]) close();
    },
    setUnreachable: (until) => {
      unreachableUntil = until;
      if (until > Date.now()) {
        for (const close of [...watches]) close();
        for (const s of sockets) s.destroy();
      }
    },
    nodeOps: () => ctx.nodeOps,
  });

  // CRDs written straight to the store (by the mini operators) are served too.
  const stopCrdWatch = store.watch(CRD_KEY, undefined, undefined, (e) => {
    if (e.type === 'DELETED' || e.object.metadata.deletionTimestamp) {
      if (e.type === 'DELETED') registry.unregisterCrd(e.object);
      return;
    }
    registry.registerCrd(e.object);
    const conds = (e.object.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? [];
    if (!conds.some((c) => c.type === 'Established' && c.status === 'True')) {
      setImmediate(() => {
        const cur = store.get(CRD_KEY, undefined, e.object.metadata.name);
        if (!cur) return;
        resources.crdStatus(cur);
        try {
          store.update(CRD_KEY, cur, { subresource: 'status' });
        } catch {
          // written again meanwhile; the next event retries
        }
      });
    }
  });

  const sweeper = setInterval(() => {
    try {
      resources.sweepNamespaces();
    } catch (e) {
      ctx.log(`namespace sweep: ${e instanceof Error ? e.message : String(e)}`);
    }
  }, 300);
  sweeper.unref();

  function route(url: URL): Route | undefined {
    const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 3) {
      group = '';
      version = segs[1];
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 4) {
      group = segs[1];
      version = segs[2];
      rest = segs.slice(3);
    } else return undefined;
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && registry.lookup(group, version, rest[2])?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const type = registry.lookup(group, version, rest[0]);
    if (!type || rest.length > 3) return undefined;
    if (namespace !== undefined && !type.namespaced) return undefined;
    return { group, version, type, namespace, name: rest[1], subresource: rest[2] ?? '' };
  }

  const version = serverVersion(ctx.kubeMinor);
  const minor = Number(version.minor);

  /**
   * The verbs a connect request (pods/exec, pods/attach, pods/portforward) is authorized for. The request-info
   * resolver names the verb by HTTP method alone, whatever the subresource (apiserver pkg/endpoints/request/
   * requestinfo.go): a WebSocket upgrade is a GET, so `get`; SPDY's upgrade is a POST, so `create`. From 1.35 the
   * AuthorizePodWebsocketUpgradeCreatePermission feature gate (beta, on by default; kubernetes/kubernetes
   * pkg/features/kube_features.go, KEP-4006, PR #134577 for issue #133515) adds a synthetic `create` check on the same
   * subresource, so a WebSocket needs both `get` and `create`. Before 1.35 the GET is checked as `get` only.
   */
  function connectVerbs(method: string): string[] {
    const verb = method === 'POST' ? 'create' : method === 'GET' ? 'get' : method.toLowerCase();
    return minor >= 35 && verb !== 'create' ? [verb, 'create'] : [verb];
  }

  function verbOf(method: string, r: Route, q: URLSearchParams): string {
    switch (method) {
      case 'GET':
        if (r.name) return 'get';
        return boolParam(q, 'watch') ? 'watch' : 'list';
      case 'POST':
        return 'create';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return 'patch';
      case 'DELETE':
        return r.name ? 'delete' : 'deletecollection';
      default:
        return method.toLowerCase();
    }
  }

  function authorize(user: UserInfo, r: Route | undefined, verb: string, path: string): void {
    const a: Attributes = r
      ? { user, verb, resourceRequest: true, apiGroup: r.group, apiVersion: r.version, resource: r.type.plural, subresource: r.subresource, name: r.name ?? '', namespace: r.namespace ?? '', path }
      : { user, verb, resourceRequest: false, apiGroup: '', apiVersion: '', resource: '', subresource: '', name: '', namespace: '', path };
    const d = rbac.authorize(a);
    if (!d.allowed) {
      throw apiError(403, forbiddenMessage(a), { name: r?.name, group: r?.group || undefined, kind: r ? r.type.plural : undefined }, 'Forbidden');
    }
  }

  function authenticate(req: IncomingMessage): UserInfo {
    const user = auth.authenticate(req.headers.authorization);
    if (!user) throw apiError(401, 'Unauthorized');
    return user;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://sandbox');
    const path = url.pathname;
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (path === '/version') return send(res, 200, version);
    const user = authenticate(req);
    if (path.startsWith('/sandbox/v1/faults')) {
      if (!user.groups.includes('system:masters')) throw apiError(403, `forbidden: User "${user.name}" cannot ${method.toLowerCase()} path "${path}"`, undefined, 'Forbidden');
      if (method === 'GET') return send(res, 200, { faults: faults.list() });
      if (method === 'POST') return send(res, 200, { ok: true, ...(await faults.inject(parseJson(await readBody(req)))) });
      throw apiError(405, 'method not allowed');
    }
    const latency = faults.latency();
    if (latency > 0) await sleep(latency);
    const r = route(url);
    const verb = r ? verbOf(method, r, q) : method.toLowerCase();
    authorize(user, r, verb, path);
    if (r && r.name && (r.subresource === 'exec' || r.subresource === 'portforward' || r.subresource === 'attach')) {
      for (const v of connectVerbs(method).slice(1)) authorize(user, r, v, path);
    }
    if (!r) return discovery(path, res, req);
    const injected = faults.errorFor(verb, r.type.plural, r.group, r.subresource, r.name ?? '');
    if (injected) throw injected;
    // kubectl >= 1.32 sends the creates of its typed clients (create namespace/configmap/secret..., the Eviction of
    // drain) as protobuf: decode the kinds protobuf.ts knows into the JSON the rest of the server handles (responses
    // stay JSON), any other kind gets a 415. Like the real server, only once the resource is known and allowed.
    if (isProtobufContentType(req.headers['content-type'])) {
      try {
        const raw = await readRawBody(req);
        decodedBodies.set(req, raw.length > 0 ? JSON.stringify(decodeProtobufObject(raw)) : '');
      } catch (e) {
        if (!(e instanceof ProtobufError)) throw e;
        throw apiError(e.code, e.message, undefined, e.code === 415 ? 'UnsupportedMediaType' : 'BadRequest');
      }
    }
    await resource(req, res, r, verb, q, user);
  }

  function discovery(path: string, res: ServerResponse, req: IncomingMessage): void {
    const p = path.replace(/\/+$/, '') || '/';
    if (p === '/api') return send(res, 200, apiVersions(address));
    if (p === '/apis') return send(res, 200, apiGroupList(registry));
    if (p === '/api/v1') return send(res, 200, resourceList(registry, '', 'v1'));
    let m = p.match(/^\/apis\/([^/]+)$/);
    if (m) {
      const g = apiGroup(registry, m[1]);
      if (g) return send(res, 200, g);
    }
    m = p.match(/^\/apis\/([^/]+)\/([^/]+)$/);
    if (m) {
      const l = resourceList(registry, m[1], m[2]);
      if (l) return send(res, 200, l);
    }
    if (p === '/openapi/v3') return send(res, 200, openapiV3Index(registry));
    m = p.match(/^\/openapi\/v3\/(.+)$/);
    if (m) {
      const doc = openapiV3Doc(registry, m[1]);
      if (doc) return send(res, 200, doc);
    }
    if (p === '/') {
      return send(res, 200, { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/openapi/v3', '/readyz', '/version'] });
    }
    void req;
    throw apiError(404, 'the server could not find the requested resource', undefined, 'NotFound');
  }

  function deleteRequest(q: URLSearchParams, body: unknown): DeleteRequest {
    const b = (body ?? {}) as { gracePeriodSeconds?: number; propagationPolicy?: DeleteRequest['propagationPolicy']; orphanDependents?: boolean; preconditions?: DeleteRequest['preconditions']; dryRun?: string[] };
    const grace = q.get('gracePeriodSeconds') ?? (b.gracePeriodSeconds !== undefined ? String(b.gracePeriodSeconds) : undefined);
    let policy = (q.get('propagationPolicy') as DeleteRequest['propagationPolicy'] | null) ?? b.propagationPolicy;
    if (!policy && (b.orphanDependents === true || q.get('orphanDependents') === 'true')) policy = 'Orphan';
    return {
      gracePeriodSeconds: grace !== undefined && grace !== null ? Number(grace) : undefined,
      propagationPolicy: policy,
      preconditions: b.preconditions,
      dryRun: q.getAll('dryRun').includes('All') || (b.dryRun ?? []).includes('All'),
    };
  }

  function respondObject(req: IncomingMessage, res: ServerResponse, r: Route, code: number, o: KObject): void {
    if (wantsTable(req.headers.accept) && !r.subresource) return send(res, code, toTable(r.type, [o], store.resourceVersion, registry, store));
    send(res, code, o);
  }

  async function resource(req: IncomingMessage, res: ServerResponse, r: Route, verb: string, q: URLSearchParams, user: UserInfo): Promise<void> {
    const t = r.type;
    const ns = r.namespace;
    const name = r.name ?? '';
    const dryRun = q.getAll('dryRun').includes('All');
    const manager = managerName(q.get('fieldManager'), req.headers['user-agent']);
    const method = req.method ?? 'GET';
    if (t.namespaced && ns === undefined && r.name !== undefined) throw notFound(t.plural, t.group, name);
    if (!r.name && r.subresource) throw apiError(404, 'the server could not find the requested resource');
    if (r.subresource && !t.subresources.includes(r.subresource)) throw apiError(404, 'the server could not find the requested resource');

    // authorization.k8s.io SelfSubjectAccessReview
    if (t.plural === 'selfsubjectaccessreviews' && t.group === 'authorization.k8s.io') {
      if (method !== 'POST') throw apiError(405, `the server does not allow this method on the requested resource`, undefined, 'MethodNotAllowed');
      return send(res, 201, selfSubjectAccessReview(user, parseJson(await readBody(req)), r.version));
    }

    switch (r.subresource) {
      case 'scale':
        if (method === 'GET') return send(res, 200, resources.getScale(t, r.version, ns, name));
        if (method === 'PUT') return send(res, 200, resources.writeScale(t, r.version, ns, name, parseJson(await readBody(req)), { dryRun }));
        if (method === 'PATCH') return send(res, 200, resources.patchScale(t, r.version, ns, name, req.headers['content-type'] ?? '', await readBody(req), { dryRun }));
        throw apiError(405, 'the server does not allow this method on the requested resource', undefined, 'MethodNotAllowed');
      case 'eviction':
        if (method !== 'POST') throw apiError(405, 'the server does not allow this method on the requested resource', undefined, 'MethodNotAllowed');
        resources.evict(ns ?? '', name, parseJson(await readBody(req)));
        return send(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
      case 'log':
        return podLog(res, ns ?? '', name, q);
      case 'exec':
      case 'portforward':
        throw apiError(400, 'Upgrade request required');
      default:
        break;
    }

    switch (verb) {
      case 'get':
        if (r.subresource === 'status' || !r.subresource) return respondObject(req, res, r, 200, resources.get(t, r.version, ns, name));
        break;
      case 'list': {
        let l: Page;
        try {
          l = resources.listPage(t, r.version, ns, q);
        } catch (e) {
          const restart = expiredContinue(e);
          if (restart && e instanceof ApiError) return send(res, e.code, { ...e.status(), metadata: { continue: restart } });
          throw e;
        }
        const meta = { resourceVersion: l.resourceVersion, ...(l.continue ? { continue: l.continue } : {}), ...(l.remainingItemCount !== undefined ? { remainingItemCount: l.remainingItemCount } : {}) };
        if (wantsTable(req.headers.accept)) return send(res, 200, { ...toTable(t, l.items, l.resourceVersion, registry, store), metadata: meta });
        return send(res, 200, { kind: t.listKind, apiVersion: r.group ? `${r.group}/${r.version}` : r.version, metadata: meta, items: l.items });
      }
      case 'watch':
        return watch(req, res, r, q);
      case 'create': {
        const body = parseJson(await readBody(req));
        // Pod Security admission (enforce) on pods created through the API, dry runs included, as the real one;
        // pods the sandbox's own controllers and kubelets write to the store are not admitted
        if (t.plural === 'pods' && !t.group && !r.subresource && body && typeof body === 'object') {
          const rejection = podSecurityRejection(store.get('namespaces', undefined, ns ?? ''), { ...(body as KObject), metadata: { ...(body as KObject).metadata, namespace: ns } });
          if (rejection) throw apiError(403, rejection, { name: (body as KObject).metadata?.name, kind: 'pods' }, 'Forbidden');
        }
        const o = resources.create(t, r.version, ns, body, { dryRun, manager });
        return respondObject(req, res, r, 201, o);
      }
      case 'update':
        return respondObject(req, res, r, 200, resources.update(t, r.version, ns, name, parseJson(await readBody(req)), r.subresource, { dryRun, manager }));
      case 'patch': {
        const out = resources.patch(t, r.version, ns, name, req.headers['content-type'] ?? '', await readBody(req), r.subresource, {
          dryRun,
          manager,
          fieldManager: q.get('fieldManager') ?? undefined,
        });
        return respondObject(req, res, r, out.created ? 201 : 200, out.object);
      }
      case 'delete': {
        const out = resources.delete(t, r.version, ns, name, deleteRequest(q, parseJson(await readBody(req))));
        return send(res, 200, out.object);
      }
      case 'deletecollection': {
        const items = resources.deleteCollection(t, r.version, ns, q.get('labelSelector') ?? undefined, q.get('fieldSelector') ?? undefined, deleteRequest(q, parseJson(await readBody(req))));
        return send(res, 200, { kind: t.listKind, apiVersion: r.group ? `${r.group}/${r.version}` : r.version, metadata: { resourceVersion: store.resourceVersion }, items });
      }
      default:
        break;
    }
    throw apiError(405, 'the server does not allow this method on the requested resource', undefined, 'MethodNotAllowed');
  }

  function selfSubjectAccessReview(user: UserInfo, body: unknown, version: string): KObject {
    const b = (body ?? {}) as { metadata?: Record<string, unknown>; spec?: { resourceAttributes?: Record<string, string>; nonResourceAttributes?: Record<string, string> } };
    const ra = b.spec?.resourceAttributes;
    const na = b.spec?.nonResourceAttributes;
    if (!ra && !na) {
      throw apiError(422, 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified', {
        group: 'authorization.k8s.io',
        kind: 'SelfSubjectAccessReview',
      });
    }
    const a: Attributes = ra
      ? {
          user,
          verb: ra.verb ?? '',
          resourceRequest: true,
          apiGroup: ra.group ?? '',
          apiVersion: ra.version ?? '',
          resource: ra.resource ?? '',
          subresource: ra.subresource ?? '',
          name: ra.name ?? '',
          namespace: ra.namespace ?? '',
          path: '',
        }
      : { user, verb: na?.verb ?? '', resourceRequest: false, apiGroup: '', apiVersion: '', resource: '', subresource: '', name: '', namespace: '', path: na?.path ?? '' };
    const d = rbac.authorize(a);
    return {
      kind: 'SelfSubjectAccessReview',
      apiVersion: `authorization.k8s.io/${version}`,
      metadata: { ...(b.metadata ?? {}), name: '', creationTimestamp: null } as unknown as KObject['metadata'],
      spec: b.spec,
      status: d.allowed ? { allowed: true, ...(d.reason ? { reason: d.reason } : {}) } : { allowed: false },
    };
  }

  function podLog(res: ServerResponse, ns: string, name: string, q: URLSearchParams): void {
    const pod = store.get('pods', ns, name);
    if (!pod) throw notFound('pods', '', name);
    const containers = ((pod.spec as { containers?: Array<{ name: string }> } | undefined)?.containers ?? []).map((c) => c.name);
    const container = q.get('container') ?? containers[0] ?? '';
    if (!containers.includes(container)) throw apiError(400, `container ${container} is not valid for pod ${name}`);
    const candidates = [
      join(ctx.dir, ctx.name, 'logs', ns, name, `${container}.log`),
      join(ctx.dir, ctx.name, 'logs', `${ns}_${name}_${container}.log`),
      join(ctx.dir, 'logs', ctx.name, ns, name, `${container}.log`),
    ];
    const file = candidates.find((f) => existsSync(f));
    let text = file ? readFileSync(file, 'utf8') : '';
    const tail = q.get('tailLines');
    if (tail !== null) {
      const lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      text = lines.slice(Math.max(0, lines.length - Number(tail))).join('\n') + (lines.length ? '\n' : '');
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  function watch(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): void {
    const t = r.type;
    const key = storeKey(t);
    const ns = t.namespaced ? r.namespace : undefined;
    const labelSelector = q.get('labelSelector') ?? undefined;
    const fieldSelector = q.get('fieldSelector') ?? undefined;
    const rv = q.get('resourceVersion') ?? undefined;
    const bookmarks = boolParam(q, 'allowWatchBookmarks');
    const initialEvents = boolParam(q, 'sendInitialEvents');
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? 1800);
    const table = wantsTable(req.headers.accept);
    resources.matches({ apiVersion: 'v1', kind: 'x', metadata: { name: '' } }, labelSelector, fieldSelector); // validates selectors (400)
    const fieldNameFilter = q.get('fieldSelector')?.match(/^metadata\.name=([^,]+)$/)?.[1];
    const known = new Set<string>();
    const k = (o: KObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    let closed = false;
    const write = (type: string, object: unknown): void => {
      if (closed) return;
      res.write(JSON.stringify({ type, object }) + '\n');
    };
    const present = (o: KObject): unknown => {
      const p = resources.present(t, r.version, o);
      return table ? toTable(t, [p], p.metadata.resourceVersion ?? store.resourceVersion, registry, store) : p;
    };
    const onEvent = (e: StoreEvent): void => {
      const o = e.object;
      if (fieldNameFilter && o.metadata.name !== fieldNameFilter) return;
      const match = resources.matches(o, labelSelector, fieldSelector);
      const id = k(o);
      if (e.type === 'DELETED') {
        if (match || known.has(id)) write('DELETED', present(o));
        known.delete(id);
        return;
      }
      if (match) {
        write(e.type === 'MODIFIED' && !known.has(id) ? 'ADDED' : e.type, present(o));
        known.add(id);
      } else if (known.has(id)) {
        known.delete(id);
        write('DELETED', present(o));
      }
    };
    const bookmark = (extra?: Record<string, string>): void => {
      write('BOOKMARK', { kind: t.kind, apiVersion: r.group ? `${r.group}/${r.version}` : r.version, metadata: { resourceVersion: store.resourceVersion, ...(extra ? { annotations: extra } : {}) } });
    };
    let stopWatch: () => void = () => undefined;
    try {
      if (rv === undefined || rv === '' || rv === '0' || initialEvents) {
        for (const o of store.list(key, ns).items) {
          if (fieldNameFilter && o.metadata.name !== fieldNameFilter) continue;
          if (!resources.matches(o, labelSelector, fieldSelector)) continue;
          known.add(k(o));
          write('ADDED', present(o));
        }
        if (initialEvents && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
        stopWatch = store.watch(key, ns, undefined, onEvent);
      } else {
        for (const o of store.list(key, ns).items) if (resources.matches(o, labelSelector, fieldSelector)) known.add(k(o));
        stopWatch = store.watch(key, ns, rv, (e) => {
          if (e.type === 'ADDED') known.delete(k(e.object));
          onEvent(e);
        });
      }
    } catch (e) {
      const err = e instanceof ApiError ? e : apiError(410, e instanceof Error ? e.message : String(e), undefined, 'Expired');
      const status = err.code === 410 || (e as { code?: number }).code === 410 ? new ApiError(410, 'Expired', err.message).status() : err.status();
      write('ERROR', status);
      res.end();
      return;
    }
    const timers: NodeJS.Timeout[] = [];
    const close = (): void => {
      if (closed) return;
      closed = true;
      stopWatch();
      for (const tm of timers) clearTimeout(tm);
      watches.delete(close);
      res.end();
    };
    watches.add(close);
    if (bookmarks) {
      const iv = setInterval(() => bookmark(), opts.bookmarkIntervalMs ?? 10_000);
      timers.push(iv);
    }
    timers.push(setTimeout(close, Math.max(1, timeoutSeconds) * 1000));
    req.on('close', close);
    res.on('close', close);
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const fail = (e: unknown): void => {
      const err = e instanceof ApiError ? e : apiError(500, e instanceof Error ? e.message : String(e));
      const body = JSON.stringify(err.status());
      socket.end(`HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    try {
      const url = new URL(req.url ?? '/', 'https://sandbox');
      const user = authenticate(req);
      const latency = faults.latency();
      if (latency > 0) await sleep(latency);
      const r = route(url);
      if (!r || !r.name || (r.subresource !== 'portforward' && r.subresource !== 'exec') || r.type.plural !== 'pods' || r.group !== '') {
        throw apiError(404, 'the server could not find the requested resource');
      }
      const verbs = connectVerbs(req.method ?? 'GET');
      for (const v of verbs) authorize(user, r, v, url.pathname);
      // an injected fault names either verb (faults written before 1.35's `create` check name `create`)
      for (const v of new Set([...verbs, 'create'])) {
        const injected = faults.errorFor(v, 'pods', '', r.subresource, r.name);
        if (injected) throw injected;
      }
      const ns = r.namespace ?? '';
      const pod = store.get('pods', ns, r.name);
      if (!pod) throw notFound('pods', '', r.name);
      const phase = (pod.status as { phase?: string } | undefined)?.phase;
      if (phase !== 'Running') throw apiError(400, `pod ${r.name} does not have a host assigned`);
      const runtime = ctx.runtime;
      if (!runtime || !opts.streams) throw apiError(503, `no kubelet is serving pod ${ns}/${r.name}`, undefined, 'ServiceUnavailable');
      const podName = r.name;
      const q = url.searchParams;
      if (r.subresource === 'portforward') {
        const ports = q.getAll('ports').flatMap((p) => p.split(',')).filter(Boolean).map(Number);
        opts.streams.portForward(req, socket, head, { ports, dial: (port) => runtime.dial(ns, podName, port) });
      } else {
        const containers = ((pod.spec as { containers?: Array<{ name: string }> }).containers ?? []).map((c) => c.name);
        const container = q.get('container') ?? containers[0];
        if (container && !containers.includes(container)) throw apiError(400, `container ${container} is not valid for pod ${podName}`);
        opts.streams.exec(req, socket, head, {
          command: q.getAll('command'),
          container,
          stdin: boolParam(q, 'stdin'),
          stdout: boolParam(q, 'stdout'),
          stderr: boolParam(q, 'stderr'),
          tty: boolParam(q, 'tty'),
          run: (stdio) => runtime.exec(ns, podName, container, q.getAll('command'), stdio),
        });
      }
    } catch (e) {
      fail(e);
    }
  }

  // While "unreachable", every request's connection is dropped, except the fault endpoint's (so `fault clear` can
  // end the partition early).
  const unreachable = (req: IncomingMessage): boolean => unreachableUntil > Date.now() && !(req.url ?? '').startsWith('/sandbox/v1/faults');
  const server: Server = createServer({ key: opts.tls.key, cert: opts.tls.cert }, (req, res) => {
    if (unreachable(req)) {
      req.socket.destroy();
      return;
    }
    handle(req, res).catch((e: unknown) => sendError(res, e));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (unreachable(req)) {
      socket.destroy();
      return;
    }
    void upgrade(req, socket, head);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined);
  server.keepAliveTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  address = `127.0.0.1:${port}`;
  ctx.log(`api server for ${ctx.name} listening on https://${address}`);

  return {
    url: `https://${address}`,
    port,
    registry,
    faults,
    stop: async () => {
      clearInterval(sweeper);
      stopCrdWatch();
      for (const close of [...watches]) close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
