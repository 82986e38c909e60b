// The kubelets of one simulated cluster: one per node name. Each registers and heart-beats its Node, runs the pods
// bound to it (sandbox/kubelet/pod.ts), and serves the node-side half of port-forward / exec (ctx.runtime) and the
// node faults (ctx.nodeOps: reboot, hang, resume, container kill, pod freeze / thaw).
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import type { ClusterContext, ExecStdio, NodeOps, PodRuntime } from '../core/context.js';
import { StoreError, type KObject } from '../core/store.js';
import { mutate, now, obj, setCondition, type Condition } from '../controllers/util.js';
import { applyDefaults } from '../apiserver/defaults.js';
import { PodWorker, type NodeHost } from './pod.js';
import { signalGroup, spawnTracked, startWatchdog } from './proc.js';
import { clusterRecords, podDnsAvailable, writeHostsFile } from './dns.js';
import { expand } from './env.js';
import { translateWord } from './volumes.js';
import { onHostPath } from './images/generic.js';

export const HEARTBEAT_MS = 2000;

/**
 * The static pods of a node (manifests in the kubelet's staticPodPath): kubespray's nginx-proxy, the API server
 * load balancer it runs on every worker, here on the first node of each cluster only. The kubelet publishes a mirror
 * pod for each (kubernetes/kubernetes v1.32 pkg/kubelet/pod/mirror_client.go CreateMirrorPod: named
 * `<name>-<node>`, the config.mirror annotation, the Node as controller owner) and makes it again when it is deleted.
 * No command: the container idles (nginx is not run on the host).
 */
function staticPods(node: string): KObject[] {
  const hash = randomUUID().replace(/-/g, '');
  return [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `nginx-proxy-${node}`,
        namespace: 'kube-system',
        labels: { addonmanager: 'kubernetes.io', 'k8s-app': 'kube-nginx' },
        annotations: { 'kubernetes.io/config.hash': hash, 'kubernetes.io/config.mirror': hash, 'kubernetes.io/config.seen': now(), 'kubernetes.io/config.source': 'file' },
      },
      spec: {
        nodeName: node,
        priorityClassName: 'system-node-critical',
        containers: [{ name: 'nginx-proxy', image: 'docker.io/library/nginx:1.25.2-alpine' }],
      },
      status: { phase: 'Pending' },
    },
  ];
}
export const REBOOT_DOWN_MS = 3000;

/** `redis-cli` as inside a pod: localhost is the pod; cluster DNS names resolve through the sandbox's hosts file. */
function shimScript(realCli: string): string {
  return `#!/bin/sh
# kubectl-redis sandbox: redis-cli as run inside a pod (written by sandbox/kubelet)
resolve() {
  case "$1" in
    localhost|127.0.0.1|"$HOSTNAME") echo "\${SANDBOX_POD_IP:-$1}"; return;;
  esac
  if [ -n "$SANDBOX_HOSTS" ] && [ -f "$SANDBOX_HOSTS" ]; then
    for n in "$1" "$1.$SANDBOX_POD_NAMESPACE.svc.cluster.local" "$1.svc.cluster.local" "$1.cluster.local"; do
      ip=$(awk -v n="$n" '$2 == n { print $1; exit }' "$SANDBOX_HOSTS")
      if [ -n "$ip" ]; then echo "$ip"; return; fi
    done
  fi
  echo "$1"
}
hosted=
prev=
for a do
  shift
  if [ "$prev" = "-h" ]; then a=$(resolve "$a"); fi
  case "$a" in -h|-u) hosted=1;; esac
  set -- "$@" "$a"
  prev=$a
done
if [ -z "$hosted" ] && [ -n "$SANDBOX_POD_IP" ]; then
  exec ${realCli} -h "$SANDBOX_POD_IP" "$@"
fi
exec ${realCli} "$@"
`;
}

class Kubelet {
  readonly workers = new Map<string, PodWorker>();
  bootID = randomUUID();
  hung = false;
  rebooting = false;
  private heartbeat?: NodeJS.Timeout;
  private resync?: NodeJS.Timeout;
  private unwatch?: () => void;
  private syncTimer?: NodeJS.Timeout;
  readonly host: NodeHost;

