// Reading kubeconfig files the way kubectl does, without client-node (so it stays cheap and testable):
// KUBECONFIG may list several files (':'-separated); per cluster/user/context name the first file wins;
// current-context comes from the first file that sets one; relative file paths are relative to their file.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KubeError } from '../errors.js';

export interface NamedCluster {
  name: string;
  cluster: Record<string, unknown> & { server?: string };
}
export interface NamedUser {
  name: string;
  user: Record<string, unknown>;
}
export interface NamedContext {
  name: string;
  context: { cluster?: string; user?: string; namespace?: string; [k: string]: unknown };
}

/** A kubeconfig document as kubectl's merge produces it. */
export interface MergedKubeconfig {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: NamedCluster[];
  users: NamedUser[];
  contexts: NamedContext[];
  'current-context'?: string;
  /** The files read, in order, for error messages. */
  sources: string[];
}

export interface KubeconfigSource {
  /** --kubeconfig: exactly this file, which must exist. */
  explicit?: string;
  env?: NodeJS.ProcessEnv;
  home?: string;
}

/** The files kubectl would read: --kubeconfig, else every file in KUBECONFIG, else ~/.kube/config. */
export function kubeconfigPaths(source: KubeconfigSource = {}): { paths: string[]; explicit: boolean } {
  if (source.explicit) return { paths: [resolve(source.explicit)], explicit: true };
  const env = source.env ?? process.env;
  const list = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p.trim() !== '');
  if (list.length > 0) return { paths: [...new Set(list.map((p) => resolve(p)))], explicit: false };
  return { paths: [join(source.home ?? homedir(), '.kube', 'config')], explicit: true };
}

const PATH_KEYS: Record<'cluster' | 'user', string[]> = {
  cluster: ['certificate-authority'],
  user: ['client-certificate', 'client-key', 'tokenFile'],
};

function absolutize(entry: Record<string, unknown>, keys: string[], base: string): Record<string, unknown> {
  const out = { ...entry };
  for (const key of keys) {
    const value = out[key];
    if (typeof value === 'string' && value !== '' && !isAbsolute(value)) out[key] = join(base, value);
  }
  return out;
}

function namedList(doc: Record<string, unknown>, key: string, file: string): Array<Record<string, unknown>> {
  const value = doc[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new KubeError(`kubeconfig "${file}" is not valid: "${key}" must be a list`);
  return value.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string');
}

/** Parses one file's text; `file` names it in errors and anchors its relative paths. */
export function parseKubeconfig(text: string, file: string): Omit<MergedKubeconfig, 'sources'> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new KubeError(`kubeconfig "${file}" is not valid YAML: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new KubeError(`kubeconfig "${file}" is not valid: expected a Config object`);
  const d = doc as Record<string, unknown>;
  const base = dirname(file);
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: namedList(d, 'clusters', file).map((c) => ({
      name: c.name as string,
      cluster: absolutize((c.cluster ?? {}) as Record<string, unknown>, PATH_KEYS.cluster, base),
    })),
    users: namedList(d, 'users', file).map((u) => ({
      name: u.name as string,
      user: absolutize((u.user ?? {}) as Record<string, unknown>, PATH_KEYS.user, base),
    })),
    contexts: namedList(d, 'contexts', file).map((c) => ({ name: c.name as string, context: (c.context ?? {}) as NamedContext['context'] })),
    'current-context': typeof d['current-context'] === 'string' && d['current-context'] !== '' ? d['current-context'] : undefined,
  };
}

/** Merges parsed files in order: the first definition of each name wins, and the first current-context set wins. */
export function mergeKubeconfigs(files: Array<{ file: string; config: Omit<MergedKubeconfig, 'sources'> }>): MergedKubeconfig {
  const merged: MergedKubeconfig = { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [], sources: [] };
  const firstWins = <T extends { name: string }>(into: T[], from: T[]) => {
    for (const entry of from) if (!into.some((e) => e.name === entry.name)) into.push(entry);
  };
  for (const { file, config } of files) {
    merged.sources.push(file);
    firstWins(merged.clusters, config.clusters);
    firstWins(merged.users, config.users);
    firstWins(merged.contexts, config.contexts);
    if (merged['current-context'] === undefined && config['current-context'] !== undefined) merged['current-context'] = config['current-context'];
  }
  return merged;
}

/** Reads and merges the kubeconfig files. Missing files in KUBECONFIG are skipped, as kubectl does; a missing
 * --kubeconfig (or ~/.kube/config when KUBECONFIG is unset) is an error naming the path. */
export function loadKubeconfig(source: KubeconfigSource = {}): MergedKubeconfig {
  const { paths, explicit } = kubeconfigPaths(source);
  const files: Array<{ file: string; config: Omit<MergedKubeconfig, 'sources'> }> = [];
  for (const file of paths) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !explicit) continue;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
      throw new KubeError(`cannot read kubeconfig "${file}": ${why}`, {
        hint: source.explicit ? 'pass --kubeconfig a readable file' : 'set KUBECONFIG or pass --kubeconfig',
        cause: e,
      });
    }
    files.push({ file, config: parseKubeconfig(text, file) });
  }
  if (files.length === 0) {
    throw new KubeError(`cannot read kubeconfig: none of the files in KUBECONFIG exist (${paths.join(', ')})`, { hint: 'set KUBECONFIG or pass --kubeconfig' });
  }
  return mergeKubeconfigs(files);
}

export interface ResolvedContext {
  name: string;
  cluster: NamedCluster;
  user?: NamedUser;
  /** The context's namespace, or "default". */
  namespace: string;
  server: string;
}

/** The context to use: --context, else current-context. Errors list the contexts that exist. */
export function resolveContext(config: MergedKubeconfig, requested?: string): ResolvedContext {
  const names = config.contexts.map((c) => c.name);
  const available = names.length > 0 ? `available contexts: ${names.join(', ')}` : 'the kubeconfig has no contexts';
  const where = config.sources.length === 1 ? `kubeconfig "${config.sources[0]}"` : `kubeconfig (${config.sources.join(', ')})`;
  const wanted = requested ?? config['current-context'];
  if (wanted === undefined) {
    throw new KubeError(`no current context is set in the ${where}; ${available}`, { hint: 'pass --context NAME or run: kubectl config use-context NAME' });
  }
  const context = config.contexts.find((c) => c.name === wanted);
  if (!context) {
    const flag = requested !== undefined ? '' : ' (the current-context)';
    throw new KubeError(`context "${wanted}"${flag} does not exist in the kubeconfig; ${available}`);
  }
  const cluster = config.clusters.find((c) => c.name === context.context.cluster);
  if (!cluster) {
    throw new KubeError(`context "${wanted}" refers to cluster "${context.context.cluster ?? ''}", which is not in the ${where}`);
  }
  if (typeof cluster.cluster.server !== 'string' || cluster.cluster.server === '') {
    throw new KubeError(`cluster "${cluster.name}" of context "${wanted}" has no server address in the ${where}`);
  }
  const user = config.users.find((u) => u.name === context.context.user);
  const namespace = typeof context.context.namespace === 'string' && context.context.namespace !== '' ? context.context.namespace : 'default';
  return { name: wanted, cluster, user, namespace, server: cluster.cluster.server };
}
