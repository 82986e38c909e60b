// What the parts of one simulated cluster share. The sandbox entry (sandbox/cluster.ts) builds one ClusterContext
// per cluster; the API server, the controllers, the kubelets and the mini operators all receive it.
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { Store } from './store.js';

export interface ExecStdio {
  stdin: Readable | null;
  stdout: Writable;
  stderr: Writable;
  tty: boolean;
}

/** What the kubelets offer the API server: the node-side half of port-forward and exec. */
export interface PodRuntime {
  /** Open a TCP connection to `port` of a running pod (its IP on the loopback range). Rejects if not running. */
  dial(namespace: string, pod: string, port: number): Promise<Socket>;
  /** Run a command "inside" a container (a process with the container's env and working dir). Resolves to its exit code. */
  exec(namespace: string, pod: string, container: string | undefined, command: string[], stdio: ExecStdio): Promise<number>;
}

/** Node- and pod-level faults and lifecycle, implemented by the kubelets (used by `sandbox fault` and the reboot pod). */
export interface NodeOps {
  /** Every process on the node dies, Ready goes False, bootID changes, the node comes back after a few seconds. */
  reboot(node: string): Promise<void>;
  /** The node stops heart-beating and every process on it is frozen (SIGSTOP) until resume. */
  hang(node: string): Promise<void>;
  resume(node: string): Promise<void>;
  /** SIGKILL a container's process (the kubelet restarts it per restartPolicy, same pod IP). */
  killContainer(namespace: string, pod: string, container?: string): Promise<void>;
  /** SIGSTOP / SIGCONT a pod's processes: it stops answering, like a network partition of that pod. */
  freeze(namespace: string, pod: string): Promise<void>;
  thaw(namespace: string, pod: string): Promise<void>;
}

export interface ClusterContext {
  /** The cluster's (and kubeconfig context's) name, e.g. "east". */
  name: string;
  /** 0 for the first cluster of the sandbox, 1 for the second... */
  index: number;
  /**
   * The first two octets of this cluster's pod IP range: pods get `${podNetPrefix}.x.y` (e.g. "127.14").
   * Unique across every sandbox running on the machine (see sandbox/core/ipslot.ts).
   */
  podNetPrefix: string;
  store: Store;
  /** The sandbox directory (DIR of `sandbox up --dir DIR`). */
  dir: string;
  /** Host directory shared by every cluster of the sandbox; one sub-directory per PV. */
  storageDir: string;
  /** Node names of this cluster, e.g. ["east-node-1", "east-node-2", "east-node-3"]. */
  nodeNames: string[];
  /** The Kubernetes minor version this cluster reports and behaves as (`sandbox up --kube-version 1.N`; default 32). */
  kubeMinor?: number;
  /** Filled in by the kubelets when they start; the API server uses it for portforward/exec. */
  runtime?: PodRuntime;
  /** Filled in by the kubelets when they start. */
  nodeOps?: NodeOps;
  log(message: string): void;
}
