// One error hierarchy for the whole CLI. Every error a user can see is one of these: a single sentence
// (what, on which object, what to do) and the exit code from ARCHITECTURE.md. base-command maps them.

export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  findings: 3,
  refused: 4,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class KubectlRedisError extends Error {
  readonly exitCode: ExitCodeValue;
  /** Optional second line: a hint of what to run next. */
  readonly hint?: string;
  constructor(message: string, opts: { exitCode?: ExitCodeValue; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode ?? ExitCode.error;
    this.hint = opts.hint;
  }
}

/** Bad flags or arguments: exit 2. */
export class UsageError extends KubectlRedisError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: ExitCode.usage });
  }
}

/** Kubeconfig, context, API server, RBAC, or a missing object. */
export class KubeError extends KubectlRedisError {
  readonly statusCode?: number;
  readonly reason?: string;
  /** The server's Retry-After, when it sent one (429, 503). */
  readonly retryAfterMs?: number;
  constructor(message: string, opts: { statusCode?: number; reason?: string; hint?: string; cause?: unknown; exitCode?: ExitCodeValue; retryAfterMs?: number } = {}) {
    super(message, opts);
    this.statusCode = opts.statusCode;
    this.reason = opts.reason;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** An object the user named does not exist (or is ambiguous). */
export class NotFoundError extends KubeError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...opts, statusCode: 404, reason: 'NotFound' });
  }
}

/** The user lacks a permission; names the verb and resource. */
export class ForbiddenError extends KubeError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...opts, statusCode: 403, reason: 'Forbidden' });
  }
}

/** Talking to Redis failed: unreachable, wrong password, TLS. */
export class RedisError extends KubectlRedisError {
  readonly pod?: string;
  constructor(message: string, opts: { pod?: string; hint?: string; cause?: unknown } = {}) {
    super(message, opts);
    this.pod = opts.pod;
  }
}

/**
 * A safety check refused to act: precondition failed, lock held, paused by someone else, confirmation missing in a
 * non-interactive shell, data could be lost. Exit 4. Nothing was changed by the step that refused.
 */
export class RefusedError extends KubectlRedisError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: ExitCode.refused });
  }
}

/** A wait ran out of time: names what was awaited. */
export class TimeoutError extends KubectlRedisError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts);
  }
}

/** The sentence of whatever was thrown (an Error's message, or the value itself). */
export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
