// API-level fault injection (`sandbox fault`): latency, injected error responses, dropped watches, an
// unreachable API server; node and pod faults are handed to the kubelets' NodeOps.
import type { NodeOps } from '../core/context.js';
import { ApiError, apiError } from './status.js';

export type FaultSpec =
  | { kind: 'latency'; ms: number; seconds?: number }
  | { kind: 'error'; code: 409 | 429 | 500; verbs?: string[]; resource?: string; count?: number; seconds?: number }
  | { kind: 'drop-watches' }
  | { kind: 'unreachable'; seconds: number }
  | { kind: 'clear' }
  | { kind: 'node-reboot' | 'node-hang' | 'node-resume'; node: string }
  | { kind: 'kill' | 'freeze' | 'thaw'; namespace: string; pod: string; container?: string };

interface ActiveFault {
  id: number;
  spec: FaultSpec;
  until?: number;
  remaining?: number;
}

export interface FaultHooks {
  dropWatches(): void;
  setUnreachable(untilMs: number): void;
  nodeOps(): NodeOps | undefined;
}

function positive(v: unknown, what: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw apiError(400, `fault: ${what} must be a non-negative number`);
  return n;
}

export class Faults {
  private seq = 0;
  private active: ActiveFault[] = [];

  constructor(private readonly hooks: FaultHooks) {}

  private prune(now = Date.now()): void {
    this.active = this.active.filter((f) => (f.until === undefined || f.until > now) && (f.remaining === undefined || f.remaining > 0));
  }

  list(): Array<Record<string, unknown>> {
    this.prune();
    return this.active.map((f) => ({
      id: f.id,
      ...f.spec,
      ...(f.until !== undefined ? { expiresAt: new Date(f.until).toISOString() } : {}),
      ...(f.remaining !== undefined ? { remaining: f.remaining } : {}),
    }));
  }

  /** Inject a fault; resolves once node/pod faults have been carried out. */
  async inject(raw: unknown): Promise<Record<string, unknown>> {
    const spec = raw as FaultSpec;
    const until = (s: unknown): number | undefined => (s === undefined ? undefined : Date.now() + positive(s, 'seconds') * 1000);
    switch (spec?.kind) {
      case 'latency': {
        positive(spec.ms, 'ms');
        const f = { id: ++this.seq, spec, until: until(spec.seconds) };
        this.active.push(f);
        return { id: f.id };
      }
      case 'error': {
        if (![409, 429, 500].includes(Number(spec.code))) throw apiError(400, 'fault: code must be one of 409, 429, 500');
        const f: ActiveFault = { id: ++this.seq, spec: { ...spec, code: Number(spec.code) as 409 | 429 | 500 }, until: until(spec.seconds) };
        if (spec.count !== undefined) f.remaining = positive(spec.count, 'count');
        this.active.push(f);
        return { id: f.id };
      }
      case 'drop-watches':
        this.hooks.dropWatches();
        return {};
      case 'unreachable': {
        const ms = positive(spec.seconds, 'seconds') * 1000;
        const f = { id: ++this.seq, spec, until: Date.now() + ms };
        this.active.push(f);
        // Answer this request first, then go dark.
        setTimeout(() => this.hooks.setUnreachable(Date.now() + ms), 50).unref();
        return { id: f.id };
      }
      case 'clear':
        this.active = [];
        this.hooks.setUnreachable(0);
        return {};
      case 'node-reboot':
      case 'node-hang':
      case 'node-resume': {
        const ops = this.requireOps();
        if (!spec.node) throw apiError(400, 'fault: node is required');
        if (spec.kind === 'node-reboot') await ops.reboot(spec.node);
        else if (spec.kind === 'node-hang') await ops.hang(spec.node);
        else await ops.resume(spec.node);
        return {};
      }
      case 'kill':
      case 'freeze':
      case 'thaw': {
        const ops = this.requireOps();
        if (!spec.namespace || !spec.pod) throw apiError(400, 'fault: namespace and pod are required');
        if (spec.kind === 'kill') await ops.killContainer(spec.namespace, spec.pod, spec.container);
        else if (spec.kind === 'freeze') await ops.freeze(spec.namespace, spec.pod);
        else await ops.thaw(spec.namespace, spec.pod);
        return {};
      }
      default:
        throw apiError(400, `fault: unknown kind ${JSON.stringify((raw as { kind?: unknown })?.kind)}`);
    }
  }

  private requireOps(): NodeOps {
    const ops = this.hooks.nodeOps();
    if (!ops) throw apiError(503, 'fault: this cluster has no kubelets running');
    return ops;
  }

  /** Milliseconds of injected latency for the next request. */
  latency(): number {
    this.prune();
    let ms = 0;
    for (const f of this.active) if (f.spec.kind === 'latency') ms = Math.max(ms, f.spec.ms);
    return ms;
  }

  /** An injected error for this request, if one matches (consuming one of its count). */
  errorFor(verb: string, resource: string, group: string, subresource: string, name: string): ApiError | undefined {
    this.prune();
    const full = subresource ? `${resource}/${subresource}` : resource;
    const qualified = group ? `${resource}.${group}` : resource;
    for (const f of this.active) {
      if (f.spec.kind !== 'error') continue;
      const s = f.spec;
      if (s.verbs && s.verbs.length > 0 && !s.verbs.includes(verb)) continue;
      if (s.resource && ![full, resource, qualified, subresource ? `${qualified}/${subresource}` : qualified].includes(s.resource)) continue;
      if (f.remaining !== undefined) f.remaining -= 1;
      return injected(s.code, qualified, full, name);
    }
    return undefined;
  }
}

function injected(code: number, qualified: string, full: string, name: string): ApiError {
  if (code === 409) {
    return apiError(409, `Operation cannot be fulfilled on ${qualified} "${name}": the object has been modified; please apply your changes to the latest version and try again`, {
      name,
      kind: qualified,
    });
  }
  if (code === 429) {
    if (full === 'pods/eviction') {
      return apiError(429, "Cannot evict pod as it would violate the pod's disruption budget.", {
        causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget (injected fault) needs 1 healthy pods and has 0 currently' }],
      });
    }
    const e = apiError(429, 'the server has received too many requests and has asked us to try again later', { retryAfterSeconds: 1 });
    e.headers['Retry-After'] = '1';
    return e;
  }
  return apiError(500, 'Internal error occurred: injected fault', { causes: [{ message: 'injected fault' }] });
}
