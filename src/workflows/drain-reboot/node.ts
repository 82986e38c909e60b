// What drain-reboot writes on a Node while it owns it, and the pod that reboots it. Pure data builders.
// The mark lets a resumed run, `status`, and a human with `kubectl describe node` tell our cordon from anyone
// else's (kured#63), and remembers whether the node was cordoned before we came (never uncordon someone else's).
import type { KubeObject } from '../../kube/types.js';

export const NODE_MARK_ANNOTATION = 'redis.kubectl.io/drain-reboot';

export interface NodeMark {
  operationId: string;
  holder: string;
  step: string;
  startedAt: string;
  /** spec.unschedulable when we found the node: if true, we never uncordon it. */
  cordonedBefore: boolean;
  /** status.nodeInfo.bootID before the reboot: a new one proves the reboot happened. */
  bootIdBefore?: string;
}

export function readNodeMark(node: KubeObject): NodeMark | undefined {
  const raw = node.metadata.annotations?.[NODE_MARK_ANNOTATION];
  if (!raw) return undefined;
  try {
    const m = JSON.parse(raw) as Partial<NodeMark>;
    if (typeof m.operationId !== 'string' || typeof m.step !== 'string') return undefined;
    return { operationId: m.operationId, holder: m.holder ?? 'unknown', step: m.step, startedAt: m.startedAt ?? '', cordonedBefore: m.cordonedBefore === true, bootIdBefore: m.bootIdBefore };
  } catch {
    return undefined;
  }
}

export function nodeMarkPatch(mark: NodeMark | null): Record<string, unknown> {
  return { metadata: { annotations: { [NODE_MARK_ANNOTATION]: mark ? JSON.stringify(mark) : null } } };
}

export function isCordoned(node: KubeObject): boolean {
  return (node.spec as { unschedulable?: boolean } | undefined)?.unschedulable === true;
}

export function bootId(node: KubeObject): string | undefined {
  return (node.status as { nodeInfo?: { bootID?: string } } | undefined)?.nodeInfo?.bootID;
}

export function isNodeReady(node: KubeObject): boolean {
  const conds = (node.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? [];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Still ours to reboot (the seed-004 re-check after the delay): cordoned, and carrying our mark of this operation.
 * Returns the reason it is not, or undefined when it is.
 */
export function whyNotOursToReboot(node: KubeObject, operationId: string): string | undefined {
  if (!isCordoned(node)) return `node "${node.metadata.name}" was uncordoned while we waited; it may have new pods, so it was not rebooted`;
  const mark = readNodeMark(node);
  if (!mark) return `node "${node.metadata.name}" lost our drain-reboot mark while we waited; someone else is handling it, so it was not rebooted`;
  if (mark.operationId !== operationId) return `node "${node.metadata.name}" is marked by another drain-reboot (${mark.operationId} by ${mark.holder}); it was not rebooted`;
  return undefined;
}

export const DEFAULT_REBOOT_IMAGE = 'docker.io/library/alpine:3.20';
/** Where the reboot pod runs unless --reboot-namespace says otherwise (privileged under Pod Security by default). */
export const DEFAULT_REBOOT_NAMESPACE = 'kube-system';
export const REBOOT_COMMAND = ['nsenter', '-t', '1', '-m', '-u', '-i', '-n', '--', 'reboot'];

/** A privileged hostPID pod pinned to the node that reboots it through PID 1's namespaces (as Kured does). */
export function rebootPod(nodeName: string, operationId: string, namespace: string, image = DEFAULT_REBOOT_IMAGE, command = REBOOT_COMMAND): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `kubectl-redis-reboot-${nodeName}`.slice(0, 63).replace(/-+$/, ''),
      namespace,
      labels: { 'app.kubernetes.io/managed-by': 'kubectl-redis', 'redis.kubectl.io/operation': operationId },
    },
    spec: {
      nodeName,
      hostPID: true,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      tolerations: [{ operator: 'Exists' }],
      containers: [
        {
          name: 'reboot',
          image,
          command,
          securityContext: { privileged: true },
        },
      ],
    },
  };
}
