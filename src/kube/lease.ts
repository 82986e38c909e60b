// A coordination.k8s.io/v1 Lease as a lock between kubectl-redis runs (and people): acquire, renew on an interval,
// release. Another holder's lease is taken only once it has expired: renewTime + leaseDurationSeconds < now.
// client-node hands renewTime back as a string whatever its type says, so everything here reads strings or Dates.
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { KubeError, RefusedError } from '../errors.js';
import type { KubeClient } from './client.js';
import { localIdentity } from '../util/identity.js';

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  acquireTime?: string | Date | null;
  renewTime?: string | Date | null;
  leaseTransitions?: number | null;
}

interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: LeaseSpec;
}

function toMs(t: string | Date | null | undefined): number | undefined {
  if (t === null || t === undefined || t === '') return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** When the lease runs out (ms since epoch); undefined when it was never renewed or has no duration. */
export function leaseExpiresAt(spec: LeaseSpec | undefined): number | undefined {
  const renewed = toMs(spec?.renewTime ?? spec?.acquireTime);
  const duration = spec?.leaseDurationSeconds;
  if (renewed === undefined || duration === undefined || duration === null) return undefined;
  return renewed + duration * 1000;
}

/** True when nobody holds it, or its holder stopped renewing: renewTime + leaseDurationSeconds < now. */
export function leaseExpired(spec: LeaseSpec | undefined, nowMs: number): boolean {
  if (!spec?.holderIdentity) return true;
  const expires = leaseExpiresAt(spec);
  return expires === undefined || expires < nowMs;
}

/**
 * Who holds a lease, in a form a later run can check: written next to holderIdentity as an annotation, so a run on
 * the same host can tell that the holder's process is gone (a kill -9 leaves the lease held until it expires).
 */
export const LEASE_HOLDER_ANNOTATION = 'redis.kubectl.io/holder';

export interface LeaseHolderInfo {
  /** The spec.holderIdentity this describes: the annotation is only believed while the two agree. */
  holder: string;
  /** user@host */
  identity: string;
  host: string;
  pid: number;
  /** The Linux pid namespace (`pid:[4026531836]`): the same hostname in another container sees other pids. */
  pidNamespace?: string;
  /** The operation the holder works on (a journal id such as dr-1a2b3c4d). */
  operation?: string;
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined; // not Linux, or no /proc
  }
}

/** This process as a lease holder. */
export function localHolderInfo(holder: string, operation?: string): LeaseHolderInfo {
  return { holder, identity: localIdentity(), host: hostname(), pid: process.pid, pidNamespace: pidNamespace(), operation };
}

/**
 * What a lease says about its holder: the annotation when it describes the current holderIdentity, else what
 * holderIdentity itself says when it has our `kubectl-redis:user@host/pid[ op=ID]` form; undefined otherwise.
 */
export function readHolderInfo(spec: LeaseSpec | undefined, annotations: Record<string, string> | undefined): LeaseHolderInfo | undefined {
  const holder = spec?.holderIdentity;
  if (!holder) return undefined;
  const raw = annotations?.[LEASE_HOLDER_ANNOTATION];
  if (raw) {
    try {
      const a = JSON.parse(raw) as Partial<LeaseHolderInfo>;
      if (a.holder === holder && typeof a.host === 'string' && typeof a.pid === 'number' && Number.isInteger(a.pid)) {
        return { holder, identity: a.identity ?? a.host, host: a.host, pid: a.pid, pidNamespace: a.pidNamespace, operation: a.operation };
      }
    } catch {
      // not ours: fall back to holderIdentity
    }
  }
  const m = /^kubectl-redis:([^/\s]*@([^/@\s]+))\/(\d+)(?:\s+op=(\S+))?$/.exec(holder);
  if (!m) return undefined;
  return { holder, identity: m[1], host: m[2], pid: Number(m[3]), operation: m[4] };
}

/** process.kill(pid, 0): only ESRCH means no such process (EPERM: it runs, as someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export type LeaseDecision =
  /** Free, expired, or already ours. */
  | { kind: 'acquire' }
  /** Held by a process of this host that is gone, on the operation the journal holds: take it and resume at once. */
  | { kind: 'take-over'; reason: string }
  /** Held by someone who may still be working. */
  | { kind: 'refuse'; reason: string };

export interface LeaseDecisionInput {
  spec: LeaseSpec | undefined;
  /** What the lease says about its holder (readHolderInfo). */
  held: LeaseHolderInfo | undefined;
  /** Us: our holderIdentity and where we run. */
  me: LeaseHolderInfo;
  /** The operation the journal records (its id), whatever its state; undefined when there is no journal. */
  journalOperation: string | undefined;
  nowMs: number;
  alive(pid: number): boolean;
}

