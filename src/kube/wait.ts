// The one wait helper: poll a check until it says done or the time is up. The TimeoutError names what was awaited
// and the last state seen, so "timed out" is never the whole story.
import { TimeoutError } from '../errors.js';
import { isTransient } from './retry.js';
import { formatDuration } from '../util/duration.js';

/** Returned by a check that is not satisfied yet, with what it saw (used in the timeout message). */
export class NotYet {
  constructor(readonly state: string) {}
}

export function notYet(state: string): NotYet {
  return new NotYet(state);
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Called with each state the check reports, for progress lines. */
  onState?(state: string): void;
  signal?: AbortSignal;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Errors worth retrying inside a wait: the API server was briefly unavailable or throttled us. */
export { isTransient };

/**
 * Waits until `check` returns a value (anything but undefined or a NotYet). `what` completes the sentence
 * "timed out after 2m waiting for <what>", e.g. `pod "orders-0" in namespace "redis" to be Ready`.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | NotYet | undefined>, opts: WaitOptions): Promise<T> {
  const clock = opts.clock ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const interval = opts.intervalMs ?? 1000;
  const deadline = clock() + opts.timeoutMs;
  let last: string | undefined;
  for (;;) {
    if (opts.signal?.aborted) throw new TimeoutError(`stopped waiting for ${what}`);
    try {
      const result = await check();
      if (result instanceof NotYet) {
        if (result.state !== last) opts.onState?.(result.state);
        last = result.state;
      } else if (result !== undefined) {
        return result;
      }
    } catch (e) {
      if (!isTransient(e)) throw e;
      last = (e as Error).message;
    }
    const left = deadline - clock();
    if (left <= 0) {
      throw new TimeoutError(`timed out after ${formatDuration(opts.timeoutMs)} waiting for ${what}${last ? ` (last seen: ${last})` : ''}`);
    }
    await sleep(Math.min(interval, left));
  }
}
