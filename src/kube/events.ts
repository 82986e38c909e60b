// Records a core/v1 Event on an object, so `kubectl describe` and `kubectl get events` show what kubectl-redis did.
import { hostname } from 'node:os';
import type { KubeClient } from './client.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EventInput {
  /** CamelCase, e.g. Paused, FailoverStarted, NodeDrained. */
  reason: string;
  message: string;
  type?: 'Normal' | 'Warning';
  /** What was done, e.g. Pause, Migrate (events.k8s.io `action`). */
  action?: string;
}

export const REPORTING_COMPONENT = 'kubectl-redis';

/** The Event object we post; exported for tests. */
export function buildEvent(target: EventTarget, input: EventInput, nowMs: number, host = hostname()): Record<string, unknown> {
  const now = new Date(nowMs).toISOString();
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${target.name}.`, namespace: target.namespace },
    involvedObject: {
      apiVersion: target.apiVersion,
      kind: target.kind,
      name: target.name,
      namespace: target.namespace,
      ...(target.uid ? { uid: target.uid } : {}),
      ...(target.resourceVersion ? { resourceVersion: target.resourceVersion } : {}),
    },
    reason: input.reason,
    message: input.message,
    type: input.type ?? 'Normal',
    action: input.action ?? input.reason,
    source: { component: REPORTING_COMPONENT, host },
    reportingComponent: REPORTING_COMPONENT,
    reportingInstance: host,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

/**
 * Posts the Event. Recording is a courtesy, not the work: by default a failure (no RBAC for events, say) returns
 * false instead of failing the operation; pass `required` to get the error.
 */
export async function recordEvent(kube: KubeClient, target: EventTarget, input: EventInput, opts: { required?: boolean; clock?: () => number } = {}): Promise<boolean> {
  try {
    await kube.request({
      method: 'POST',
      path: `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/events`,
      body: buildEvent(target, input, (opts.clock ?? Date.now)()),
      call: { verb: 'create', resource: 'events', namespace: target.namespace },
    });
    return true;
  } catch (e) {
    if (opts.required) throw e;
    return false;
  }
}
