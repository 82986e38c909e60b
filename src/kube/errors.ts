// Turns what the API server (or the network) said into one of our errors, one sentence each. client-node 1.4 throws
// ApiException with `code` and `body` as the raw JSON text of a Status; raw requests give the same two things.
import { ForbiddenError, KubeError, KubectlRedisError, NotFoundError } from '../errors.js';

/** What we were doing, so the sentence can say it when the server's message does not. */
export interface ApiCall {
  verb: string;
  /** e.g. "pods", "redisclusters.redis.redis.opstreelabs.in", "pods/eviction" */
  resource: string;
  namespace?: string;
  name?: string;
  /** The API server URL, for network errors. */
  server?: string;
}

export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; group?: string; causes?: Array<{ message?: string; field?: string }> };
}

/** Parses a Status from a body that may be a JSON string, an object, or nothing. */
export function parseStatus(body: unknown): KubeStatus | undefined {
  if (body === undefined || body === null || body === '') return undefined;
  if (typeof body === 'string') {
    try {
      return parseStatus(JSON.parse(body));
    } catch {
      return { message: body.trim().split('\n')[0] };
    }
  }
  if (typeof body === 'object') return body as KubeStatus;
  return undefined;
}

function describeCall(call: ApiCall): string {
  const object = call.name ? `${call.resource} "${call.name}"` : call.resource;
  return call.namespace ? `${call.verb} ${object} in namespace "${call.namespace}"` : `${call.verb} ${object}`;
}

/** An HTTP error from the API server as our error. */
export function fromStatus(code: number, body: unknown, call: ApiCall, extra: { retryAfterMs?: number } = {}): KubeError {
  const status = parseStatus(body);
  const said = status?.message?.trim();
  const reason = status?.reason;
  const opts = { statusCode: code, reason, cause: status, retryAfterMs: extra.retryAfterMs };
  switch (code) {
    case 401:
      return new ForbiddenError(
        `the API server${call.server ? ` at ${call.server}` : ''} rejected the credentials (401 Unauthorized) when trying to ${describeCall(call)}`,
        { hint: 'check the user of this context in the kubeconfig (token or certificate expired?)', cause: status },
      );
    case 403:
      return new ForbiddenError(said ? `${said}` : `you may not ${describeCall(call)}`, { hint: 'ask for a Role that allows it (see deploy/rbac)', cause: status });
    case 404:
      return new NotFoundError(said ?? `${call.resource}${call.name ? ` "${call.name}"` : ''} not found${call.namespace ? ` in namespace "${call.namespace}"` : ''}`, { cause: status });
    case 409:
      return new KubeError(said ? `could not ${describeCall(call)}: ${said}` : `could not ${describeCall(call)}: it was changed by someone else (409 Conflict)`, { ...opts, hint: 're-run the command: it reads the object again' });
    case 422:
      return new KubeError(`the API server refused to ${describeCall(call)}: ${said ?? 'invalid object'}`, opts);
    case 429:
      return new KubeError(`the API server refused to ${describeCall(call)} for now (429 Too Many Requests)${said ? `: ${said}` : ''}`, opts);
    default:
      return new KubeError(`the API server failed to ${describeCall(call)} (${code}${reason ? ` ${reason}` : ''})${said ? `: ${said}` : ''}`, opts);
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_CONNECT_TIMEOUT', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID']);

/** The system error code somewhere in an error's cause chain (node-fetch wraps them as FetchError). */
export function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code ?? (e as { errno?: unknown }).errno;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  }
  return undefined;
}

/** Maps anything a Kubernetes call threw to our error hierarchy (ours pass through unchanged). */
export function toKubeError(err: unknown, call: ApiCall): KubectlRedisError {
  if (err instanceof KubectlRedisError) return err;
  const e = err as { code?: unknown; body?: unknown; message?: string; name?: string } | undefined;
  if (e && typeof e.code === 'number' && e.code >= 400) return fromStatus(e.code, e.body, call);
  const net = networkCode(err);
  if (net) {
    const tls = net.includes('CERT') || net.includes('SIGN') || net.includes('TLS');
    return new KubeError(
      tls
        ? `cannot verify the TLS certificate of the API server${call.server ? ` at ${call.server}` : ''} (${net})`
        : `cannot reach the API server${call.server ? ` at ${call.server}` : ''} (${net}) to ${describeCall(call)}`,
      { hint: tls ? 'check certificate-authority of this cluster in the kubeconfig' : 'check the cluster is up and the context is the one you meant (--context)', cause: err },
    );
  }
  if (e?.name === 'AbortError' || /timed? ?out/i.test(e?.message ?? '')) {
    return new KubeError(`the API server${call.server ? ` at ${call.server}` : ''} did not answer in time to ${describeCall(call)}`, { hint: 'raise --request-timeout or check the cluster', cause: err });
  }
  const first = (e?.message ?? String(err)).split('\n')[0];
  return new KubeError(`could not ${describeCall(call)}: ${first}`, { cause: err });
}
