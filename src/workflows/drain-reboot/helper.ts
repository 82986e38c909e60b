// The Kubernetes half of drain-reboot, shaped like k8s.io/kubectl/pkg/drain's Helper: read a node and its pods,
// cordon/uncordon (with our mark), evict through the Eviction API (429 = a PDB says not yet: retry until the timeout),
// wait for the evicted pods to be gone, and reboot the node (privileged pod, a local command, or someone else).
import { spawn } from 'node:child_process';
import { errText, KubeError, RefusedError, TimeoutError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import { deleteObject } from '../../kube/delete.js';
import { evictPod } from '../../kube/eviction.js';
import { patchObject, jsonPointerSegment } from '../../kube/patch.js';
import type { KubeObject } from '../../kube/types.js';
import { notYet, waitFor } from '../../kube/wait.js';
import { mapPool } from '../../util/pool.js';
import { selectPodsToEvict, type DrainSelection } from './filters.js';
import { bootId, isCordoned, isNodeReady, NODE_MARK_ANNOTATION, nodeMarkPatch, rebootPod, whyNotOursToReboot, type NodeMark } from './node.js';
import { RES } from '../../kube/resources.js';

export const NODES = RES.nodes;
export const PODS = RES.pods;

export interface HelperOptions {
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  /** kubectl drain --force: evict pods that declare no controller */
  force?: boolean;
  /** kubectl drain --pod-selector: only the node's pods matching it are drained (listed with it, as pkg/drain does) */
  podSelector?: string;
  /** kubectl drain --skip-wait-for-delete-timeout: pods deleted longer ago than this are neither evicted nor waited for */
  skipWaitForDeleteTimeoutSeconds?: number;
  /** kubectl drain --disable-eviction: DELETE the pods instead of evicting them (PodDisruptionBudgets are bypassed) */
  disableEviction?: boolean;
  /** --grace-period; undefined = each pod's own terminationGracePeriodSeconds */
  gracePeriodSeconds?: number;
  /** How long evictions may be refused (429) before giving up, and how long the pods may take to go. */
  timeoutMs: number;
  /** Pause between attempts after a 429 (kubectl: 5 s). */
  evictRetryMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
  log(message: string): void;
}

const podKey = (p: KubeObject) => `${p.metadata.namespace}/${p.metadata.name}`;

export class DrainHelper {
  constructor(
    readonly kube: KubeClient,
    private readonly opts: HelperOptions,
  ) {}

  async getNode(name: string): Promise<KubeObject | undefined> {
    return this.kube.get(NODES, undefined, name);
  }

  async mustGetNode(name: string): Promise<KubeObject> {
    const n = await this.getNode(name);
    if (!n) throw new KubeError(`node "${name}" does not exist (any more)`, { statusCode: 404 });
    return n;
  }

  listNodes(): Promise<KubeObject[]> {
    return this.kube.list(NODES, undefined);
  }

  /** Every pod bound to the node, in every namespace (what kubectl drain looks at). */
  podsOnNode(node: string, labelSelector?: string): Promise<KubeObject[]> {
    return this.kube.list(PODS, undefined, { fieldSelector: `spec.nodeName=${node}`, labelSelector });
  }

  /** kubectl drain's filters over the node's pods. */
  async selection(node: string, nowMs = Date.now()): Promise<DrainSelection> {
    // k8s.io/kubectl pkg/drain GetPodsForDeletion lists the node's pods with LabelSelector: PodSelector
    const pods = await this.podsOnNode(node, this.opts.podSelector || undefined);
    return selectPodsToEvict(pods, {
      ignoreDaemonSets: this.opts.ignoreDaemonSets, deleteEmptyDirData: this.opts.deleteEmptyDirData,
      force: this.opts.force === true, skipWaitForDeleteTimeoutSeconds: this.opts.skipWaitForDeleteTimeoutSeconds ?? 0,
    }, nowMs);
  }

  private patchNode(name: string, patch: Record<string, unknown>): Promise<KubeObject> {
    // cordon, mark and release set absolute values: sending one twice is sending it once
    return patchObject(this.kube, NODES, undefined, name, patch, { kind: 'merge', idempotent: true });
  }

  /** spec.unschedulable=true plus our mark, in one patch. */
  cordon(name: string, mark: NodeMark): Promise<KubeObject> {
    return this.patchNode(name, { spec: { unschedulable: true }, ...nodeMarkPatch(mark) });
  }

  /** Rewrites our mark (the step we are at), only while the node still carries this operation's mark. */
  async updateMark(name: string, mark: NodeMark): Promise<KubeObject> {
    const node = await this.mustGetNode(name);
    const current = node.metadata.annotations?.[NODE_MARK_ANNOTATION];
    if (current === undefined) return this.patchNode(name, nodeMarkPatch(mark));
    return patchObject(this.kube, NODES, undefined, name, [
      { op: 'test', path: `/metadata/annotations/${jsonPointerSegment(NODE_MARK_ANNOTATION)}`, value: current },
      { op: 'replace', path: `/metadata/annotations/${jsonPointerSegment(NODE_MARK_ANNOTATION)}`, value: JSON.stringify(mark) },
    ]);
  }

  /**
   * The seed-004 check, made atomic: in ONE JSON patch, test that the node is still cordoned and still carries our
   * exact mark, and write the next step into the mark. A failed test (422) means someone changed the node meanwhile:
   * RefusedError with the reason, and nothing is rebooted.
   */
  async claimForReboot(name: string, operationId: string, next: NodeMark): Promise<KubeObject> {
    const node = await this.mustGetNode(name);
    const why = whyNotOursToReboot(node, operationId);
    if (why) throw new RefusedError(why, { hint: 'nothing was rebooted; look at who uncordoned it (kubectl get events), then re-run drain-reboot for that node' });
    const current = node.metadata.annotations?.[NODE_MARK_ANNOTATION] ?? '';
    const path = `/metadata/annotations/${jsonPointerSegment(NODE_MARK_ANNOTATION)}`;
    try {
      return await patchObject(this.kube, NODES, undefined, name, [
        { op: 'test', path: '/spec/unschedulable', value: true },
        { op: 'test', path, value: current },
        { op: 'replace', path, value: JSON.stringify(next) },
      ]);
    } catch (e) {
      const code = (e as KubeError).statusCode;
      if (code !== 422 && code !== 409) throw e;
      const again = await this.mustGetNode(name);
      throw new RefusedError(whyNotOursToReboot(again, operationId) ?? `node "${name}" changed while we were about to reboot it; it was not rebooted`, {
        hint: 'nothing was rebooted; re-run drain-reboot for that node when whoever changed it is done',
      });
    }
  }

  /** Uncordons (unless it was cordoned before we came) and removes our mark. */
  async release(name: string, cordonedBefore: boolean): Promise<KubeObject> {
    return this.patchNode(name, { ...(cordonedBefore ? {} : { spec: { unschedulable: null } }), ...nodeMarkPatch(null) });
  }

  /** Removes our mark only (the node was uncordoned by someone else: it is not ours any more). */
  async dropMark(name: string): Promise<void> {
    await this.patchNode(name, nodeMarkPatch(null)).catch(() => undefined);
  }

  /**
   * Evicts the pods (all at once, each retrying on 429 until the timeout, as kubectl drain does), then waits for
   * every one of them to be gone (same uid no longer exists).
   */
  async evictAndWait(pods: KubeObject[]): Promise<{ evicted: string[]; blockedBy: Map<string, string> }> {
    const blockedBy = new Map<string, string>();
    const results = await mapPool(pods, 32, async (p) => {
      const ns = p.metadata.namespace ?? 'default';
      if (this.opts.disableEviction) {
        // kubectl drain --disable-eviction: "Force drain to use delete, even if eviction is supported. This will bypass
        // checking PodDisruptionBudgets" (k8s.io/kubectl pkg/cmd/drain/drain.go, pkg/drain deletePod)
        if (await deleteObject(this.kube, PODS, ns, p.metadata.name, { gracePeriodSeconds: this.opts.gracePeriodSeconds })) this.opts.log(`deleted pod ${podKey(p)}`);
        return podKey(p);
      }
      const r = await evictPod(this.kube, ns, p.metadata.name, {
        timeoutMs: this.opts.timeoutMs,
        retryIntervalMs: this.opts.evictRetryMs ?? 5000,
        gracePeriodSeconds: this.opts.gracePeriodSeconds,
        onBlocked: ({ attempt, pdb }) => {
          if (attempt === 1) this.opts.log(`eviction of ${podKey(p)} refused for now${pdb ? ` by PodDisruptionBudget "${pdb}"` : ''}; retrying`);
        },
      });
      if (r.blockedBy) blockedBy.set(podKey(p), r.blockedBy);
      if (r.evicted) this.opts.log(`evicted pod ${podKey(p)}`);
      return podKey(p);
    });
    await this.waitGone(pods);
    return { evicted: results, blockedBy };
  }

  /** Waits until none of these pods (by uid) exists any more. */
  async waitGone(pods: KubeObject[]): Promise<void> {
    const left = new Map(pods.map((p) => [podKey(p), p]));
    await waitFor(
      `${left.size} evicted pod${left.size === 1 ? '' : 's'} to be gone`,
      async () => {
        const skipAfter = this.opts.skipWaitForDeleteTimeoutSeconds ?? 0;
        for (const [key, p] of left) {
          const now = await this.kube.get(PODS, p.metadata.namespace, p.metadata.name);
          if (!now || now.metadata.uid !== p.metadata.uid) left.delete(key);
          // pkg/drain waitForDelete: a pod deleted longer ago than --skip-wait-for-delete-timeout is not waited for
          else if (skipAfter > 0 && now.metadata.deletionTimestamp && (Date.now() - new Date(now.metadata.deletionTimestamp).getTime()) / 1000 > skipAfter) left.delete(key);
        }
        return left.size === 0 ? true : notYet(`still there: ${[...left.keys()].join(', ')}`);
      },
      { timeoutMs: this.opts.timeoutMs, intervalMs: this.opts.pollMs ?? 500, signal: this.opts.signal },
    );
  }

  /** Evicts one pod and waits until it is gone (used to move a replica off the node before its master). */
  async evictOne(namespace: string, pod: string): Promise<void> {
    const p = await this.kube.get(PODS, namespace, pod);
    if (!p) return;
    await this.evictAndWait([p]);
  }

  // ---- reboot ------------------------------------------------------------------------------------------------

  /**
   * Asks the API server to admit the reboot pod without creating it (dryRun=All: admission runs, nothing is
   * stored), so a namespace whose Pod Security level forbids privileged hostPID pods is refused before any node
   * is touched, with the namespace and the label to set.
   */
  async checkRebootPodAdmitted(namespace: string, image?: string): Promise<void> {
    const pod = rebootPod('admission-check', 'admission-check', namespace, image);
    try {
      await this.kube.request({
        method: 'POST',
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
        query: { dryRun: 'All' },
        body: pod,
        call: { verb: 'create', resource: 'pods', namespace, name: pod.metadata.name },
        idempotent: true,
      });
    } catch (e) {
      const text = errText(e);
      if (e instanceof KubeError && e.statusCode === 403 && /violates PodSecurity/.test(text)) {
        throw new RefusedError(
          `Pod Security in namespace "${namespace}" refuses the reboot pod (privileged, hostPID): label it pod-security.kubernetes.io/enforce=privileged (kubectl label namespace ${namespace} pod-security.kubernetes.io/enforce=privileged --overwrite), or name one that allows it with --reboot-namespace; nothing was changed`,
          { cause: e, hint: text },
        );
      }
      if (e instanceof KubeError && e.statusCode === 404) throw new RefusedError(`namespace "${namespace}" for the reboot pod does not exist: create it or pick another with --reboot-namespace; nothing was changed`, { cause: e });
      throw e;
    }
  }

  /** Creates the privileged reboot pod on the node (replacing a leftover one). */
  async startRebootPod(node: string, operationId: string, namespace: string, image?: string): Promise<string> {
    const pod = rebootPod(node, operationId, namespace, image);
    await this.deletePod(namespace, pod.metadata.name);
    await this.kube.request({
      method: 'POST',
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      body: pod,
      call: { verb: 'create', resource: 'pods', namespace, name: pod.metadata.name },
    });
    return pod.metadata.name;
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    if (!(await deleteObject(this.kube, PODS, namespace, name, { gracePeriodSeconds: 0 }))) return;
    await waitFor(`pod "${name}" in namespace "${namespace}" to be deleted`, async () => ((await this.kube.get(PODS, namespace, name)) ? notYet('still there') : true), {
      timeoutMs: 60_000, intervalMs: 250, signal: this.opts.signal,
    });
  }

  /** Runs --reboot-command through the shell, with the node's name in $KUBECTL_REDIS_NODE and in place of {node}. */
  runRebootCommand(node: string, command: string): Promise<number> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn('sh', ['-c', command.replaceAll('{node}', node)], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, KUBECTL_REDIS_NODE: node } });
      child.on('error', reject);
      child.on('close', (code) => resolvePromise(code ?? 1));
    });
  }

  /** Waits for a boot ID other than `before`, then for Ready. */
  async waitRebooted(node: string, before: string | undefined, timeoutMs: number, onState?: (s: string) => void): Promise<KubeObject> {
    return waitFor(
      `node "${node}" to come back with a new boot ID and Ready`,
      async () => {
        const n = await this.getNode(node);
        if (!n) return notYet('node not found');
        const now = bootId(n);
        if (!now || now === before) return notYet(isNodeReady(n) ? 'same boot ID, Ready' : 'NotReady (rebooting)');
        if (!isNodeReady(n)) return notYet('new boot ID, not Ready yet');
        return n;
      },
      { timeoutMs, intervalMs: this.opts.pollMs ?? 500, signal: this.opts.signal, onState },
    );
  }
}

export { bootId, isCordoned, isNodeReady };

/** The error when the pods did not go in time: names them, says the node was uncordoned again. */
export function drainFailed(node: string, cause: unknown, uncordoned: boolean, leftCordonedBy?: string): TimeoutError {
  const msg = errText(cause);
  if (leftCordonedBy) {
    return new TimeoutError(`draining node "${node}" failed: ${msg}; "${node}" could not be uncordoned either and is left cordoned by drain-reboot ${leftCordonedBy}, not rebooted`, {
      hint: 'once the API server answers, run drain-reboot --resume to finish it, or drain-reboot --abort to uncordon it',
      cause,
    });
  }
  return new TimeoutError(`draining node "${node}" failed: ${msg}${uncordoned ? `; "${node}" was uncordoned again and not rebooted` : ''}`, {
    hint: 'fix what blocked it (a PodDisruptionBudget, a pod that will not stop), then run drain-reboot again',
    cause,
  });
}
