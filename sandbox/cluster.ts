// Starts a whole sandbox: per cluster a store, an API server, the controllers and the kubelets; then the preset;
// and writes the kubeconfig. stop() takes everything down in reverse order.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Store } from './core/store.js';
import type { ClusterContext } from './core/context.js';
import { ensureTls } from './core/tls.js';
import { appendToken } from './core/auth.js';
import { claimSlot, podNetPrefix, releaseSlot, MAX_CLUSTERS } from './core/ipslot.js';
import { tokenFile } from './apiserver/kubeconfig.js';
import { startApiServer, writeKubeconfig, type ApiServer } from './apiserver/index.js';
import { handleExec, handlePortForward } from './stream/index.js';
import { startControllers } from './controllers/index.js';
import { startKubelets } from './kubelet/index.js';
import { createIfMissing } from './controllers/util.js';
import { kubeProxyDaemonSet } from './controllers/daemonset.js';
import { applyDefaults } from './apiserver/defaults.js';
import { startOperators } from './operators/index.js';
import { applyPreset } from './presets/index.js';

export interface SandboxOptions {
  dir: string;
  clusters: string[];
  nodes: number;
  preset: string;
  /** The Kubernetes minor version every cluster reports and behaves as (default 32). */
  kubeMinor?: number;
  /** Where log lines go (default: stdout). */
  log?: (line: string) => void;
}

export interface Sandbox {
  dir: string;
  kubeconfig: string;
  clusters: ClusterContext[];
  servers: ApiServer[];
  slot: number;
  stop(): Promise<void>;
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, bin)));
}

const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;


/** The admin token of a sandbox directory, created on first use. */
function adminToken(dir: string): string {
  const file = tokenFile(dir);
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [token, user] = line.split(',');
      if (user === 'admin' && token) return token;
    }
  }
  const token = randomBytes(24).toString('hex');
  appendToken(file, token, 'admin', ['system:masters']);
  return token;
}

export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const dir = resolve(opts.dir);
  if (opts.clusters.length === 0 || opts.clusters.length > MAX_CLUSTERS) throw new Error(`--clusters takes 1 to ${MAX_CLUSTERS} names`);
  for (const c of opts.clusters) if (!CLUSTER_NAME.test(c)) throw new Error(`cluster name "${c}" is not a DNS-1123 label`);
  if (new Set(opts.clusters).size !== opts.clusters.length) throw new Error('cluster names must be distinct');
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 20) throw new Error('--nodes must be between 1 and 20');
  if (opts.preset !== 'none' && !onPath('redis-server')) throw new Error('redis-server is not installed (the pods run the real one): apt-get install redis-server redis-sentinel redis-tools');
  mkdirSync(join(dir, 'pids'), { recursive: true });
  const storageDir = join(dir, 'storage');
  mkdirSync(storageDir, { recursive: true });
  const log = opts.log ?? ((line: string) => process.stdout.write(line + '\n'));
  const tls = ensureTls(dir);
  const token = adminToken(dir);
  const slot = claimSlot();
  writeFileSync(join(dir, 'slot'), `${slot} ${process.pid}\n`);

  const stops: Array<() => Promise<void>> = [async () => releaseSlot(slot)];
  const stopAll = async (): Promise<void> => {
    while (stops.length > 0) {
      const stop = stops.pop();
      try {
        await stop?.();
      } catch (e) {
        log(`stop: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };

  const clusters: ClusterContext[] = opts.clusters.map((name, index) => ({
    name,
    index,
    podNetPrefix: podNetPrefix(slot, index),
    store: new Store(join(dir, name, 'wal.jsonl')),
    dir,
    storageDir,
    nodeNames: Array.from({ length: opts.nodes }, (_, i) => `${name}-node-${i + 1}`),
    kubeMinor: opts.kubeMinor,
    log: (m: string) => log(`${new Date().toISOString()} [${name}] ${m}`),
  }));
  const servers: ApiServer[] = [];
  try {
    for (const ctx of clusters) {
      const server = await startApiServer({ ctx, tls, tokenFile: tokenFile(dir), streams: { portForward: handlePortForward, exec: handleExec } });
      servers.push(server);
      stops.push(() => server.stop());
    }
    const kubeconfig = join(dir, 'kubeconfig');
    writeKubeconfig(
      kubeconfig,
      clusters.map((c, i) => ({ name: c.name, server: servers[i].url })),
      tls.caCert,
      token,
    );
    for (const ctx of clusters) {
      const controllers = await startControllers(ctx);
      stops.push(() => controllers.stop());
      // what every real cluster runs on every node, whatever else is there
      const kubeProxy = kubeProxyDaemonSet(ctx.kubeMinor ?? 32);
      applyDefaults('daemonsets.apps', kubeProxy, { create: true });
      createIfMissing(ctx.store, 'daemonsets.apps', kubeProxy);
    }
    for (const ctx of clusters) {
      const kubelets = await startKubelets(ctx);
      stops.push(() => kubelets.stop());
    }
    for (const ctx of clusters) {
      const operators = await startOperators(ctx);
      stops.push(() => operators.stop());
    }
    if (opts.preset !== 'none') await applyPreset(opts.preset, clusters);
    return { dir, kubeconfig, clusters, servers, slot, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** Add a user with its own token, and a context `<name>@<cluster>` per cluster, to a sandbox. */
export { addSandboxUser as addUser } from './apiserver/kubeconfig.js';
