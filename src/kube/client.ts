// kubeconfig + context -> one KubeClient: typed client-node APIs, raw JSON requests, and the KubeReader the
// reconcile library reads through. Every failure leaves here as one of our errors (see errors.ts).
import * as k8s from '@kubernetes/client-node';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { KubeError } from '../errors.js';
import type { KubeObject, KubeReader, ListOptions, ResourceRef } from './types.js';
import { fromStatus, toKubeError, type ApiCall } from './errors.js';
import { DEFAULT_RETRY, parseRetryAfter, retryDelay, type RetryPolicy } from './retry.js';
import { loadKubeconfig, resolveContext, type MergedKubeconfig } from './kubeconfig.js';
import { listAllPages, listPageSize, type ListPage } from './paging.js';

export interface KubeOptions {
  /** --kubeconfig */
  kubeconfig?: string;
  /** --context */
  context?: string;
  /** --namespace; the context's namespace (then "default") when absent. */
  namespace?: string;
  /** --request-timeout in ms; 0 or undefined = no limit. */
  requestTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  home?: string;
}

/** `pods`, `statefulsets.apps`: how kubectl and RBAC messages name a resource. */
export function resourceName(res: Pick<ResourceRef, 'group' | 'plural'>): string {
  return res.group === '' ? res.plural : `${res.plural}.${res.group}`;
}

/** The REST path of a collection or object: /api/v1/namespaces/ns/pods/name/sub. */
export function resourcePath(res: Pick<ResourceRef, 'group' | 'version' | 'plural' | 'namespaced'>, namespace?: string, name?: string, subresource?: string): string {
  const base = res.group === '' ? `/api/${res.version}` : `/apis/${res.group}/${res.version}`;
  const ns = res.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const obj = name !== undefined ? `/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}` : '';
  return `${base}${ns}/${res.plural}${obj}`;
}

export interface RawRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** What the request does, for error sentences. */
  call: ApiCall;
  /**
   * Safe to send again after a transient failure (429, 5xx, unreachable): it reads, sets absolute values, or is
   * guarded by a resourceVersion or JSON-patch `test`. GETs are always retried; other methods only when this is set.
   */
  idempotent?: boolean;
}

function inCluster(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT);
}

export class KubeClient implements KubeReader {
  readonly kc: k8s.KubeConfig;
  /** The context in use. */
  readonly context: string;
  readonly server: string;
  /** The namespace commands act in: --namespace, else the context's, else "default". */
  readonly namespace: string;
  readonly requestTimeoutMs: number;
  /** How failed safe requests are retried (src/kube/retry.ts). */
  retryPolicy: RetryPolicy = DEFAULT_RETRY;
  /** Items per list request (src/kube/paging.ts). */
  listPageSize = listPageSize();
  /** Told before each retry, for progress lines (commands set it to write to stderr). */
  onRetry?: (info: { call: ApiCall; attempt: number; delayMs: number; error: KubeError }) => void;
  private readonly apis = new Map<unknown, unknown>();
  /** The API server has answered (any HTTP status) at least once: network failures after that are worth a retry. */
  private answered = false;

  constructor(kc: k8s.KubeConfig, opts: { context: string; server: string; namespace: string; requestTimeoutMs?: number }) {
    this.kc = kc;
    this.context = opts.context;
    this.server = opts.server;
    this.namespace = opts.namespace;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 0;
  }

  /** A typed client-node API (CoreV1Api, AppsV1Api, ...), created once. */
  api<T extends k8s.ApiType>(apiClass: new (config: k8s.Configuration) => T): T {
    let api = this.apis.get(apiClass) as T | undefined;
    if (!api) {
      api = this.kc.makeApiClient(apiClass);
      this.apis.set(apiClass, api);
    }
    return api;
  }

  get core(): k8s.CoreV1Api {
    return this.api(k8s.CoreV1Api);
  }
  get apps(): k8s.AppsV1Api {
    return this.api(k8s.AppsV1Api);
  }
  get policy(): k8s.PolicyV1Api {
    return this.api(k8s.PolicyV1Api);
  }
  get coordination(): k8s.CoordinationV1Api {
    return this.api(k8s.CoordinationV1Api);
  }
  get authorization(): k8s.AuthorizationV1Api {
    return this.api(k8s.AuthorizationV1Api);
  }
  get events(): k8s.EventsV1Api {
    return this.api(k8s.EventsV1Api);
  }

