// What a cross-cluster migration (kubectl redis migrate) needs to know about a target, and which targets it can move.
// Only this directory knows operators' names and env vars: the workflow asks here which StatefulSets move, in which
// order, what the operator's custom resource is, and how the destination's pod template differs from the source's.
import type { KubeObject } from '../kube/types.js';
import type { Target } from './types.js';

export const MIGRATABLE = 'Bitnami redis-cluster StatefulSets (sts/NAME) and OT RedisCluster (rediscluster/NAME)';

export interface MigrationProfile {
  /** The StatefulSets that move, in order: replicas first (they need no failover), masters' sets last. */
  statefulSets: string[];
  /**
   * The operator's custom resource, created paused in the destination (the operator there takes over once the move
   * is done); undefined for a chart with no controller.
   */
  owner?: KubeObject;
  /** The destination StatefulSet's pod template, from the source's (already stripped and re-namespaced). */
  destinationTemplate(sts: KubeObject, namespace: string): KubeObject;
}

export type MigrationSupport = { supported: true; profile: MigrationProfile } | { supported: false; why: string };

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface TemplateShape {
  serviceName?: string;
  template?: { spec?: { containers?: Array<{ env?: EnvVar[] }> } };
}

/**
 * Bitnami redis-cluster rewrites peers' addresses in nodes.conf from a DNS lookup of every REDIS_NODES host at start,
 * waiting for each one to resolve. The per-pod names of ordinals still in the source never resolve in the destination,
 * so, as seed 003 installs the destination chart, REDIS_NODES there is the headless Service (it resolves at once).
 */
function bitnamiDestination(sts: KubeObject, namespace: string): KubeObject {
  const copy = structuredClone(sts);
  const spec = (copy.spec ?? {}) as TemplateShape;
  const headless = spec.serviceName ? `${spec.serviceName}.${namespace}.svc.cluster.local` : undefined;
  for (const c of spec.template?.spec?.containers ?? []) {
    for (const e of c.env ?? []) {
      if (e.name === 'REDIS_NODES' && headless && e.valueFrom === undefined) e.value = headless;
    }
  }
  return copy;
}

export function migrationSupport(target: Target): MigrationSupport {
  if (target.system === 'bitnami' && target.kind === 'StatefulSet' && target.topology === 'cluster') {
    return { supported: true, profile: { statefulSets: [target.name], destinationTemplate: bitnamiDestination } };
  }
  if (target.system === 'ot' && target.kind === 'RedisCluster') {
    return {
      supported: true,
      profile: {
        // follower pods are replicas: they move without a failover; each leader then fails over to its follower
        statefulSets: [`${target.name}-follower`, `${target.name}-leader`],
        owner: target.object,
        destinationTemplate: (sts) => structuredClone(sts),
      },
    };
  }
  return { supported: false, why: `migrate supports ${MIGRATABLE}; ${target.ref} is a ${target.system} ${target.kind} (${target.topology}), which it cannot move yet` };
}
