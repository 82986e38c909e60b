// What an image runtime receives about a container, and what it decides: the host process to run.
import type { KObject, Store } from '../../core/store.js';
import type { ContainerSpec } from '../env.js';
import type { Mount } from '../volumes.js';

export interface ImageInput {
  store: Store;
  pod: KObject;
  container: ContainerSpec;
  podIP: string;
  /** The container's env (resolved), without the kubelet's PATH/HOME additions. */
  env: Record<string, string>;
  /** command and args after $(VAR) expansion (undefined when the pod spec does not set them). */
  command?: string[];
  args?: string[];
  mounts: Mount[];
  /** Per-pod directory standing in for the container's root filesystem (paths no volume holds). */
  rootfs: string;
  /** The node's host filesystem (what hostPath volumes mount, and what `nsenter -t 1 -m` enters). */
  nodeRoot?: string;
  /** Per-container host directory for generated files (configs, 0600). */
  runDir: string;
  /** true when this start follows an earlier one of the same container in the same pod sandbox. */
  restart: boolean;
  /** No cluster DNS in the pods (sandbox not root): the runtime writes IPs where a config names a host. */
  rewriteHostnames: boolean;
  resolve(name: string): string | undefined;
  log(message: string): void;
}

export interface ContainerPlan {
  argv: string[];
  /** Extra variables for the process (merged over the container env). */
  env?: Record<string, string>;
  cwd?: string;
  /** A Redis (or Sentinel) port that must answer PING before a probe-less container counts as ready. */
  pingPort?: number;
  /** Password for that PING (kept in memory only). */
  pingPassword?: string;
  /** That port speaks only TLS: the PING goes with these (the pod's own files, as its probe script's redis-cli --tls) */
  pingTls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Work to do right before each start (rewriting nodes.conf and the like). */
  prepare?: () => Promise<void>;
  /** Set for the reboot pod: the kubelet reboots the node instead of running anything. */
  rebootNode?: boolean;
}