/**
 * May this run take the lease? Pure: a dead holder is only recognised on its own host (the same hostname and pid
 * namespace, where process.kill(pid, 0) answers ESRCH), and only taken over when the journal holds the operation it
 * was working on, so the taker resumes that work rather than starting something beside it.
 */
export function decideLease(i: LeaseDecisionInput): LeaseDecision {
  const holder = i.spec?.holderIdentity;
  if (!holder || holder === i.me.holder || leaseExpired(i.spec, i.nowMs)) return { kind: 'acquire' };
  const h = i.held;
  if (!h) return { kind: 'refuse', reason: 'its holder does not say which process it is, so only the expiry frees it' };
  if (h.host !== i.me.host) return { kind: 'refuse', reason: `it runs on host ${h.host}, not here: only that host can tell whether it is still running` };
  if (h.pidNamespace && i.me.pidNamespace && h.pidNamespace !== i.me.pidNamespace) {
    return { kind: 'refuse', reason: `it runs in another process namespace on host ${h.host} (a container), where its process cannot be checked from here` };
  }
  if (h.pid === i.me.pid || i.alive(h.pid)) return { kind: 'refuse', reason: `its process ${h.pid} on this host is still running` };
  if (!h.operation || h.operation !== i.journalOperation) {
    return {
      kind: 'refuse',
      reason: `its process ${h.pid} on this host is gone, but ${h.operation ? `its operation ${h.operation}` : 'its operation'} is not the one the journal holds (${i.journalOperation ?? 'none'}), so there is nothing to resume: wait for the lease to expire`,
    };
  }
  return { kind: 'take-over', reason: `its process ${h.pid} on this host is gone (killed?) and the journal holds its operation ${h.operation}` };
}

/** `user@host/pid`: who holds a lease, readable by a person running kubectl get lease. */
export function defaultHolderIdentity(): string {
  return `kubectl-redis:${localIdentity()}/${process.pid}`;
}

/** MicroTime as the API prints it: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface LeaseLockOptions {
  namespace: string;
  name: string;
  holder?: string;
  durationSeconds?: number;
  /** How often to renew; a third of the duration by default. */
  renewEveryMs?: number;
  /** What the lock protects, for the refusal message (e.g. `migrate of rediscluster "orders"`). */
  purpose?: string;
  labels?: Record<string, string>;
  /** What the holder annotation says about us (the operation, mostly); localHolderInfo by default. */
  holderInfo?: LeaseHolderInfo;
  /** The operation the journal records: a dead holder of this host working on it is taken over (decideLease). */
  journalOperation?: string;
  /** Whether a process runs (tests); pidAlive by default. */
  alive?: (pid: number) => boolean;
  /** Called once if a renewal finds the lease taken or gone: the holder must stop acting. */
  onLost?(reason: string): void;
  clock?: () => number;
}

export class LeaseLock {
  readonly holder: string;
  readonly durationSeconds: number;
  private timer?: NodeJS.Timeout;
  private resourceVersion?: string;
  private lost = false;
  private readonly path: string;
  private readonly clock: () => number;

