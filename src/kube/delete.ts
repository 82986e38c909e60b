// The one delete helper: DELETE an object, where one already gone (404) is not an error, as `kubectl delete
// --ignore-not-found` does. Says whether this call deleted it.
import type { KubeError } from '../errors.js';
import { resourceName, resourcePath, type KubeClient } from './client.js';
import type { ResourceRef } from './types.js';

export interface DeleteOptions {
  /** 0 deletes a pod at once (its processes are killed without a grace period), as `kubectl delete --grace-period=0`. */
  gracePeriodSeconds?: number;
  /** Background (the default here) lets the garbage collector remove dependents after the call returns. */
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
}

export async function deleteObject(kube: KubeClient, res: ResourceRef, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<boolean> {
  const ns = res.namespaced ? namespace : undefined;
  try {
    await kube.request({
      method: 'DELETE',
      path: resourcePath(res, ns, name),
      query: opts.gracePeriodSeconds === undefined ? undefined : { gracePeriodSeconds: opts.gracePeriodSeconds },
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: opts.propagationPolicy ?? 'Background' },
      call: { verb: 'delete', resource: resourceName(res), namespace: ns, name },
    });
    return true;
  } catch (e) {
    if ((e as KubeError).statusCode === 404) return false;
    throw e;
  }
}