  /** Runs a typed client-node call, bounded by --request-timeout, mapping its failure to our errors. */
  async call<T>(call: ApiCall, fn: () => Promise<T>): Promise<T> {
    const described = { server: this.server, ...call };
    let timer: NodeJS.Timeout | undefined;
    try {
      const work = fn();
      if (!this.requestTimeoutMs) return await work;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('request timed out'), { name: 'AbortError' })), this.requestTimeoutMs);
      });
      return await Promise.race([work, timeout]);
    } catch (e) {
      throw toKubeError(e, described);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /**
   * A JSON request to the API server with this context's credentials; resolves the parsed body. A safe request
   * (a GET, or one marked idempotent) that fails transiently is retried with backoff, within retryPolicy's bounds;
   * when they run out the last error is thrown, saying how long it kept trying.
   */
  async request<T = unknown>(req: RawRequest): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.requestOnce<T>(req);
      } catch (e) {
        const elapsedMs = Date.now() - started;
        const err = e as KubeError;
        const delay = retryDelay({ method: req.method, idempotent: req.idempotent, error: e, attempt, elapsedMs, retryAfterMs: err.retryAfterMs, serverAnswered: this.answered }, this.retryPolicy);
        if (delay === undefined) {
          if (attempt > 1 && err instanceof KubeError) {
            throw new KubeError(`${err.message} (tried ${attempt} times over ${Math.round(elapsedMs / 1000)}s)`, {
              statusCode: err.statusCode, reason: err.reason, hint: err.hint, cause: err.cause, exitCode: err.exitCode, retryAfterMs: err.retryAfterMs,
            });
          }
          throw e;
        }
        this.onRetry?.({ call: req.call, attempt, delayMs: delay, error: err });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async requestOnce<T>(req: RawRequest): Promise<T> {
    const call = { server: this.server, ...req.call };
    const url = new URL(req.path, this.server.endsWith('/') ? this.server : `${this.server}/`);
    // the server URL may carry a path prefix (e.g. a proxy): keep it
    const prefix = new URL(this.server).pathname.replace(/\/$/, '');
    url.pathname = `${prefix}${req.path}`;
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const opts: RequestOptions & { headers: Record<string, string | string[] | number> } = { method: req.method, headers: {} };
    try {
      await this.kc.applyToHTTPSOptions(opts as Parameters<k8s.KubeConfig['applyToHTTPSOptions']>[0]);
    } catch (e) {
      throw toKubeError(e, call);
    }
    const payload = req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    opts.headers.Accept = 'application/json';
    if (payload !== undefined) {
      opts.headers['Content-Type'] = req.contentType ?? 'application/json';
      opts.headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const { status, text, retryAfter } = await new Promise<{ status: number; text: string; retryAfter?: string | string[] }>((resolvePromise, reject) => {
      const r = send(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), retryAfter: res.headers['retry-after'] }));
        res.on('error', reject);
      });
      r.on('error', reject);
      if (this.requestTimeoutMs) r.setTimeout(this.requestTimeoutMs, () => r.destroy(Object.assign(new Error('request timed out'), { name: 'AbortError' })));
      r.end(payload);
    }).catch((e: unknown) => {
      throw toKubeError(e, call);
    });
    this.answered = true;
    if (status >= 400) throw fromStatus(status, text, call, { retryAfterMs: parseRetryAfter(retryAfter, Date.now()) });
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new KubeError(`the API server at ${this.server} answered ${req.method} ${req.path} with something that is not JSON`);
    }
  }

  async list(res: ResourceRef, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeObject[]> {
    const call: ApiCall = { verb: 'list', resource: resourceName(res), namespace: res.namespaced ? namespace : undefined };
    try {
      const items = await listAllPages<KubeObject>(
        (page) =>
          this.request<ListPage<KubeObject>>({
            method: 'GET',
            path: resourcePath(res, namespace),
            query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: page.limit || undefined, continue: page.continue },
            call,
          }),
        this.listPageSize,
      );
      const apiVersion = res.group === '' ? res.version : `${res.group}/${res.version}`;
      // list items carry no apiVersion/kind; fill them in so readers see whole objects
      return items.map((item) => ({ apiVersion, kind: res.kind, ...item }));
    } catch (e) {
      // a resource the server does not serve (CRD not installed) lists as nothing
      if ((e as KubeError).statusCode === 404) return [];
      throw e;
    }
  }

  async get(res: ResourceRef, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const call: ApiCall = { verb: 'get', resource: resourceName(res), namespace: res.namespaced ? namespace : undefined, name };
    try {
      return await this.request<KubeObject>({ method: 'GET', path: resourcePath(res, namespace, name), call });
    } catch (e) {
      if ((e as KubeError).statusCode === 404) return undefined;
      throw e;
    }
  }
}

/** Builds a client-node KubeConfig from a merged kubeconfig, switched to `context`. */
export function toClientConfig(merged: MergedKubeconfig, context: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  const { sources: _sources, ...doc } = merged;
  kc.loadFromString(JSON.stringify(doc));
  kc.setCurrentContext(context);
  return kc;
}

/** kubeconfig (merged as kubectl does) + context -> a client. Throws KubeError naming the file or context at fault. */
export function openKube(opts: KubeOptions = {}): KubeClient {
  const env = opts.env ?? process.env;
  let merged: MergedKubeconfig;
  try {
    merged = loadKubeconfig({ explicit: opts.kubeconfig, env, home: opts.home });
  } catch (e) {
    const noKubeconfig = !opts.kubeconfig && !env.KUBECONFIG && (e as KubeError).message.includes('no such file');
    if (noKubeconfig && inCluster(env)) return openInCluster(opts);
    throw e;
  }
  const ctx = resolveContext(merged, opts.context);
  const kc = toClientConfig(merged, ctx.name);
  const client = new KubeClient(kc, { context: ctx.name, server: ctx.server, namespace: opts.namespace ?? ctx.namespace, requestTimeoutMs: opts.requestTimeoutMs });
  client.listPageSize = listPageSize(env);
  return client;
}

function openInCluster(opts: KubeOptions): KubeClient {
  const kc = new k8s.KubeConfig();
  kc.loadFromCluster();
  if (opts.context && opts.context !== kc.getCurrentContext()) {
    throw new KubeError(`context "${opts.context}" does not exist in the kubeconfig; available contexts: ${kc.getCurrentContext()} (in-cluster)`);
  }
  const cluster = kc.getCurrentCluster();
  const namespace = opts.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace?.trim() ?? 'default';
  return new KubeClient(kc, { context: kc.getCurrentContext(), server: cluster?.server ?? '', namespace: namespace || 'default', requestTimeoutMs: opts.requestTimeoutMs });
}