  constructor(
    readonly ctx: ClusterContext,
    readonly node: string,
    readonly index: number,
    shared: { shimDir: string; hostsFile: string; pidsDir: string; clusterDir: string; clusterDns: boolean; allocateIP(): string },
  ) {
    this.host = {
      ctx,
      node,
      hostIP: () => this.ip,
      shimDir: shared.shimDir,
      hostsFile: shared.hostsFile,
      pidsDir: shared.pidsDir,
      clusterDir: shared.clusterDir,
      clusterDns: shared.clusterDns,
      allocateIP: shared.allocateIP,
      paused: () => this.hung || this.rebooting,
      reboot: () => void this.reboot(),
    };
  }

  get ip(): string {
    return `${this.ctx.podNetPrefix}.255.${this.index + 1}`;
  }

  /** The node's host filesystem: what hostPath volumes of its pods mount (kubelet/volumes.ts). */
  get rootDir(): string {
    return join(this.host.clusterDir, 'nodes', this.node, 'root');
  }

  start(): void {
    mkdirSync(join(this.rootDir, 'var', 'run'), { recursive: true });
    this.register();
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.unwatch = this.ctx.store.watch('pods', undefined, undefined, (e) => {
      if (obj(e.object.spec).nodeName === this.node || this.workers.has(e.object.metadata.uid ?? '')) this.kick();
    });
    let ticks = 0;
    this.resync = setInterval(() => {
      this.kick();
      // the status manager's periodic sync, as the real kubelet's: put back pod status someone else changed (the
      // node lifecycle controller marks pods NotReady when a heartbeat is late); writes only what differs
      if (++ticks % 3 === 0) for (const w of this.workers.values()) w.dirty();
    }, 2000);
    this.kick();
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.resync);
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.unwatch?.();
    for (const w of this.workers.values()) w.signalAll('SIGCONT');
    await Promise.all([...this.workers.values()].map((w) => w.kill()));
    this.workers.clear();
  }

  private nodeObject(): KObject {
    const zones = ['a', 'b', 'c', 'd', 'e', 'f'];
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.node,
        labels: {
          'kubernetes.io/hostname': this.node,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': process.arch === 'arm64' ? 'arm64' : 'amd64',
          'beta.kubernetes.io/os': 'linux',
          'beta.kubernetes.io/arch': process.arch === 'arm64' ? 'arm64' : 'amd64',
          'topology.kubernetes.io/region': this.ctx.name,
          'topology.kubernetes.io/zone': `${this.ctx.name}-${zones[this.index % zones.length]}`,
        },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
      },
      spec: { podCIDR: `${this.ctx.podNetPrefix}.0.0/16`, podCIDRs: [`${this.ctx.podNetPrefix}.0.0/16`] },
      status: this.nodeStatus([]),
    };
  }

  private nodeStatus(prev: Condition[]): Record<string, unknown> {
    const t = now();
    const ready = !this.rebooting;
    let conds = prev;
    const cond = (type: string, status: string, reason: string, message: string): void => {
      conds = setCondition(conds, { type, status, reason, message, lastHeartbeatTime: t });
    };
    cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available');
    cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure');
    cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available');
    if (ready) cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status');
    else cond('Ready', 'False', 'KubeletNotReady', 'container runtime status check may not have completed yet: node is rebooting');
    const capacity = { cpu: '4', 'ephemeral-storage': '102400Mi', 'hugepages-2Mi': '0', memory: '16384Mi', pods: '110' };
    return {
      conditions: conds,
      addresses: [
        { type: 'InternalIP', address: this.ip },
        { type: 'Hostname', address: this.node },
      ],
      capacity,
      allocatable: capacity,
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
        bootID: this.bootID,
        containerRuntimeVersion: 'containerd://1.7.0-sandbox',
        kernelVersion: release(),
        kubeProxyVersion: `v1.${this.ctx.kubeMinor ?? 32}.0`,
        kubeletVersion: `v1.${this.ctx.kubeMinor ?? 32}.0`,
        machineID: this.bootID.replace(/-/g, '').slice(0, 32),
        operatingSystem: 'linux',
        osImage: 'kubectl-redis sandbox',
        systemUUID: `${this.ctx.name}-${this.node}`,
      },
    };
  }

  private register(): void {
    try {
      this.ctx.store.create('nodes', this.nodeObject());
    } catch (e) {
      if (!(e instanceof StoreError && e.code === 409)) throw e;
      this.beat(true);
    }
    this.mirrorPods();
  }

  private readonly statics: KObject[] = [];

  /** Publish a mirror pod for each static pod that has none (after a delete, an eviction or a fresh start). */
  private mirrorPods(): void {
    if (this.index !== 0 || this.hung) return;
    if (this.statics.length === 0) this.statics.push(...staticPods(this.node));
    const nodeUid = this.ctx.store.get('nodes', undefined, this.node)?.metadata.uid;
    if (!nodeUid) return;
    for (const sp of this.statics) {
      if (this.ctx.store.get('pods', sp.metadata.namespace, sp.metadata.name)) continue;
      const pod = structuredClone(sp);
      pod.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name: this.node, uid: nodeUid, controller: true }];
      applyDefaults('pods', pod, { create: true });
      try {
        this.ctx.store.create('pods', pod);
      } catch (e) {
        if (!(e instanceof StoreError && e.code === 409)) throw e;
      }
    }
  }

  /** Post node status (the heartbeat). */
  beat(force = false): void {
    if (this.hung && !force) return;
    this.mirrorPods();
    mutate(
      this.ctx.store,
      'nodes',
      undefined,
      this.node,
      (o) => {
        const prev = (obj(o.status).conditions ?? []) as Condition[];
        o.status = { ...obj(o.status), ...this.nodeStatus(prev) };
      },
      { subresource: 'status' },
    );
  }

  kick(): void {
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.sync();
    }, 20);
  }

  /** Reconcile the workers with the pods bound to this node. */
  private sync(): void {
    if (this.hung || this.rebooting) return;
    const store = this.ctx.store;
    const mine = store.list('pods').items.filter((p) => obj(p.spec).nodeName === this.node);
    const seen = new Set<string>();
    for (const p of mine) {
      const uid = p.metadata.uid ?? '';
      seen.add(uid);
      let w = this.workers.get(uid);
      if (p.metadata.deletionTimestamp) {
        const grace = p.metadata.deletionGracePeriodSeconds ?? 0;
        if (!w) {
          try {
            store.delete('pods', p.metadata.namespace, p.metadata.name, { gracePeriodSeconds: 0, preconditions: { uid } });
          } catch {
            // gone meanwhile
          }
          continue;
        }
        if (!w.terminating) {
          const worker = w;
          void worker.terminate(grace).finally(() => this.workers.delete(uid));
        }
        continue;
      }
      const phase = String(obj(p.status).phase ?? 'Pending');
      if (!w && (phase === 'Succeeded' || phase === 'Failed')) continue;
      if (!w) {
        w = new PodWorker(this.host, p);
        this.workers.set(uid, w);
        const worker = w;
        void worker.run(false).catch((e: unknown) => this.ctx.log(`kubelet ${this.node}: pod ${p.metadata.namespace}/${p.metadata.name}: ${e instanceof Error ? e.message : String(e)}`));
      }
    }
    for (const [uid, w] of this.workers) {
      if (!seen.has(uid)) {
        this.workers.delete(uid);
        void w.kill();
      }
    }
  }

  async reboot(): Promise<void> {
    if (this.rebooting) return;
    this.ctx.log(`node ${this.node}: rebooting`);
    this.hung = false;
    for (const w of this.workers.values()) w.signalAll('SIGCONT');
    this.rebooting = true;
    this.beat(true);
    const workers = [...this.workers.values()];
    await Promise.all(workers.map((w) => w.crash()));
    // pods' Ready goes False while the node is down (written by the node, as its last words)
    for (const w of workers) {
      mutate(
        this.ctx.store,
        'pods',
        w.ns,
        w.name,
        (o) => {
          if (o.metadata.uid !== w.uid) return false;
          const st = obj(o.status);
          let conds = (st.conditions ?? []) as Condition[];
          conds = setCondition(conds, { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastProbeTime: null });
          conds = setCondition(conds, { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', lastProbeTime: null });
          o.status = { ...st, conditions: conds };
        },
        { subresource: 'status' },
      );
    }
    await new Promise((r) => setTimeout(r, REBOOT_DOWN_MS));
    // /run (and /var/run, its symlink on Debian and most distributions) is a tmpfs: a reboot empties it, which is how
    // /var/run/reboot-required (Kured's sentinel) goes away once the node rebooted
    for (const d of ['run', join('var', 'run')]) {
      rmSync(join(this.rootDir, d), { recursive: true, force: true });
      mkdirSync(join(this.rootDir, d), { recursive: true });
    }
    this.bootID = randomUUID();
    this.rebooting = false;
    this.beat(true);
    this.ctx.log(`node ${this.node}: back up (bootID ${this.bootID})`);
    for (const w of workers) {
      if (w.terminating || this.workers.get(w.uid) !== w) continue;
      void w.run(true).catch((e: unknown) => this.ctx.log(`kubelet ${this.node}: ${e instanceof Error ? e.message : String(e)}`));
    }
    this.kick();
  }

  hang(): void {
    this.hung = true;
    for (const w of this.workers.values()) w.signalAll('SIGSTOP');
    this.ctx.log(`node ${this.node}: hung`);
  }

  resume(): void {
    if (!this.hung) return;
    this.hung = false;
    for (const w of this.workers.values()) {
      if (!w.frozen) w.signalAll('SIGCONT');
      w.dirty();
    }
    this.beat(true);
    this.kick();
    this.ctx.log(`node ${this.node}: resumed`);
  }
}

export async function startKubelets(ctx: ClusterContext): Promise<{ stop(): Promise<void> }> {
  const shimDir = join(ctx.dir, 'bin');
  const pidsDir = join(ctx.dir, 'pids');
  const clusterDir = join(ctx.dir, ctx.name);
  const hostsFile = join(clusterDir, 'hosts');
  mkdirSync(shimDir, { recursive: true });
  mkdirSync(clusterDir, { recursive: true });
  const realCli = onHostPath('redis-cli') ?? '/usr/bin/redis-cli';
  writeFileSync(join(shimDir, 'redis-cli'), shimScript(realCli));
  chmodSync(join(shimDir, 'redis-cli'), 0o755);
  const watchdog = startWatchdog(pidsDir);

  let seq = 0;
  const allocateIP = (): string => {
    const n = seq++;
    const x = Math.floor(n / 250);
    if (x > 254) throw new Error(`pod network ${ctx.podNetPrefix}.0.0/16 is exhausted`);
    return `${ctx.podNetPrefix}.${x}.${(n % 250) + 1}`;
  };
  const clusterDns = podDnsAvailable(clusterDir);
  if (!clusterDns) ctx.log('cluster DNS: cannot give pods their own /etc/hosts (needs root for unshare -m and mount --bind); Redis configs get IPs instead of names, which go stale when a pod moves');
  const kubelets = ctx.nodeNames.map((n, i) => new Kubelet(ctx, n, i, { shimDir, hostsFile, pidsDir, clusterDir, clusterDns, allocateIP }));
  const byNode = new Map(kubelets.map((k) => [k.node, k]));

  // the hosts file the redis-cli shim reads, refreshed as pods, services and endpoints change
  let hostsTimer: NodeJS.Timeout | undefined;
  const refreshHosts = (): void => {
    if (hostsTimer) return;
    hostsTimer = setTimeout(() => {
      hostsTimer = undefined;
      try {
        const records = clusterRecords(ctx.store);
        writeHostsFile(hostsFile, records);
        if (clusterDns) for (const k of kubelets) for (const w of k.workers.values()) if (w.podIP && !w.terminating) w.writeHosts(records);
      } catch (e) {
        ctx.log(`hosts file: ${e instanceof Error ? e.message : String(e)}`);
      }
    }, 200);
  };
  // pods too: a pod's own line and its pod record follow its IP before the endpoints controller catches up
  const unwatch = ['endpoints', 'services', 'pods'].map((r) => ctx.store.watch(r, undefined, undefined, refreshHosts));
  refreshHosts();

  const find = (ns: string, pod: string): PodWorker | undefined => {
    const p = ctx.store.get('pods', ns, pod);
    if (!p) return undefined;
    const k = byNode.get(String(obj(p.spec).nodeName ?? ''));
    return k?.workers.get(p.metadata.uid ?? '');
  };
  const runnerOf = (ns: string, pod: string, container: string | undefined) => {
    const w = find(ns, pod);
    if (!w) throw new Error(`pod ${ns}/${pod} is not running on any node`);
    const r = container ? w.runners.find((x) => x.spec.name === container) : w.runners[0];
    if (!r) throw new Error(`container ${container} is not valid for pod ${pod}`);
    return { w, r };
  };

  const runtime: PodRuntime = {
    dial(namespace: string, pod: string, port: number): Promise<Socket> {
      return new Promise((resolve, reject) => {
        const w = find(namespace, pod);
        if (!w || !w.podIP || w.terminating) {
          reject(new Error(`pod ${namespace}/${pod} is not running`));
          return;
        }
        const s = connect({ host: w.podIP, port });
        s.once('connect', () => {
          s.removeAllListeners('error');
          resolve(s);
        });
        s.once('error', (e) => reject(new Error(`error forwarding port ${port} to pod ${pod}: ${e.message}`)));
      });
    },
    async exec(namespace: string, pod: string, container: string | undefined, command: string[], stdio: ExecStdio): Promise<number> {
      const { w, r } = runnerOf(namespace, pod, container);
      if (!r.running) throw new Error(`container ${r.spec.name} is not running`);
      const argv = command.map((c) => translateWord(r.mounts, expand(c, {})));
      const bin = argv[0] ? onHostPath(argv[0], r.processEnv.PATH) : undefined;
      if (!bin) {
        stdio.stderr.write(`OCI runtime exec failed: exec failed: unable to start container process: exec: "${command[0] ?? ''}": executable file not found in $PATH: unknown\r\n`);
        return 126;
      }
      const t = spawnTracked(pidsDir, [bin, ...argv.slice(1)], { env: r.processEnv, cwd: w.rootfs, stdio: 'pipe' });
      t.child.stdout?.pipe(stdio.stdout, { end: false });
      t.child.stderr?.pipe(stdio.stderr, { end: false });
      if (stdio.stdin && t.child.stdin) stdio.stdin.pipe(t.child.stdin);
      else t.child.stdin?.end();
      t.child.stdin?.on('error', () => undefined);
      const code = await t.exited;
      await new Promise<void>((resolve) => {
        let open = 0;
        for (const s of [t.child.stdout, t.child.stderr]) {
          if (s && !s.readableEnded) {
            open++;
            s.once('end', () => --open === 0 && resolve());
            s.once('close', () => --open <= 0 && resolve());
          }
        }
        if (open === 0) resolve();
        setTimeout(resolve, 1000);
      });
      if (stdio.stdin) stdio.stdin.unpipe();
      return code;
    },
  };

  const kubelet = (node: string): Kubelet => {
    const k = byNode.get(node);
    if (!k) throw new Error(`node "${node}" not found in cluster ${ctx.name}`);
    return k;
  };
  const nodeOps: NodeOps = {
    reboot: async (node) => {
      await kubelet(node).reboot();
    },
    hang: async (node) => kubelet(node).hang(),
    resume: async (node) => kubelet(node).resume(),
    killContainer: async (namespace, pod, container) => {
      const { r } = runnerOf(namespace, pod, container);
      r.signal('SIGKILL');
    },
    freeze: async (namespace, pod) => {
      const w = find(namespace, pod);
      if (!w) throw new Error(`pod ${namespace}/${pod} is not running`);
      w.frozen = true;
      w.signalAll('SIGSTOP');
    },
    thaw: async (namespace, pod) => {
      const w = find(namespace, pod);
      if (!w) throw new Error(`pod ${namespace}/${pod} is not running`);
      w.frozen = false;
      w.signalAll('SIGCONT');
    },
  };
  ctx.runtime = runtime;
  ctx.nodeOps = nodeOps;
  for (const k of kubelets) k.start();

  return {
    async stop() {
      for (const u of unwatch) u();
      if (hostsTimer) clearTimeout(hostsTimer);
      await Promise.all(kubelets.map((k) => k.stop()));
      if (ctx.runtime === runtime) delete ctx.runtime;
      if (ctx.nodeOps === nodeOps) delete ctx.nodeOps;
      if (watchdog.pid) signalGroup(watchdog.pid, 'SIGKILL');
    },
  };
}
