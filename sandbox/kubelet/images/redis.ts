// Redis images: run redis-server / redis-sentinel the way the image would. Container command/args that start
// redis-server are honoured (config files read from the mounted volumes); otherwise the image's entrypoint is
// emulated from its env: OT-CONTAINER-KIT/redis entrypoint.sh and entrypoint-sentinel.sh, Bitnami redis-cluster
// (librediscluster.sh: REDIS_CLUSTER_DYNAMIC_IPS rewrites peers' IPs in nodes.conf from nodes.sh), Bitnami redis
// (replication) and redis-sentinel, the official image (docker-entrypoint.sh). Every config gets `bind <podIP>` and
// `bind-source-addr <podIP>` (see SANDBOX.md) and is written 0600: passwords never reach a command line.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import type { ContainerPlan, ImageInput } from './types.js';
import { toHost } from '../volumes.js';
import { planGeneric } from './generic.js';
import { bitnamiStartScript, planBitnamiSentinelScript } from './bitnami-sentinel.js';

export function isRedisImage(image: string): boolean {
  const i = image.toLowerCase();
  const name = i.split('@')[0].replace(/:[^/:]*$/, '');
  const last = name.split('/').pop() ?? '';
  if (last.includes('exporter')) return false;
  return /(^|-)redis($|-)/.test(last) || last === 'redis' || name.includes('opstree/redis') || name.includes('spotahome/redis') || name.includes('bitnami/redis');
}

const SEPARATORS = new Set([';', '&&', '||', '|', '&', '\n']);

/** Split a shell script into words (quotes honoured, $VAR / ${VAR} expanded from env), operators as their own words. */
export function shellWords(script: string, env: Record<string, string>): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let i = 0;
  const push = (): void => {
    if (has) out.push(cur);
    cur = '';
    has = false;
  };
  const varAt = (s: string, j: number): [string, number] => {
    const m = s.slice(j).match(/^\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-[^}]*)?\}|^\$([A-Za-z_][A-Za-z0-9_]*)/);
    if (!m) return ['$', j + 1];
    const name = m[1] ?? m[3];
    let v = env[name];
    if ((v === undefined || v === '') && m[2]) v = m[2].replace(/^:?-/, '');
    return [v ?? '', j + m[0].length];
  };
  while (i < script.length) {
    const ch = script[i];
    if (ch === '\\' && script[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (ch === ' ' || ch === '\t') {
      push();
      i++;
      continue;
    }
    if (ch === '\n' || ch === ';' || ch === '|' || ch === '&') {
      push();
      const two = script.slice(i, i + 2);
      if (two === '&&' || two === '||') {
        out.push(two);
        i += 2;
      } else {
        out.push(ch);
        i++;
      }
      continue;
    }
    if (ch === "'") {
      const end = script.indexOf("'", i + 1);
      cur += script.slice(i + 1, end < 0 ? undefined : end);
      has = true;
      i = end < 0 ? script.length : end + 1;
      continue;
    }
    if (ch === '"') {
      i++;
      has = true;
      while (i < script.length && script[i] !== '"') {
        if (script[i] === '\\' && i + 1 < script.length) {
          cur += script[i + 1];
          i += 2;
        } else if (script[i] === '$') {
          const [v, j] = varAt(script, i);
          cur += v;
          i = j;
        } else cur += script[i++];
      }
      i++;
      continue;
    }
    if (ch === '$') {
      const [v, j] = varAt(script, i);
      cur += v;
      has = true;
      i = j;
      continue;
    }
    cur += ch;
    has = true;
    i++;
  }
  push();
  return out;
}

export interface Invocation {
  binary: 'redis-server' | 'redis-sentinel';
  args: string[];
  /** Words before the binary that are not a shell or exec (a wrapper script such as ucloud's fix-ip.sh). */
  wrapper: string[];
}

const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'exec', 'env', 'tini', 'dumb-init', '--', 'gosu', 'su-exec']);

