// A coordination.k8s.io/v1 Lease as a lock between kubectl-redis runs (and people): acquire, renew on an interval,
// release. Another holder's lease is taken only once it has expired: renewTime + leaseDurationSeconds < now.
// client-node hands renewTime back as a string whatever its type says, so everything here reads strings or Dates.
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

  private refusal(spec: LeaseSpec | undefined): RefusedError {
    const expires = leaseExpiresAt(spec);
    const until = expires === undefined ? '' : ` until ${new Date(expires).toISOString()} unless renewed`;
    return new RefusedError(
      `${this.opts.purpose ?? `lease "${this.opts.name}"`} is locked by ${spec?.holderIdentity ?? 'someone else'} (lease "${this.opts.name}" in namespace "${this.opts.namespace}"${until})`,
      { hint: 'wait for that run to finish; a lease its holder stops renewing expires by itself' },
    );
  }

  /** Takes the lease or throws RefusedError naming its holder. Starts renewing it. */
  async acquire(): Promise<void> {
    const now = this.clock();
    const existing = await this.read();
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
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.opts.name, namespace: this.opts.namespace, labels: this.opts.labels }, spec },
          call: this.call('create'),
        });
        this.resourceVersion = created.metadata.resourceVersion;
      } else {
        const held = existing.spec?.holderIdentity;
        if (held && held !== this.holder && !leaseExpired(existing.spec, now)) throw this.refusal(existing.spec);
        const transitions = (existing.spec?.leaseTransitions ?? 0) + (held && held !== this.holder ? 1 : 0);
        const replaced = await this.kube.request<LeaseObject>({
          method: 'PUT',
          path: `${this.path}/${encodeURIComponent(this.opts.name)}`,
          body: { ...existing, spec: { ...spec, leaseTransitions: transitions } },
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
        body: { ...current, spec: { ...current.spec, holderIdentity: null, renewTime: null, acquireTime: null } },
        call: this.call('update'),
      });
    } catch (e) {
      // a conflict means someone else now owns it: nothing of ours to release
      if ((e as KubeError).statusCode !== 409) throw e;
    }
  }
}
