// The built-in resources commands read and write, named once: every module takes its ResourceRef from here.
import type { ResourceRef } from './types.js';

const core = (plural: string, kind: string, namespaced = true): ResourceRef => ({ group: '', version: 'v1', plural, kind, namespaced });
const apps = (plural: string, kind: string): ResourceRef => ({ group: 'apps', version: 'v1', plural, kind, namespaced: true });

export const RES = {
  namespaces: core('namespaces', 'Namespace', false),
  nodes: core('nodes', 'Node', false),
  pods: core('pods', 'Pod'),
  secrets: core('secrets', 'Secret'),
  configmaps: core('configmaps', 'ConfigMap'),
  services: core('services', 'Service'),
  pvcs: core('persistentvolumeclaims', 'PersistentVolumeClaim'),
  pvs: core('persistentvolumes', 'PersistentVolume', false),
  statefulsets: apps('statefulsets', 'StatefulSet'),
  deployments: apps('deployments', 'Deployment'),
  events: core('events', 'Event'),
  pdbs: { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true } as ResourceRef,
  storageclasses: { group: 'storage.k8s.io', version: 'v1', plural: 'storageclasses', kind: 'StorageClass', namespaced: false } as ResourceRef,
};
