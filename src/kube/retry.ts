// When a failed API request is tried again, decided purely (no I/O, no clock of its own, randomness passed in) so
// the decisions are unit tested. Only requests that are safe to repeat are retried: reads (GET), and requests the
// caller marks as idempotent (an access review, a patch that sets absolute values, a JSON patch whose `test`
// ops guard it). Only transient failures are retried: the API server throttled us (429), failed inside (5xx), or
// could not be reached / did not answer. A 409 Conflict is never retried here: the caller must read the object
// again and decide anew (see withConflictRetry). Retries are bounded by a number of attempts and a time budget,
// and follow Retry-After when the server sends one (as client-go does), else exponential backoff with jitter.
import { KubeError } from '../errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Delay before the second attempt; doubles each time. */
  baseDelayMs: number;
  /** No single backoff delay is longer than this. */
  maxDelayMs: number;
  /** No retry starts once this long has passed since the first attempt. */
  budgetMs: number;
  /** A Retry-After longer than this is cut to it. */
  maxRetryAfterMs: number;
}

/** Rides through an API server unreachable for ~15 s, then gives up with the last error. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 250, maxDelayMs: 4000, budgetMs: 20_000, maxRetryAfterMs: 10_000 };

/** No retries at all (tests, callers with their own loop). */
export const NO_RETRY: RetryPolicy = { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, budgetMs: 0, maxRetryAfterMs: 0 };

/** Failures worth repeating a safe request for: throttled, a server-side error, unreachable, no answer in time. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof KubeError)) return false;
  const code = err.statusCode;
  if (code === undefined) return /cannot reach|did not answer/.test(err.message);
  return code === 429 || code >= 500;
}

/** The request ran out of --request-timeout (the server did not answer in time). */
export function isTimeout(err: unknown): boolean {
  return err instanceof KubeError && err.statusCode === undefined && /did not answer/.test(err.message);
}

/** A request is safe to repeat when it only reads, or its caller says so (see RawRequest.idempotent). */
export function isRetrySafe(method: string, idempotent: boolean | undefined): boolean {
  return method === 'GET' || idempotent === true;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 10.2.3); undefined when absent or invalid. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Exponential backoff with jitter: attempt 1 failed -> ~base, 2 -> ~2*base ..., each in [d/2, d], capped. */
export function backoffDelay(failedAttempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const full = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failedAttempt - 1));
  return Math.round(full / 2 + (full / 2) * random());
}

export interface RetryInput {
  method: string;
  idempotent?: boolean;
  error: unknown;
  /** Attempts made so far (1 after the first failure). */
  attempt: number;
  /** Time since the first attempt started. */
  elapsedMs: number;
  /** From the failed response's Retry-After header. */
  retryAfterMs?: number;
  /**
   * Whether this API server answered anything before in this process. A server that was never reached is most
   * likely the wrong one (a dead context, a typo): that fails at once, as kubectl does, instead of after the budget.
   */
  serverAnswered?: boolean;
}

/** How long to wait before trying again, or undefined: do not retry (fail with this error). */
export function retryDelay(input: RetryInput, policy: RetryPolicy = DEFAULT_RETRY, random: () => number = Math.random): number | undefined {
  if (!isRetrySafe(input.method, input.idempotent)) return undefined;
  if (!isTransient(input.error)) return undefined;
  // a request that hit --request-timeout already waited as long as the user allowed: not repeated here
  if (isTimeout(input.error)) return undefined;
  if (input.serverAnswered === false && (input.error as KubeError).statusCode === undefined) return undefined;
  if (input.attempt >= policy.maxAttempts) return undefined;
  const delay = input.retryAfterMs !== undefined ? Math.min(input.retryAfterMs, policy.maxRetryAfterMs) : backoffDelay(input.attempt, policy, random);
  if (input.elapsedMs + delay > policy.budgetMs) return undefined;
  return delay;
}

/** Conflict (409): someone else changed the object between our read and our guarded write. */
export function isConflict(err: unknown): boolean {
  return err instanceof KubeError && err.statusCode === 409;
}

/**
 * A read-modify-write that is retried on 409 Conflict: `attempt` must read the object afresh each time and send a
 * write guarded by the resourceVersion it read (so a concurrent change is never overwritten blindly). Bounded.
 */
export async function withConflictRetry<T>(attempt: (n: number) => Promise<T>, opts: { maxAttempts?: number; onConflict?(n: number, err: KubeError): void; sleep?: (ms: number) => Promise<void> } = {}): Promise<T> {
  const max = opts.maxAttempts ?? 5;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      if (!isConflict(e) || n >= max) throw e;
      opts.onConflict?.(n, e as KubeError);
      await sleep(50 * n);
    }
  }
}
