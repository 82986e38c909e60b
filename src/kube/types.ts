// The shapes src/targets and src/reconcile read from Kubernetes, independent of client-node's classes,
// so that adapters and diagnosis can be tested with plain objects.

export interface KubeMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
}

/** Any Kubernetes object as JSON. spec/status are unknown: each reader narrows what it needs. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
  [k: string]: unknown;
}

/** A resource type as the API serves it. group '' is the core group. */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

/** Read-only access to one cluster. Implemented over client-node in src/kube/client.ts. */
export interface KubeReader {
  /** namespace undefined = all namespaces. A resource the server does not serve (CRD not installed) lists as []. */
  list(res: ResourceRef, namespace: string | undefined, opts?: ListOptions): Promise<KubeObject[]>;
  /** undefined when the object (or its resource type) does not exist. */
  get(res: ResourceRef, namespace: string | undefined, name: string): Promise<KubeObject | undefined>;
}