  constructor(
    private readonly kube: KubeClient,
    private readonly opts: LeaseLockOptions,
  ) {
    this.holder = opts.holder ?? defaultHolderIdentity();
    this.durationSeconds = opts.durationSeconds ?? 60;
    this.clock = opts.clock ?? Date.now;
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(opts.namespace)}/leases`;
  }

  private call(verb: string) {
    return { verb, resource: 'leases.coordination.k8s.io', namespace: this.opts.namespace, name: this.opts.name };
  }

  private async read(): Promise<LeaseObject | undefined> {
    try {
      return await this.kube.request<LeaseObject>({ method: 'GET', path: `${this.path}/${encodeURIComponent(this.opts.name)}`, call: this.call('get') });
    } catch (e) {
      if ((e as KubeError).statusCode === 404) return undefined;
      throw e;
    }
  }

  private refusal(spec: LeaseSpec | undefined, why?: string): RefusedError {
    const expires = leaseExpiresAt(spec);
    const until = expires === undefined ? '' : ` until ${new Date(expires).toISOString()} unless renewed`;
    return new RefusedError(
      `${this.opts.purpose ?? `lease "${this.opts.name}"`} is locked by ${spec?.holderIdentity ?? 'someone else'} (lease "${this.opts.name}" in namespace "${this.opts.namespace}"${until})${why ? `; ${why}` : ''}`,
      { hint: 'wait for that run to finish; a lease its holder stops renewing expires by itself' },
    );
  }

  private annotate(annotations: Record<string, string> | undefined): Record<string, string> {
    const info: LeaseHolderInfo = { ...(this.opts.holderInfo ?? localHolderInfo(this.holder)), holder: this.holder };
    return { ...(annotations ?? {}), [LEASE_HOLDER_ANNOTATION]: JSON.stringify(info) };
  }

  /**
   * Takes the lease or throws RefusedError naming its holder, when it expires and why it is not taken over.
   * Starts renewing it. `tookOverFrom`: the dead holder it was taken from (decideLease), with why.
   */
  async acquire(): Promise<{ tookOverFrom?: string }> {
    const now = this.clock();
    const existing = await this.read();
    let tookOverFrom: string | undefined;
    const spec: LeaseSpec = {
      holderIdentity: this.holder,
      leaseDurationSeconds: this.durationSeconds,
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    try {
      if (!existing) {
        const created = await this.kube.request<LeaseObject>({
          method: 'POST',
          path: this.path,
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.opts.name, namespace: this.opts.namespace, labels: this.opts.labels, annotations: this.annotate(undefined) }, spec },
          call: this.call('create'),
        });
        this.resourceVersion = created.metadata.resourceVersion;
      } else {
        const held = existing.spec?.holderIdentity;
        const decision = decideLease({
          spec: existing.spec, held: readHolderInfo(existing.spec, existing.metadata.annotations),
          me: { ...(this.opts.holderInfo ?? localHolderInfo(this.holder)), holder: this.holder },
          journalOperation: this.opts.journalOperation, nowMs: now, alive: this.opts.alive ?? pidAlive,
        });
        if (decision.kind === 'refuse') throw this.refusal(existing.spec, decision.reason);
        if (decision.kind === 'take-over') tookOverFrom = `${held}: ${decision.reason}`;
        const transitions = (existing.spec?.leaseTransitions ?? 0) + (held && held !== this.holder ? 1 : 0);
        const replaced = await this.kube.request<LeaseObject>({
          method: 'PUT',
          path: `${this.path}/${encodeURIComponent(this.opts.name)}`,
          // the read's resourceVersion goes with it: of two runs taking over the same dead holder, one gets a 409
          body: { ...existing, metadata: { ...existing.metadata, annotations: this.annotate(existing.metadata.annotations) }, spec: { ...spec, leaseTransitions: transitions } },
          call: this.call('update'),
        });
        this.resourceVersion = replaced.metadata.resourceVersion;
      }
    } catch (e) {
      // someone else created or took it between our read and write
      if ((e as KubeError).statusCode === 409) throw this.refusal((await this.read())?.spec);
      throw e;
    }
    this.lost = false;
    const every = this.opts.renewEveryMs ?? Math.max(1000, (this.durationSeconds * 1000) / 3);
    this.timer = setInterval(() => void this.renew().catch(() => undefined), every);
    this.timer.unref();
    return { tookOverFrom };
  }

  /** Renews once; on losing the lease stops renewing and calls onLost. */
  async renew(): Promise<boolean> {
    if (this.lost) return false;
    const current = await this.read();
    if (!current || current.spec?.holderIdentity !== this.holder) {
      this.markLost(current ? `lease "${this.opts.name}" is now held by ${current.spec?.holderIdentity ?? 'nobody'}` : `lease "${this.opts.name}" was deleted`);
      return false;
    }
    try {
      const renewed = await this.kube.request<LeaseObject>({
        method: 'PUT',
        path: `${this.path}/${encodeURIComponent(this.opts.name)}`,
        body: { ...current, spec: { ...current.spec, renewTime: microTime(this.clock()) } },
        call: this.call('update'),
      });
      this.resourceVersion = renewed.metadata.resourceVersion;
      return true;
    } catch (e) {
      if ((e as KubeError).statusCode === 409) return this.renew();
      throw e;
    }
  }

  private markLost(reason: string): void {
    this.lost = true;
    this.stopRenewing();
    this.opts.onLost?.(reason);
  }

  stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Gives the lease up (clears the holder) if we still hold it. */
  async release(): Promise<void> {
    this.stopRenewing();
    const current = await this.read();
    if (!current || current.spec?.holderIdentity !== this.holder) return;
    try {
      await this.kube.request({
        method: 'PUT',
        path: `${this.path}/${encodeURIComponent(this.opts.name)}`,
        body: { ...current, metadata: { ...current.metadata, annotations: withoutHolder(current.metadata.annotations) }, spec: { ...current.spec, holderIdentity: null, renewTime: null, acquireTime: null } },
        call: this.call('update'),
      });
    } catch (e) {
      // a conflict means someone else now owns it: nothing of ours to release
      if ((e as KubeError).statusCode !== 409) throw e;
    }
  }
}

function withoutHolder(annotations: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!annotations) return undefined;
  const { [LEASE_HOLDER_ANNOTATION]: _gone, ...rest } = annotations;
  return rest;
}