/** Find a redis-server / redis-sentinel invocation in command + args (directly or inside `sh -c`). */
export function findInvocation(command: string[] | undefined, args: string[] | undefined, env: Record<string, string>, officialEntrypoint: boolean): Invocation | undefined {
  let argv = [...(command ?? []), ...(args ?? [])];
  if (!command && officialEntrypoint && args && args.length > 0 && (args[0].startsWith('-') || args[0].endsWith('.conf'))) argv = ['redis-server', ...args];
  const shIdx = argv.findIndex((w, i) => SHELLS.has(basename(w)) && argv[i + 1] === '-c');
  let words = argv;
  if (shIdx >= 0 && typeof argv[shIdx + 2] === 'string') words = shellWords(argv[shIdx + 2], env);
  const at = words.findIndex((w) => basename(w) === 'redis-server' || basename(w) === 'redis-sentinel');
  if (at < 0) return undefined;
  const rest: string[] = [];
  for (const w of words.slice(at + 1)) {
    if (SEPARATORS.has(w)) break;
    rest.push(w);
  }
  const wrapper = words.slice(0, at).filter((w) => !SHELLS.has(basename(w)) && w !== '-c' && !SEPARATORS.has(w));
  return { binary: basename(words[at]) as Invocation['binary'], args: rest, wrapper: shIdx >= 0 ? [] : wrapper };
}

/** One config line into words (double/single quotes honoured). */
function lineWords(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]));
  return out;
}

