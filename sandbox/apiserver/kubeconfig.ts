// The kubeconfig a sandbox writes: one cluster, user and context per simulated cluster.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { appendToken } from '../core/auth.js';

/** The token file of a sandbox directory (kube-apiserver --token-auth-file format). */
export function tokenFile(dir: string): string {
  return join(dir, 'tokens.csv');
}

/** Add a user with its own token, and a context `<name>@<cluster>` per cluster, to a sandbox directory. */
export function addSandboxUser(dir: string, name: string, groups: string[] = []): { token: string; contexts: string[] } {
  const d = resolve(dir);
  const kubeconfig = join(d, 'kubeconfig');
  if (!existsSync(kubeconfig)) throw new Error(`no sandbox in ${d}: ${kubeconfig} is missing`);
  if (!/^[A-Za-z0-9][-A-Za-z0-9_.:@]*$/.test(name)) throw new Error(`user name "${name}" has characters a token file cannot hold`);
  const token = randomBytes(24).toString('hex');
  appendToken(tokenFile(d), token, name, groups);
  return { token, contexts: addKubeconfigUser(kubeconfig, name, token) };
}

export interface KubeconfigCluster {
  name: string;
  server: string;
}

interface Kubeconfig {
  apiVersion: string;
  kind: string;
  clusters: Array<{ name: string; cluster: Record<string, unknown> }>;
  users: Array<{ name: string; user: Record<string, unknown> }>;
  contexts: Array<{ name: string; context: Record<string, unknown> }>;
  'current-context': string;
  preferences: Record<string, unknown>;
}

export function writeKubeconfig(file: string, clusters: KubeconfigCluster[], caCert: string, adminToken: string): void {
  const ca = Buffer.from(caCert).toString('base64');
  const cfg: Kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: clusters.map((c) => ({ name: c.name, cluster: { server: c.server, 'certificate-authority-data': ca } })),
    users: clusters.map((c) => ({ name: `${c.name}-admin`, user: { token: adminToken } })),
    contexts: clusters.map((c) => ({ name: c.name, context: { cluster: c.name, user: `${c.name}-admin`, namespace: 'default' } })),
    'current-context': clusters[0]?.name ?? '',
    preferences: {},
  };
  writeFileSync(file, stringify(cfg), { mode: 0o600 });
}

/** Add user `name` (with its token) and a context `<name>@<cluster>` for every cluster of the kubeconfig. */
export function addKubeconfigUser(file: string, name: string, token: string): string[] {
  const cfg = parse(readFileSync(file, 'utf8')) as Kubeconfig;
  cfg.users = cfg.users.filter((u) => u.name !== name);
  cfg.users.push({ name, user: { token } });
  const added: string[] = [];
  for (const c of cfg.clusters) {
    const ctxName = `${name}@${c.name}`;
    cfg.contexts = cfg.contexts.filter((x) => x.name !== ctxName);
    cfg.contexts.push({ name: ctxName, context: { cluster: c.name, user: name, namespace: 'default' } });
    added.push(ctxName);
  }
  writeFileSync(file, stringify(cfg), { mode: 0o600 });
  return added;
}
