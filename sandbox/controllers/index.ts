// kube-controller-manager + kube-scheduler of one simulated cluster: each controller is a small level-triggered loop
// over the store, run on the watch events of what it reads and on a periodic resync.
import type { ClusterContext } from '../core/context.js';
import { DaemonSetController } from './daemonset.js';
import { DeploymentController, ReplicaSetController } from './deployment.js';
import { DisruptionController } from './pdb.js';
import { EndpointsController } from './endpoints.js';
import { GarbageCollector } from './gc.js';
import { NodeLifecycleController } from './nodelifecycle.js';
import { PersistentVolumeController } from './pv.js';
import { Scheduler } from './scheduler.js';
import { StatefulSetController } from './statefulset.js';
import { startLoop, type Loop } from './util.js';

export async function startControllers(ctx: ClusterContext): Promise<{ stop(): Promise<void> }> {
  const sts = new StatefulSetController(ctx);
  const rs = new ReplicaSetController(ctx);
  const deploy = new DeploymentController(ctx);
  const ds = new DaemonSetController(ctx);
  const scheduler = new Scheduler(ctx);
  const pv = new PersistentVolumeController(ctx);
  const pdb = new DisruptionController(ctx);
  const endpoints = new EndpointsController(ctx);
  const gc = new GarbageCollector(ctx);
  const nodes = new NodeLifecycleController(ctx);
  const loops: Loop[] = [
    startLoop(ctx, 'statefulset', ['statefulsets.apps', 'pods', 'persistentvolumeclaims', 'controllerrevisions.apps'], () => sts.pass(), { resyncMs: 3000 }),
    startLoop(ctx, 'replicaset', ['replicasets.apps', 'pods'], () => rs.pass(), { resyncMs: 3000 }),
    startLoop(ctx, 'daemonset', ['daemonsets.apps', 'pods', 'nodes'], () => ds.pass(), { resyncMs: 3000 }),
    startLoop(ctx, 'deployment', ['deployments.apps', 'replicasets.apps'], () => deploy.pass(), { resyncMs: 3000 }),
    startLoop(ctx, 'scheduler', ['pods', 'nodes'], () => scheduler.pass(), { resyncMs: 2000, debounceMs: 10 }),
    startLoop(ctx, 'persistentvolume', ['persistentvolumeclaims', 'persistentvolumes', 'storageclasses.storage.k8s.io'], () => pv.pass(), { resyncMs: 3000, debounceMs: 10 }),
    startLoop(ctx, 'disruption', ['poddisruptionbudgets.policy', 'pods', 'statefulsets.apps', 'deployments.apps', 'replicasets.apps'], () => pdb.pass(), { resyncMs: 5000 }),
    startLoop(ctx, 'endpoints', ['services', 'pods', 'endpoints'], () => endpoints.pass(), { resyncMs: 5000, debounceMs: 50 }),
    startLoop(ctx, 'garbagecollector', [], () => gc.pass(), { resyncMs: 1500 }),
    startLoop(ctx, 'nodelifecycle', ['nodes'], () => nodes.pass(), { resyncMs: 1000, debounceMs: 100 }),
  ];
  return {
    async stop() {
      await Promise.all(loops.map((l) => l.stop()));
    },
  };
}