function quote(w: string): string {
  return /^[^\s"'\\]+$/.test(w) ? w : `"${w.replace(/["\\]/g, '\\$&')}"`;
}

const PATH_DIRECTIVES = new Set(['dir', 'aclfile', 'tls-cert-file', 'tls-key-file', 'tls-ca-cert-file', 'tls-ca-cert-dir', 'tls-dh-params-file', 'tls-client-cert-file', 'tls-client-key-file', 'unixsocket']);
const DROPPED = new Set(['bind', 'bind-source-addr', 'daemonize', 'supervised', 'pidfile', 'logfile', 'syslog-enabled']);

/** The runtime's own view of the config it generated. */
export interface RedisConfig {
  lines: string[];
  port?: number;
  password?: string;
  dir?: string;
  clusterEnabled: boolean;
  clusterConfigFile: string;
  /** tls-port and the host paths of the files it serves with (undefined: no TLS) */
  tlsPort?: number;
  tlsFiles?: { cert: string; key: string; ca: string };
}

/** Where the kubelet's readiness PING goes: the plain port, else the TLS port with the pod's own certificate. */
export function pingOf(cfg: RedisConfig, fallback: number): Pick<ContainerPlan, 'pingPort' | 'pingPassword' | 'pingTls'> {
  const plain = cfg.port ?? fallback;
  if (plain === 0 && cfg.tlsPort !== undefined) {
    const files = cfg.tlsFiles;
    return { pingPort: cfg.tlsPort, pingPassword: cfg.password, pingTls: files ? { ca: readFileSync(files.ca), cert: readFileSync(files.cert), key: readFileSync(files.key) } : {} };
  }
  return { pingPort: plain, pingPassword: cfg.password };
}

export class ConfigBuilder {
  readonly lines: string[] = [];
  constructor(private readonly input: ImageInput) {}

  /** Add a file's lines (path in the container), inlining includes. */
  addFile(containerPath: string, depth = 0): void {
    const host = toHost(this.input.mounts, this.input.rootfs, containerPath);
    if (!existsSync(host)) {
      this.input.log(`config file ${containerPath} not found`);
      return;
    }
    for (const raw of readFileSync(host, 'utf8').split('\n')) {
      const w = lineWords(raw.trim());
      if (w.length === 0 || w[0].startsWith('#')) continue;
      if (w[0].toLowerCase() === 'include' && w[1] && depth < 5) {
        this.addFile(w[1], depth + 1);
        continue;
      }
      this.add(w);
    }
  }

  /** Add `--name value...` options from a command line. */
  addArgs(args: string[]): void {
    let cur: string[] | undefined;
    for (const a of args) {
      if (a.startsWith('--')) {
        if (cur) this.add(cur);
        const parts = a.slice(2).split(/\s+/);
        cur = parts.filter((x, i) => i === 0 || x !== '');
      } else if (cur) cur.push(a);
    }
    if (cur) this.add(cur);
  }

  /** Add a directive; paths in it are container paths unless `hostPaths` (the runtime's own lines). */
  add(words: string[], hostPaths = false): void {
    if (words.length === 0) return;
    const key = words[0].toLowerCase();
    if (DROPPED.has(key) || (key === 'sentinel' && words.length === 1)) return;
    const w = [...words];
    if (!hostPaths && PATH_DIRECTIVES.has(key) && w[1]) w[1] = toHost(this.input.mounts, this.input.rootfs, w[1]);
    if (!hostPaths && key === 'cluster-config-file' && w[1] && isAbsolute(w[1])) w[1] = toHost(this.input.mounts, this.input.rootfs, w[1]);
    // with cluster DNS redis-server resolves the names itself (and again on every reconnect); without it, the names
    // are frozen to today's IPs, which a pod that moves leaves behind
    if (this.input.rewriteHostnames && (key === 'replicaof' || key === 'slaveof') && w[1]) w[1] = this.input.resolve(w[1]) ?? w[1];
    if (this.input.rewriteHostnames && key === 'sentinel' && w[1]?.toLowerCase() === 'monitor' && w[3]) w[3] = this.input.resolve(w[3]) ?? w[3];
    if (key === 'dir' && w[1]) mkdirSync(w[1], { recursive: true });
    this.lines.push(w.map(quote).join(' '));
  }

  last(key: string): string[] | undefined {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const w = lineWords(this.lines[i]);
      if (w[0]?.toLowerCase() === key) return w;
    }
    return undefined;
  }

  /** Finish: data dir default, bind to the pod IP, write 0600. */
  write(file: string, defaultDir: string): RedisConfig {
    if (!this.last('dir')) this.add(['dir', defaultDir], true);
    mkdirSync(this.last('dir')?.[1] ?? defaultDir, { recursive: true });
    const ip = this.input.podIP;
    const text = [...this.lines, `bind ${ip}`, `bind-source-addr ${ip}`, 'daemonize no', 'logfile ""', ''].join('\n');
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, text, { mode: 0o600 });
    const port = this.last('port')?.[1];
    const tlsPort = this.last('tls-port')?.[1];
    const [cert, key, ca] = ['tls-cert-file', 'tls-key-file', 'tls-ca-cert-file'].map((k) => this.last(k)?.[1]);
    return {
      lines: this.lines,
      port: port !== undefined ? Number(port) : undefined,
      ...(tlsPort !== undefined && Number(tlsPort) > 0 ? { tlsPort: Number(tlsPort) } : {}),
      ...(cert && key && ca ? { tlsFiles: { cert, key, ca } } : {}),
      password: this.last('requirepass')?.[1],
      dir: this.last('dir')?.[1],
      clusterEnabled: this.last('cluster-enabled')?.[1]?.toLowerCase() === 'yes',
      clusterConfigFile: this.last('cluster-config-file')?.[1] ?? 'nodes.conf',
    };
  }
}

/** Replace the IP of the `myself` line of nodes.conf (fix-ip.sh / OT entrypoint: sed on /myself/). */
export function rewriteMyselfIp(file: string, ip: string): boolean {
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  const next = text
    .split('\n')
    .map((l) => (l.includes('myself') ? l.replace(/\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/, ip) : l))
    .join('\n');
  if (next !== text) writeFileSync(file, next);
  return next !== text;
}

function nodesConfPath(cfg: RedisConfig): string {
  return isAbsolute(cfg.clusterConfigFile) ? cfg.clusterConfigFile : join(cfg.dir ?? '.', cfg.clusterConfigFile);
}

async function waitResolve(input: ImageInput, host: string, deadline: number): Promise<string | undefined> {
  for (;;) {
    const ip = input.resolve(host);
    if (ip) return ip;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** librediscluster.sh redis_cluster_update_ips: nodes.sh maps each REDIS_NODES host to its IP; on a later start,
 * every known host's old IP is replaced by its current one in nodes.conf. */
export async function bitnamiUpdateIps(input: ImageInput, dataDir: string, nodes: string[]): Promise<void> {
  const mapFile = join(dataDir, 'nodes.sh');
  const conf = join(dataDir, 'nodes.conf');
  const deadline = Date.now() + 60_000;
  const map = new Map<string, string>();
  const first = !existsSync(mapFile) || !existsSync(conf);
  if (!first) {
    for (const m of readFileSync(mapFile, 'utf8').matchAll(/\[([^\]]+)\]="([^"]*)"/g)) map.set(m[1], m[2]);
  }
  let text = first ? '' : readFileSync(conf, 'utf8');
  for (const node of nodes) {
    const host = node.split(':')[0];
    const ip = await waitResolve(input, host, deadline);
    if (!ip) {
      input.log(`DNS lookup of ${host} failed`);
      continue;
    }
    const old = map.get(node);
    if (!first && old !== undefined && old !== ip) {
      input.log(`Changing old IP ${old} by the new one ${ip}`);
      text = text.split(` ${old}:`).join(` ${ip}:`);
    }
    map.set(node, ip);
  }
  if (!first) writeFileSync(conf, text);
  writeFileSync(mapFile, `declare -A host_2_ip_array=(${[...map].map(([k, v]) => `[${k}]="${v}" `).join('')})\n`);
}

function yes(v: string | undefined): boolean {
  return /^(yes|true|1)$/i.test(v ?? '');
}

export function planRedis(input: ImageInput): ContainerPlan {
  const image = (input.container.image ?? '').toLowerCase();
  const env = input.env;
  const dataMount = (p: string): string => toHost(input.mounts, input.rootfs, p);
  const official = !image.includes('bitnami/') && !image.includes('opstree/');
  const inv = findInvocation(input.command, input.args, env, official);
  const startScript = bitnamiStartScript(input);
  if (startScript) return planBitnamiSentinelScript(input, startScript, ConfigBuilder);
  // a redis image running something else (redis-cli in a job, a shell sidecar): run that
  if (!inv && official && input.command && input.command.length > 0) return planGeneric(input);
  const b = new ConfigBuilder(input);
  let sentinel = false;
  let defaultDir = dataMount('/data');
  let prepare: (() => Promise<void>) | undefined;
  const file = (name: string): string => join(input.runDir, name);
  let cfg: RedisConfig;

  if (inv) {
    const args = [...inv.args];
    sentinel = inv.binary === 'redis-sentinel' || args.includes('--sentinel');
    const conf = args[0] && !args[0].startsWith('--') && args[0] !== '-' ? args.shift() : undefined;
    if (conf) b.addFile(conf);
    b.addArgs(args.filter((a) => a !== '--sentinel'));
    const cwd = input.container.workingDir;
    if (cwd) defaultDir = dataMount(cwd);
    if (sentinel && !b.last('port')) b.add(['port', '26379']);
    const target = file(sentinel ? 'sentinel.conf' : 'redis.conf');
    // sentinel rewrites its config: keep it across container restarts of one pod sandbox
    if (sentinel && input.restart && existsSync(target)) {
      return { argv: ['redis-sentinel', target], pingPort: Number(b.last('port')?.[1] ?? 26379), pingPassword: b.last('requirepass')?.[1] };
    }
    cfg = b.write(target, defaultDir);
    if (inv.wrapper.length > 0 && cfg.clusterEnabled) {
      const nodesConf = nodesConfPath(cfg);
      prepare = async () => {
        if (rewriteMyselfIp(nodesConf, input.podIP)) input.log(`Updating my IP to ${input.podIP} in ${nodesConf}`);
      };
    }
    return { argv: sentinel ? ['redis-sentinel', target] : ['redis-server', target], pingPort: cfg.port ?? (sentinel ? 26379 : 6379), pingPassword: cfg.password, prepare };
  }

  if (image.includes('opstree/redis-sentinel') || (image.includes('opstree/') && image.includes('sentinel'))) {
    // OT-CONTAINER-KIT/redis entrypoint-sentinel.sh
    const group = env.MASTER_GROUP_NAME || 'mymaster';
    if (env.REDIS_PASSWORD) {
      b.add(['masterauth', env.REDIS_PASSWORD]);
      b.add(['requirepass', env.REDIS_PASSWORD]);
      b.add(['protected-mode', 'yes']);
    } else b.add(['protected-mode', 'no']);
    b.add(['sentinel', 'monitor', group, env.IP || '0.0.0.0', env.PORT || '6379', env.QUORUM || '2']);
    b.add(['sentinel', 'down-after-milliseconds', group, env.DOWN_AFTER_MILLISECONDS || '30000']);
    b.add(['sentinel', 'parallel-syncs', group, env.PARALLEL_SYNCS || '1']);
    b.add(['sentinel', 'failover-timeout', group, env.FAILOVER_TIMEOUT || '180000']);
    b.add(['SENTINEL', 'resolve-hostnames', env.RESOLVE_HOSTNAMES || 'no']);
    b.add(['SENTINEL', 'announce-hostnames', env.ANNOUNCE_HOSTNAMES || 'no']);
    if (env.MASTER_PASSWORD) b.add(['sentinel', 'auth-pass', group, env.MASTER_PASSWORD]);
    b.add(['port', env.SENTINEL_PORT || '26379']);
    const ext = env.EXTERNAL_CONFIG_FILE || '/etc/redis/external.conf.d/redis-sentinel-additional.conf';
    if (existsSync(dataMount(ext))) b.addFile(ext);
    const target = file('sentinel.conf');
    if (input.restart && existsSync(target)) return { argv: ['redis-sentinel', target], pingPort: Number(env.SENTINEL_PORT || 26379), pingPassword: env.REDIS_PASSWORD || undefined };
    cfg = b.write(target, input.rootfs);
    return { argv: ['redis-sentinel', target], pingPort: cfg.port ?? 26379, pingPassword: cfg.password };
  }

  if (image.includes('opstree/')) {
    // OT-CONTAINER-KIT/redis entrypoint.sh
    const dataDir = env.DATA_DIR || '/data';
    const nodeConfDir = input.mounts.some((m) => m.path === (env.NODE_CONF_DIR || '/node-conf')) ? env.NODE_CONF_DIR || '/node-conf' : dataDir;
    if (env.REDIS_PASSWORD) {
      b.add(['masterauth', env.REDIS_PASSWORD]);
      b.add(['requirepass', env.REDIS_PASSWORD]);
      b.add(['protected-mode', 'yes']);
    } else b.add(['protected-mode', 'no']);
    const mode = env.SETUP_MODE || env.SERVER_MODE || 'standalone';
    const nodesConf = join(dataMount(nodeConfDir), 'nodes.conf');
    if (mode === 'cluster') {
      b.add(['cluster-enabled', 'yes']);
      b.add(['cluster-node-timeout', '5000']);
      b.add(['cluster-require-full-coverage', 'no']);
      b.add(['cluster-migration-barrier', '1']);
      b.add(['cluster-config-file', nodesConf], true);
      mkdirSync(dataMount(nodeConfDir), { recursive: true });
      prepare = async () => {
        rewriteMyselfIp(nodesConf, input.podIP);
      };
    }
    if (env.PERSISTENCE_ENABLED === 'true') {
      for (const s of [['save', '900', '1'], ['save', '300', '10'], ['save', '60', '10000'], ['appendonly', 'yes'], ['appendfilename', 'appendonly.aof']]) b.add(s);
    }
    b.add(['dir', dataMount(dataDir)], true);
    b.add(['port', env.REDIS_PORT || '6379']);
    const ext = env.EXTERNAL_CONFIG_FILE || '/etc/redis/external.conf.d/redis-additional.conf';
    if (existsSync(dataMount(ext))) b.addFile(ext);
    if (mode === 'cluster' && (env.REDIS_MAJOR_VERSION || 'v7') === 'v7') {
      b.add(['cluster-announce-ip', input.podIP]);
      b.add(['cluster-announce-hostname', input.pod.metadata.name]);
    }
    cfg = b.write(file('redis.conf'), dataMount(dataDir));
    return { argv: ['redis-server', file('redis.conf')], pingPort: cfg.port ?? 6379, pingPassword: cfg.password, prepare };
  }

  if (image.includes('bitnami/redis-sentinel')) {
    const group = env.REDIS_MASTER_SET || 'mymaster';
    b.add(['port', env.REDIS_SENTINEL_PORT_NUMBER || '26379']);
    b.add(['sentinel', 'monitor', group, env.REDIS_MASTER_HOST || '127.0.0.1', env.REDIS_MASTER_PORT_NUMBER || '6379', env.REDIS_SENTINEL_QUORUM || '2']);
    b.add(['sentinel', 'down-after-milliseconds', group, env.REDIS_SENTINEL_DOWN_AFTER_MILLISECONDS || '60000']);
    b.add(['sentinel', 'failover-timeout', group, env.REDIS_SENTINEL_FAILOVER_TIMEOUT || '180000']);
    b.add(['sentinel', 'parallel-syncs', group, '1']);
    if (env.REDIS_MASTER_PASSWORD) b.add(['sentinel', 'auth-pass', group, env.REDIS_MASTER_PASSWORD]);
    if (env.REDIS_SENTINEL_PASSWORD) b.add(['requirepass', env.REDIS_SENTINEL_PASSWORD]);
    const target = file('sentinel.conf');
    if (input.restart && existsSync(target)) return { argv: ['redis-sentinel', target], pingPort: Number(env.REDIS_SENTINEL_PORT_NUMBER || 26379), pingPassword: env.REDIS_SENTINEL_PASSWORD || undefined };
    cfg = b.write(target, join(input.rootfs, 'opt/bitnami/redis-sentinel/tmp'));
    return { argv: ['redis-sentinel', target], pingPort: cfg.port ?? 26379, pingPassword: cfg.password };
  }

  if (image.includes('bitnami/redis')) {
    const cluster = image.includes('redis-cluster');
    const dataDir = env.REDIS_DATA_DIR || '/bitnami/redis/data';
    const mounted = '/opt/bitnami/redis/mounted-etc/redis.conf';
    if (existsSync(dataMount(mounted))) b.addFile(mounted);
    const password = yes(env.ALLOW_EMPTY_PASSWORD) && !env.REDIS_PASSWORD ? undefined : env.REDIS_PASSWORD;
    if (password) b.add(['requirepass', password]);
    if (env.REDIS_MASTER_PASSWORD || password) b.add(['masterauth', env.REDIS_MASTER_PASSWORD || password || '']);
    b.add(['appendonly', yes(env.REDIS_AOF_ENABLED ?? 'yes') ? 'yes' : 'no']);
    b.add(['port', env.REDIS_PORT_NUMBER || env.REDIS_PORT || '6379']);
    b.add(['dir', dataMount(dataDir)], true);
    if (cluster) {
      b.add(['cluster-enabled', 'yes']);
      b.add(['cluster-config-file', join(dataMount(dataDir), 'nodes.conf')], true);
      const nodes = (env.REDIS_NODES ?? '').split(/[\s,;]+/).filter(Boolean);
      if (yes(env.REDIS_CLUSTER_DYNAMIC_IPS ?? 'yes') && nodes.length > 0) prepare = () => bitnamiUpdateIps(input, dataMount(dataDir), nodes);
    } else {
      const mode = env.REDIS_REPLICATION_MODE;
      if ((mode === 'slave' || mode === 'replica') && env.REDIS_MASTER_HOST) b.add(['replicaof', env.REDIS_MASTER_HOST, env.REDIS_MASTER_PORT_NUMBER || '6379']);
    }
    if (yes(env.REDIS_TLS_ENABLED ?? 'no')) {
      // bitnami/containers redis(-cluster) libredis.sh redis_configure_tls (librediscluster.sh adds the cluster bus):
      // TLS on the default port means no plain port at all; tls-auth-clients defaults to yes, as the chart's
      // tls.authClients does
      const tlsPort = env.REDIS_TLS_PORT_NUMBER || env.REDIS_TLS_PORT || '6379';
      if ((env.REDIS_PORT_NUMBER || '6379') === '6379' && tlsPort === '6379') b.add(['port', '0']);
      b.add(['tls-port', tlsPort]);
      b.add(['tls-cert-file', env.REDIS_TLS_CERT_FILE || '/opt/bitnami/redis/certs/tls.crt']);
      b.add(['tls-key-file', env.REDIS_TLS_KEY_FILE || '/opt/bitnami/redis/certs/tls.key']);
      b.add(['tls-ca-cert-file', env.REDIS_TLS_CA_FILE || '/opt/bitnami/redis/certs/ca.crt']);
      b.add(['tls-auth-clients', yes(env.REDIS_TLS_AUTH_CLIENTS ?? 'yes') ? 'yes' : 'no']);
      b.add(['tls-replication', 'yes']);
      if (cluster) b.add(['tls-cluster', 'yes']);
    }
    const overrides = '/opt/bitnami/redis/etc/overrides.conf';
    if (existsSync(dataMount(overrides))) b.addFile(overrides);
    cfg = b.write(file('redis.conf'), dataMount(dataDir));
    return { argv: ['redis-server', file('redis.conf')], ...pingOf(cfg, 6379), prepare };
  }

  // The official image (and spotahome's / ucloud's without a command): redis-server with defaults, WORKDIR /data.
  cfg = b.write(file('redis.conf'), defaultDir);
  return { argv: ['redis-server', file('redis.conf')], pingPort: cfg.port ?? 6379, pingPassword: cfg.password };
}
