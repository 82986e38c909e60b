// API errors as metav1.Status objects, with the reasons and messages kube-apiserver uses.
import { StoreError } from '../core/store.js';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: Array<{ reason?: string; message?: string; field?: string }>;
  retryAfterSeconds?: number;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  status(): Record<string, unknown> {
    const s: Record<string, unknown> = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason };
    if (this.details && Object.keys(this.details).length > 0) s.details = this.details;
    s.code = this.code;
    return s;
  }
}

export function apiError(code: number, message: string, details?: StatusDetails, reason?: string): ApiError {
  return new ApiError(code, reason ?? REASONS[code] ?? 'Unknown', message, details);
}

/** `pods "x" not found` (qualified resource: plural or plural.group). */
export function notFound(resource: string, group: string, name: string): ApiError {
  const gr = group ? `${resource}.${group}` : resource;
  return apiError(404, `${gr} "${name}" not found`, { name, group: group || undefined, kind: resource });
}

/** Turn a StoreError (whose message names the store key) into the Status the real server would send. */
export function fromStoreError(e: unknown, resource: string, group: string, name: string): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof StoreError) {
    const details: StatusDetails = { name, group: group || undefined, kind: resource };
    if (e.reason === 'Gone') return new ApiError(410, 'Expired', e.message, undefined);
    return new ApiError(e.code, e.reason, e.message, details);
  }
  const msg = e instanceof Error ? e.message : String(e);
  return apiError(500, msg);
}

export function invalid(kind: string, group: string, name: string, causes: Array<{ field: string; message: string; reason?: string }>): ApiError {
  const gk = group ? `${kind}.${group}` : kind;
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  const message = `${gk} "${name}" is invalid: ${causes.length > 1 ? `[${text}]` : text}`;
  return apiError(422, message, {
    name,
    group: group || undefined,
    kind,
    causes: causes.map((c) => ({ reason: c.reason ?? 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}
