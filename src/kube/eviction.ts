// Evicting a pod the way `kubectl drain` does: POST the Eviction, and while the API answers 429 (a
// PodDisruptionBudget would be violated, or the server throttles) wait (Retry-After when the server sends one,
// else the retry interval) and retry until the timeout. Says which PDB blocked. A transient failure (5xx, API
// server unreachable) is retried too, with backoff, a bounded number of times: an eviction is safe to repeat (a
// pod already evicted answers 404, which counts as gone).
import { TimeoutError } from '../errors.js';
import { formatDuration } from '../util/duration.js';
import type { KubeObject } from './types.js';
import { parseStatus } from './errors.js';
import type { KubeClient } from './client.js';
import type { KubeError } from '../errors.js';
import { backoffDelay, DEFAULT_RETRY, isTransient } from './retry.js';

export interface EvictOptions {
  /** Give up after this long (kubectl drain --timeout). */
  timeoutMs: number;
  /** Pause between attempts after a 429 (kubectl waits 5 s). */
  retryIntervalMs?: number;
  gracePeriodSeconds?: number;
  dryRun?: boolean;
  /** Called on each refusal, for progress lines. */
  onBlocked?(info: { attempt: number; pdb?: string; message: string }): void;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** How often a 5xx / unreachable answer is retried before giving up (default 6). */
  maxTransientRetries?: number;
}

export interface EvictResult {
  /** false only when the pod was already gone. */
  evicted: boolean;
  attempts: number;
  /** The PDB that refused one or more attempts before the eviction went through. */
  blockedBy?: string;
}

/** The eviction kept being refused until the timeout; names the PDB. */
export class EvictionBlockedError extends TimeoutError {
  readonly pdb?: string;
  constructor(message: string, opts: { pdb?: string; hint?: string; cause?: unknown }) {
    super(message, opts);
    this.pdb = opts.pdb;
  }
}

/** The PDB name in a 429 Status: `The disruption budget orders-pdb needs 2 healthy pods and has 2 currently`. */
export function blockingPdb(status: unknown): string | undefined {
  const s = parseStatus(status);
  const texts = [...(s?.details?.causes ?? []).map((c) => c.message ?? ''), s?.message ?? ''];
  for (const text of texts) {
    const m = /disruption budget "?([a-z0-9]([-a-z0-9.]*[a-z0-9])?)"?/i.exec(text);
    if (m && m[1].toLowerCase() !== 'needs') return m[1];
  }
  return undefined;
}

const sleepFor = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function evictPod(kube: KubeClient, namespace: string, pod: string, opts: EvictOptions): Promise<EvictResult> {
  const clock = opts.clock ?? Date.now;
  const sleep = opts.sleep ?? sleepFor;
  const interval = opts.retryIntervalMs ?? 5000;
  const deadline = clock() + opts.timeoutMs;
  const body: KubeObject = {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name: pod, namespace },
    ...(opts.gracePeriodSeconds !== undefined || opts.dryRun
      ? { deleteOptions: { ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}), ...(opts.dryRun ? { dryRun: ['All'] } : {}) } }
      : {}),
  };
  let attempts = 0;
  let transient = 0;
  let blockedBy: string | undefined;
  let lastMessage = '';
  let wait = interval;
  for (;;) {
    attempts++;
    try {
      await kube.request({
        method: 'POST',
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/eviction`,
        query: opts.dryRun ? { dryRun: 'All' } : undefined,
        body,
        call: { verb: 'create', resource: 'pods/eviction', namespace, name: pod },
      });
      return { evicted: true, attempts, blockedBy };
    } catch (e) {
      const err = e as KubeError;
      if (err.statusCode === 404) return { evicted: false, attempts, blockedBy };
      if (err.statusCode !== 429) {
        const delay = evictionRetryDelay(err, ++transient, opts.maxTransientRetries ?? 6, deadline - clock());
        if (delay === undefined) throw e;
        await sleep(delay);
        continue;
      }
      blockedBy = blockingPdb(err.cause) ?? blockedBy;
      lastMessage = parseStatus(err.cause)?.message ?? err.message;
      opts.onBlocked?.({ attempt: attempts, pdb: blockedBy, message: lastMessage });
      wait = err.retryAfterMs !== undefined ? Math.min(err.retryAfterMs, 60_000) : interval;
    }
    const left = deadline - clock();
    if (left <= 0) {
      const by = blockedBy ? ` by PodDisruptionBudget "${blockedBy}"` : '';
      throw new EvictionBlockedError(`could not evict pod "${pod}" in namespace "${namespace}": blocked${by} for ${formatDuration(opts.timeoutMs)} (${lastMessage})`, {
        pdb: blockedBy,
        hint: 'wait for the other members to be Ready, or raise --timeout',
      });
    }
    await sleep(Math.min(wait, left));
  }
}

/** After a non-429 failure of an eviction: the pause before trying again, or undefined to give up (not transient,
 * out of retries, or past the timeout). Pure. */
export function evictionRetryDelay(err: unknown, transientFailures: number, maxTransientRetries: number, leftMs: number): number | undefined {
  if (!isTransient(err) || transientFailures > maxTransientRetries || leftMs <= 0) return undefined;
  return Math.min(leftMs, backoffDelay(transientFailures, DEFAULT_RETRY, () => 0.5));
}
