// The one way the CLI talks to a Redis pod: through a PodDialer (port-forward, or the pod IP with --direct), with
// the password from the target's Secret and TLS when the target says so. Every failure becomes a RedisError that is
// one sentence naming the pod. Passwords go to Redis only: never into an error, a log line or a child's argv.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { KubectlRedisError, RedisError } from '../errors.js';
import { parseClusterNodesDetailed } from './cluster-nodes.js';
import { parseClusterShards, type ClusterShard } from './cluster-shards.js';
import { parseClusterSlots, type SlotRangeOwner } from './cluster-slots.js';
import { parseClusterInfo, parseInfo, parseReplicationInfo, type ClusterInfo, type InfoSections } from './info.js';
import { parseRole } from './role.js';
import { parseMasterAddr, parseSentinelList, parseSentinelRecord, type HostPort } from './sentinel.js';
import type { ClusterNodeEntry, LocalEndpoint, PodDialer, ReplicationInfo, RoleReply, SentinelRecord } from './types.js';
import { slotsCommand, unsupportedVersion, versionFromInfo, type RedisVersion } from './version.js';

export const DEFAULT_TIMEOUT_MS = 5000;

export interface RedisAuth {
  /** ACL user; omitted for the `default` user (and for Redis 5 and older). */
  username?: string;
  password: string;
}

export interface RedisTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Name the certificate must carry (SNI and verification); needed through a port-forward, which is 127.0.0.1. */
  servername?: string;
  /** Default true: a certificate that does not verify is refused, never silently accepted. */
  rejectUnauthorized?: boolean;
  /** Where the CA came from, for error sentences: "Secret redis/orders-tls key ca.crt". */
  caHint?: string;
  /** Where the client certificate and key come (or should come) from, for error sentences. */
  certHint?: string;
}

export interface ConnectPodOptions {
  namespace: string;
  pod: string;
  port: number;
  dialer: PodDialer;
  auth?: RedisAuth;
  /** Where the password came from, named when it is wrong: "Secret redis/orders-auth key password". */
  secretHint?: string;
  tls?: RedisTls;
  /** What to tell the user to do to turn TLS on, when the server turns out to need it. */
  tlsHint?: string;
  /** Connect, and every command, give up after this long. */
  timeoutMs?: number;
  /** CLIENT SETNAME, so operators can see who is connected. */
  name?: string;
  /** The pod's IP from a pod list just read (see PodDialer.open). */
  podIp?: string;
}

/** What an error sentence needs to know about a connection. */
interface Context {
  pod: string;
  port: number;
  timeoutMs: number;
  authGiven: boolean;
  /** the ACL user logged in as (undefined: the default user) */
  user?: string;
  secretHint?: string;
  tls?: RedisTls;
  tlsHint?: string;
}

const TLS_CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

interface ErrorLike {
  message: string;
  code?: string;
  name?: string;
}

function asErrorLike(err: unknown): ErrorLike {
  if (err instanceof Error) return err as ErrorLike;
  return { message: String(err) };
}

/**
 * A copy of an ioredis/Node error that keeps what helps debugging (message, code) and drops what may hold secrets:
 * ioredis puts every command's arguments (AUTH <password>, MIGRATE ... AUTH <password>) on `err.command`.
 */
function scrubbed(err: unknown): Error {
  const e = asErrorLike(err);
  const copy = new Error(e.message);
  copy.name = e.name ?? 'Error';
  if (e.code !== undefined) (copy as Error & { code?: string }).code = e.code;
  return copy;
}

function caName(tls: RedisTls | undefined): string {
  if (tls?.caHint) return `the CA in ${tls.caHint}`;
  return tls?.ca ? 'the CA given' : "the system's CAs (no CA was given)";
}

/** The one sentence for a failure to reach or authenticate to Redis. `connected`: TCP (or TLS) came up first. */
function connectionError(err: unknown, ctx: Context, connected: boolean): RedisError {
  const e = asErrorLike(err);
  const where = `Redis in pod ${ctx.pod}`;
  const cause = scrubbed(err);
  const msg = e.message;
  if (/WRONGPASS|invalid password|invalid username-password/i.test(msg) || (/NOAUTH/.test(msg) && ctx.authGiven)) {
    return new RedisError(`wrong password for ${ctx.user ? `user "${ctx.user}" of ` : ''}${where}: check the ${ctx.secretHint ?? 'Secret that holds its password'}`, {
      pod: ctx.pod,
      cause,
    });
  }
  if (/NOAUTH|Authentication required/i.test(msg)) {
    return new RedisError(`${where} requires a password and none was given: check the ${ctx.secretHint ?? 'Secret that holds its password'}`, {
      pod: ctx.pod,
      cause,
    });
  }
  // tls-auth-clients yes (the charts' default once TLS is on): TLS 1.3 says "certificate required", TLS 1.2 only
  // "handshake failure"; either, when we sent no certificate, is that
  if (ctx.tls && !ctx.tls.cert && /CERTIFICATE_REQUIRED|certificate required|ALERT_HANDSHAKE_FAILURE|alert handshake failure/i.test(`${e.code ?? ''} ${msg}`)) {
    return new RedisError(
      `${where} requires a client certificate and none was presented: ${ctx.tls.certHint ? `check ${ctx.tls.certHint}` : 'no Secret of the target holds one'}`,
      { pod: ctx.pod, cause, hint: 'Redis runs with tls-auth-clients yes: a client must present a certificate signed by its CA' },
    );
  }
  if (ctx.tls && /ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|DECRYPT_ERROR)|alert (bad certificate|unknown ca|certificate unknown)/i.test(`${e.code ?? ''} ${msg}`)) {
    return new RedisError(`${where} did not accept our client certificate (${e.code ?? msg}): check ${ctx.tls.certHint ?? 'the certificate given'}; it must be signed by the CA Redis trusts`, { pod: ctx.pod, cause });
  }
  if ((e.code && TLS_CERT_CODES.has(e.code)) || /certificate|self[- ]signed|altnames/i.test(msg)) {
    return new RedisError(
      `the TLS certificate of ${where} was not accepted (${e.code ?? msg}): check ${caName(ctx.tls)}` +
        (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID' || e.code === 'HOSTNAME_MISMATCH'
          ? ` and the server name expected (${ctx.tls?.servername ? `"${ctx.tls.servername}"` : 'the address connected to'}; --tls-server-name names another)`
          : ''),
      { pod: ctx.pod, cause, hint: 'the certificate must be signed by that CA and name the pod or its Service' },
    );
  }
  if (ctx.tls && /wrong version number|packet length too long|unknown protocol|ERR_SSL/i.test(`${e.code ?? ''} ${msg}`)) {
    return new RedisError(`${where} does not speak TLS on port ${ctx.port}, but TLS was asked for: connect without TLS`, {
      pod: ctx.pod,
      cause,
    });
  }
  if (!ctx.tls && connected && /Connection is closed|ECONNRESET|socket hang up|EPIPE/i.test(`${e.code ?? ''} ${msg}`)) {
    return new RedisError(
      `${where} closed the plain-text connection on port ${ctx.port} without answering: it probably requires TLS; ${
        ctx.tlsHint ?? 'connect with TLS and the CA from the Secret that holds its certificates'
      }`,
      { pod: ctx.pod, cause },
    );
  }
  if (/ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET|Command timed out|Connection is closed|timed out|EPIPE/i.test(`${e.code ?? ''} ${msg}`)) {
    const why = e.code === 'ECONNREFUSED' ? ' (connection refused)' : '';
    return new RedisError(`${where} did not answer on port ${ctx.port} within ${ctx.timeoutMs} ms${why}`, {
      pod: ctx.pod,
      cause,
      // A plain-text Redis reads a TLS hello as the start of a command and waits for the rest: it looks like silence.
      hint: ctx.tls
        ? `check that Redis serves TLS on port ${ctx.port}; if it does not, connect without TLS`
        : `check that the pod is Running and Redis listens on port ${ctx.port}`,
    });
  }
  if (/^DENIED|protected mode/i.test(msg)) {
    return new RedisError(`${where} refused the connection (protected mode): it accepts only local clients without a password`, {
      pod: ctx.pod,
      cause,
    });
  }
  return new RedisError(`could not talk to ${where} on port ${ctx.port}: ${msg}`, { pod: ctx.pod, cause });
}

/** The sentence for a command Redis answered with an error (or that failed on an established connection). */
function commandError(err: unknown, ctx: Context, command: string): RedisError {
  const e = asErrorLike(err);
  if (/WRONGPASS|NOAUTH|Command timed out|Connection is closed|ECONNRESET|EPIPE|Stream isn't writeable/i.test(`${e.code ?? ''} ${e.message}`)) {
    if (/Stream isn't writeable/.test(e.message)) {
      return new RedisError(`the connection to Redis in pod ${ctx.pod} was lost before ${command}: connect again`, {
        pod: ctx.pod,
        cause: scrubbed(err),
      });
    }
    return connectionError(err, ctx, true);
  }
  if (/^NOPERM/.test(e.message)) {
    // 7.0: "NOPERM User viewer has no permissions to run the 'cluster|nodes' command"; 6.2: "NOPERM this user has
    // no permissions to run the 'cluster' command" (redis/redis src/acl.c addACLLogEntry / server.c processCommand)
    const what = /'([^']+)'/.exec(e.message)?.[1];
    return new RedisError(
      `Redis user "${ctx.user ?? 'default'}" may not run ${command} in pod ${ctx.pod}${what ? ` (its ACL lacks +${what})` : ''}: grant it, or log in as a user who may (--redis-user, --redis-password-secret)`,
      { pod: ctx.pod, cause: scrubbed(err) },
    );
  }
  return new RedisError(`Redis in pod ${ctx.pod} refused ${command}: ${e.message}`, { pod: ctx.pod, cause: scrubbed(err) });
}

function tlsOptions(tls: RedisTls): ConnectionOptions {
  const options: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized ?? true };
  if (tls.ca !== undefined) options.ca = tls.ca;
  if (tls.cert !== undefined) options.cert = tls.cert;
  if (tls.key !== undefined) options.key = tls.key;
  if (tls.servername !== undefined) options.servername = tls.servername;
  return options;
}

/** ioredis settings shared by single-node and cluster clients: fail fast, never retry on our behalf. */
function baseRedisOptions(auth: RedisAuth | undefined, tls: RedisTls | undefined, timeoutMs: number, name?: string): RedisOptions {
  const options: RedisOptions = {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    disableClientInfo: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  };
  if (auth) {
    options.password = auth.password;
    if (auth.username) options.username = auth.username;
  }
  if (tls) options.tls = tlsOptions(tls);
  if (name) options.connectionName = name;
  return options;
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  // If the deadline wins, `work` still settles later; its rejection must not become an unhandled one.
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** Opens the way to the pod and proves Redis answers (AUTH and PING) before returning. */
export async function connectPod(opts: ConnectPodOptions): Promise<RedisNode> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const ctx: Context = {
    pod: `${opts.namespace}/${opts.pod}`,
    port: opts.port,
    timeoutMs,
    authGiven: opts.auth !== undefined,
    user: opts.auth?.username,
    secretHint: opts.secretHint,
    tls: opts.tls,
    tlsHint: opts.tlsHint,
  };
  let endpoint: LocalEndpoint;
  try {
    endpoint = await opts.dialer.open(opts.namespace, opts.pod, opts.port, opts.podIp);
  } catch (err) {
    if (err instanceof KubectlRedisError) throw err;
    throw new RedisError(`could not open a connection to pod ${ctx.pod} port ${opts.port}: ${asErrorLike(err).message}`, {
      pod: ctx.pod,
      cause: scrubbed(err),
    });
  }
  const client = new Redis({ host: endpoint.host, port: endpoint.port, ...baseRedisOptions(opts.auth, opts.tls, timeoutMs, opts.name) });
  // ioredis reports the real cause (WRONGPASS, a TLS alert) as an 'error' event and rejects connect() with a generic one.
  let lastError: unknown;
  let connected = false;
  const forwardFailuresBefore = endpoint.forwardFailures?.count ?? 0;
  client.on('error', (err: unknown) => (lastError = err));
  client.on('connect', () => (connected = true));
  let info: string | undefined;
  try {
    await withDeadline(
      (async () => {
        await client.connect();
        // PING proves Redis answers; INFO server, in the same round trip, says which commands it has. A user whose ACL
        // denies INFO still connects (the version stays unknown and only commands of every version are sent).
        const [, server] = await Promise.all([client.ping(), client.info('server').catch(() => undefined)]);
        info = server;
      })(),
      timeoutMs + 500,
    );
  } catch (err) {
    client.disconnect();
    const forwarded = endpoint.forwardFailures;
    await endpoint.close().catch(() => undefined);
    // Through a port-forward the local socket always connects; the far side's own failure (nothing listening in the
    // pod: Redis killed or restarting) is the truth, not a guess from how the connection closed.
    // ...unless TLS itself said why first (a refused handshake resets the connection, which the forward also sees)
    const tlsSaid = opts.tls !== undefined && /ERR_SSL|ERR_TLS|CERT|certificate|alert/i.test(`${asErrorLike(lastError).code ?? ''} ${asErrorLike(lastError).message}`);
    if (forwarded && forwarded.count > forwardFailuresBefore && !(lastError !== undefined && tlsSaid)) {
      throw new RedisError(`Redis in pod ${ctx.pod} could not be reached on port ${ctx.port} through the port-forward: ${forwarded.last ?? 'the far side failed'}`, {
        pod: ctx.pod,
        cause: scrubbed(err),
        hint: `check that the pod is Running and Redis listens on port ${ctx.port} (a restarting Redis refuses until it is up)`,
      });
    }
    const generic = /Connection is closed|timed out|Stream isn't writeable|ECONNRESET/i.test(asErrorLike(err).message) || tlsSaid;
    throw connectionError(generic && lastError !== undefined ? lastError : err, ctx, connected);
  }
  const version = info === undefined ? undefined : versionFromInfo(info);
  const tooOld = unsupportedVersion(version, `pod ${ctx.pod}`);
  if (tooOld) {
    client.disconnect();
    await endpoint.close().catch(() => undefined);
    throw new RedisError(tooOld, { pod: ctx.pod });
  }
  return new RedisNode(client, endpoint, ctx, version);
}

function str(reply: unknown): string {
  if (typeof reply === 'string') return reply;
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  return String(reply);
}

function num(reply: unknown): number {
  const n = Number(str(reply));
  if (!Number.isFinite(n)) throw new Error(`expected a number, got "${str(reply)}"`);
  return n;
}

/** Commands whose first argument names what they do (and is never user data), so a sentence may show it. */
const WITH_SUBCOMMANDS = new Set(['CLUSTER', 'CONFIG', 'SENTINEL', 'CLIENT', 'ACL', 'COMMAND', 'MEMORY', 'OBJECT', 'SCRIPT', 'SLOWLOG', 'FUNCTION', 'LATENCY', 'MODULE', 'XINFO', 'PUBSUB']);

export type SetSlotState = 'IMPORTING' | 'MIGRATING' | 'NODE' | 'STABLE';

export interface MigrateOptions {
  timeoutMs?: number;
  copy?: boolean;
  replace?: boolean;
  /** The target's password (MIGRATE authenticates itself to the target). */
  auth?: RedisAuth;
  /** Target db (always 0 in cluster mode). */
  db?: number;
}

/** One Redis server in one pod, with typed commands. Create with connectPod. */
export class RedisNode {
  /** `namespace/pod`. */
  readonly pod: string;
  readonly port: number;

  constructor(
    private readonly client: Redis,
    private readonly endpoint: LocalEndpoint,
    private readonly ctx: Context,
    /** from INFO server when it connected; undefined when its ACL denied INFO */
    readonly version?: RedisVersion,
  ) {
    this.pod = ctx.pod;
    this.port = ctx.port;
  }

  /**
   * Runs `issue`, which sends several commands at once (`Promise.all` of this node's methods), with the socket corked:
   * they leave in one write, as a pipeline does, and Redis answers them in one round trip.
   */
  async batch<T>(issue: () => Promise<T>): Promise<T> {
    const stream = this.client.stream;
    stream.cork();
    let work: Promise<T>;
    try {
      work = issue();
    } finally {
      // the commands were written (into the corked buffer) synchronously by issue(); flush them together
      process.nextTick(() => stream.uncork());
    }
    return work;
  }

  /** Raw command escape hatch; errors still become one sentence naming the pod (arguments are never shown). */
  async call(command: string, ...args: Array<string | number | Buffer>): Promise<unknown> {
    const sub = WITH_SUBCOMMANDS.has(command.toUpperCase()) && typeof args[0] === 'string' ? ` ${args[0]}` : '';
    const label = `${command}${sub}`.toUpperCase();
    try {
      return await this.client.call(command, ...args);
    } catch (err) {
      // connectPod saw this server answer PING, so a connection closed now lost its server (killed, restarted, node
      // gone); it is not a TLS-only port (that fails in connectPod, with its own sentence)
      if (/Connection is closed|ECONNRESET|EPIPE|socket hang up/i.test(`${(err as { code?: string }).code ?? ''} ${(err as Error).message ?? ''}`)) {
        throw new RedisError(`the connection to Redis in pod ${this.pod} was lost during ${label} (the process was killed or restarted, or its node went away)`, { pod: this.pod, cause: scrubbed(err) });
      }
      throw commandError(err, this.ctx, label);
    }
  }

  async ping(): Promise<void> {
    const reply = str(await this.call('PING'));
    if (reply !== 'PONG') throw new RedisError(`Redis in pod ${this.pod} answered PING with "${reply}"`, { pod: this.pod });
  }

  async role(): Promise<RoleReply> {
    return parseRole(await this.call('ROLE'));
  }

  async info(section?: string): Promise<InfoSections> {
    return parseInfo(str(await (section ? this.call('INFO', section) : this.call('INFO'))));
  }

  async infoReplication(): Promise<ReplicationInfo> {
    return parseReplicationInfo(str(await this.call('INFO', 'replication')));
  }

  async dbsize(): Promise<number> {
    return num(await this.call('DBSIZE'));
  }

  // ---- Redis Cluster -----------------------------------------------------------------------------------------

  async clusterNodes(): Promise<{ entries: ClusterNodeEntry[]; raw: string; skipped: string[] }> {
    const raw = str(await this.call('CLUSTER', 'NODES'));
    const parsed = parseClusterNodesDetailed(raw);
    return { entries: parsed.entries, raw, skipped: parsed.skipped };
  }

  async clusterInfo(): Promise<ClusterInfo> {
    return parseClusterInfo(str(await this.call('CLUSTER', 'INFO')));
  }

  async clusterShards(): Promise<ClusterShard[]> {
    return parseClusterShards(await this.call('CLUSTER', 'SHARDS'));
  }

  async clusterSlots(): Promise<SlotRangeOwner[]> {
    return parseClusterSlots(await this.call('CLUSTER', 'SLOTS'));
  }

  async clusterMyId(): Promise<string> {
    return str(await this.call('CLUSTER', 'MYID'));
  }

  async countKeysInSlot(slot: number): Promise<number> {
    return num(await this.call('CLUSTER', 'COUNTKEYSINSLOT', slot));
  }

  async getKeysInSlot(slot: number, count: number): Promise<string[]> {
    const reply = await this.call('CLUSTER', 'GETKEYSINSLOT', slot, count);
    return Array.isArray(reply) ? reply.map(str) : [];
  }

  async keySlot(key: string): Promise<number> {
    return num(await this.call('CLUSTER', 'KEYSLOT', key));
  }

  async clusterSetSlot(slot: number, state: SetSlotState, nodeId?: string): Promise<void> {
    if (state !== 'STABLE' && !nodeId) throw new Error(`CLUSTER SETSLOT ${state} needs a node id`);
    await (state === 'STABLE' ? this.call('CLUSTER', 'SETSLOT', slot, 'STABLE') : this.call('CLUSTER', 'SETSLOT', slot, state, nodeId as string));
  }

  async clusterMeet(ip: string, port: number, busPort?: number): Promise<void> {
    await (busPort === undefined ? this.call('CLUSTER', 'MEET', ip, port) : this.call('CLUSTER', 'MEET', ip, port, busPort));
  }

  async clusterForget(nodeId: string): Promise<void> {
    await this.call('CLUSTER', 'FORGET', nodeId);
  }

  async clusterReplicate(masterId: string): Promise<void> {
    await this.call('CLUSTER', 'REPLICATE', masterId);
  }

  /** Run on a replica. FORCE: without the master's agreement; TAKEOVER: without the cluster's either. */
  async clusterFailover(mode?: 'FORCE' | 'TAKEOVER'): Promise<void> {
    await (mode ? this.call('CLUSTER', 'FAILOVER', mode) : this.call('CLUSTER', 'FAILOVER'));
  }

  async clusterAddSlots(slots: number[]): Promise<void> {
    if (slots.length > 0) await this.call('CLUSTER', 'ADDSLOTS', ...slots);
  }

  /** ADDSLOTSRANGE on Redis 7+, ADDSLOTS with every slot listed before (or when the version is unknown). */
  async clusterAddSlotsRange(ranges: ReadonlyArray<readonly [number, number]>): Promise<void> {
    if (ranges.length > 0) await this.call('CLUSTER', ...slotsCommand('ADD', ranges, this.version));
  }

  async clusterDelSlots(slots: number[]): Promise<void> {
    if (slots.length > 0) await this.call('CLUSTER', 'DELSLOTS', ...slots);
  }

  /** DELSLOTSRANGE on Redis 7+, DELSLOTS with every slot listed before (or when the version is unknown). */
  async clusterDelSlotsRange(ranges: ReadonlyArray<readonly [number, number]>): Promise<void> {
    if (ranges.length > 0) await this.call('CLUSTER', ...slotsCommand('DEL', ranges, this.version));
  }

  async clusterCountFailureReports(nodeId: string): Promise<number> {
    return num(await this.call('CLUSTER', 'COUNT-FAILURE-REPORTS', nodeId));
  }

  async clusterBumpEpoch(): Promise<string> {
    return str(await this.call('CLUSTER', 'BUMPEPOCH'));
  }

  async clusterSaveConfig(): Promise<void> {
    await this.call('CLUSTER', 'SAVECONFIG');
  }

  async clusterReset(mode: 'SOFT' | 'HARD' = 'SOFT'): Promise<void> {
    await this.call('CLUSTER', 'RESET', mode);
  }

  /**
   * MIGRATE keys to another node (as a slot move does). Returns 'OK' or 'NOKEY' (none of the keys existed).
   * The target's password rides on the command to Redis only; errors never show the arguments.
   */
  async migrate(host: string, port: number, keys: string[], opts: MigrateOptions = {}): Promise<'OK' | 'NOKEY'> {
    if (keys.length === 0) return 'NOKEY';
    const args: Array<string | number> = [host, port, '', opts.db ?? 0, opts.timeoutMs ?? this.ctx.timeoutMs];
    if (opts.copy) args.push('COPY');
    if (opts.replace) args.push('REPLACE');
    if (opts.auth) {
      if (opts.auth.username) args.push('AUTH2', opts.auth.username, opts.auth.password);
      else args.push('AUTH', opts.auth.password);
    }
    args.push('KEYS', ...keys);
    const reply = str(await this.call('MIGRATE', ...args));
    return reply === 'NOKEY' ? 'NOKEY' : 'OK';
  }

  // ---- replication -------------------------------------------------------------------------------------------

  async replicaOf(host: string, port: number): Promise<void> {
    await this.call('REPLICAOF', host, port);
  }

  async replicaOfNoOne(): Promise<void> {
    await this.call('REPLICAOF', 'NO', 'ONE');
  }

  // ---- Sentinel ----------------------------------------------------------------------------------------------

  async sentinelMasters(): Promise<SentinelRecord[]> {
    return parseSentinelList(await this.call('SENTINEL', 'MASTERS'));
  }

  async sentinelMaster(name: string): Promise<SentinelRecord> {
    return parseSentinelRecord(await this.call('SENTINEL', 'MASTER', name));
  }

  async sentinelReplicas(name: string): Promise<SentinelRecord[]> {
    return parseSentinelList(await this.call('SENTINEL', 'REPLICAS', name));
  }

  async sentinelSentinels(name: string): Promise<SentinelRecord[]> {
    return parseSentinelList(await this.call('SENTINEL', 'SENTINELS', name));
  }

  async sentinelGetMasterAddrByName(name: string): Promise<HostPort | null> {
    return parseMasterAddr(await this.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name));
  }

  /** Forgets replicas and sentinels it knows for masters matching `pattern`; returns how many masters were reset. */
  async sentinelReset(pattern: string): Promise<number> {
    return num(await this.call('SENTINEL', 'RESET', pattern));
  }

  async sentinelFailover(name: string): Promise<void> {
    await this.call('SENTINEL', 'FAILOVER', name);
  }

  async sentinelMonitor(name: string, ip: string, port: number, quorum: number): Promise<void> {
    await this.call('SENTINEL', 'MONITOR', name, ip, port, quorum);
  }

  async sentinelRemove(name: string): Promise<void> {
    await this.call('SENTINEL', 'REMOVE', name);
  }

  async sentinelSet(name: string, option: string, value: string): Promise<void> {
    await this.call('SENTINEL', 'SET', name, option, value);
  }

  /** SENTINEL CKQUORUM: resolves with Redis's sentence when the quorum and majority are reachable, throws otherwise. */
  async sentinelCkquorum(name: string): Promise<string> {
    return str(await this.call('SENTINEL', 'CKQUORUM', name));
  }

  // ---- config ------------------------------------------------------------------------------------------------

  async configGet(pattern: string): Promise<Record<string, string>> {
    const reply = await this.call('CONFIG', 'GET', pattern);
    const out: Record<string, string> = {};
    if (Array.isArray(reply)) for (let i = 0; i + 1 < reply.length; i += 2) out[str(reply[i])] = str(reply[i + 1]);
    return out;
  }

  async configSet(parameter: string, value: string): Promise<void> {
    await this.call('CONFIG', 'SET', parameter, value);
  }

  async configRewrite(): Promise<void> {
    await this.call('CONFIG', 'REWRITE');
  }

  /** QUIT politely (falls back to dropping the socket) and closes the way to the pod. */
  async quit(): Promise<void> {
    try {
      if (this.client.status === 'ready') await withDeadline(this.client.quit(), this.ctx.timeoutMs);
    } catch {
      // The server may already be gone; the socket is dropped below either way.
    } finally {
      this.client.disconnect();
      await this.endpoint.close().catch(() => undefined);
    }
  }
}

/** `--direct`: the pod's own IP and port, found by the caller's resolver (pod status.podIP). Nothing to close. */
export function directDialer(resolveIp: (namespace: string, pod: string) => Promise<string>): PodDialer {
  return {
    async open(namespace: string, pod: string, port: number, podIp?: string): Promise<LocalEndpoint> {
      const host = podIp || (await resolveIp(namespace, pod));
      return { host, port, close: async () => undefined };
    },
    async closeAll(): Promise<void> {},
  };
}

/** Environment for a child redis-cli: the password in REDISCLI_AUTH, never `-a` on the command line. */
export function redisCliEnv(password: string | undefined, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  delete env.REDISCLI_AUTH;
  if (password !== undefined) env.REDISCLI_AUTH = password;
  return env;
}

export interface ClusterClientOptions {
  namespace: string;
  /** Every member pod of the Redis Cluster (a way is opened to each before the client starts). */
  pods: string[];
  /** Redis port inside the pods. */
  port: number;
  dialer: PodDialer;
  /** Pod name for an IP that CLUSTER NODES/SLOTS announces (pod status.podIP); undefined when no pod has it. */
  podForIp: (ip: string) => string | undefined;
  auth?: RedisAuth;
  secretHint?: string;
  tls?: RedisTls;
  timeoutMs?: number;
  name?: string;
}

/** A Redis Cluster client that reaches every node through the dialer: for write probes and multi-key work. */
export interface RedisClusterClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  del(...keys: string[]): Promise<number>;
  /** A keyed command, routed to the slot owner of its first key. */
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
  quit(): Promise<void>;
}

/**
 * Builds an ioredis Cluster whose natMap turns every announced `ip:port` into the local endpoint of that pod,
 * so MOVED/ASK redirections and the slot map work through port-forwards exactly as they would in-cluster.
 */
export async function connectClusterClient(opts: ClusterClientOptions): Promise<RedisClusterClient> {
  if (opts.pods.length === 0) throw new RedisError(`no Redis Cluster pods given in namespace ${opts.namespace}`);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const label = `${opts.namespace}/${opts.pods[0]}`;
  const ctx: Context = {
    pod: label,
    port: opts.port,
    timeoutMs,
    authGiven: opts.auth !== undefined,
    user: opts.auth?.username,
    secretHint: opts.secretHint,
    tls: opts.tls,
  };
  const endpoints = new Map<string, LocalEndpoint>();
  const closeAll = async () => {
    await Promise.all([...endpoints.values()].map((e) => e.close().catch(() => undefined)));
  };
  try {
    for (const pod of opts.pods) endpoints.set(pod, await opts.dialer.open(opts.namespace, pod, opts.port));
  } catch (err) {
    await closeAll();
    if (err instanceof KubectlRedisError) throw err;
    throw new RedisError(`could not open a connection to the Redis Cluster pods in ${opts.namespace}: ${asErrorLike(err).message}`, {
      cause: scrubbed(err),
    });
  }
  const natMap = (key: string): { host: string; port: number } | null => {
    const colon = key.lastIndexOf(':');
    const ip = key.slice(0, colon).replace(/^\[|\]$/g, '');
    const pod = opts.podForIp(ip);
    const endpoint = pod === undefined ? undefined : endpoints.get(pod);
    return endpoint ? { host: endpoint.host, port: endpoint.port } : null;
  };
  // The Cluster owns retries and the offline queue for its node connections.
  const { retryStrategy: _retry, enableOfflineQueue: _queue, ...nodeOptions } = baseRedisOptions(opts.auth, opts.tls, timeoutMs, opts.name);
  const cluster = new Cluster(
    [...endpoints.values()].map((e) => ({ host: e.host, port: e.port })),
    {
      natMap,
      lazyConnect: true,
      enableReadyCheck: true,
      clusterRetryStrategy: () => null,
      slotsRefreshTimeout: timeoutMs,
      maxRedirections: 16,
      retryDelayOnMoved: 0,
      retryDelayOnTryAgain: 100,
      retryDelayOnClusterDown: 100,
      scaleReads: 'master',
      // Announced addresses are pod IPs or hostnames the laptop cannot resolve: never look them up.
      dnsLookup: (address, callback) => callback(null, address),
      redisOptions: { ...nodeOptions, lazyConnect: false },
    },
  );
  // "Failed to refresh slots cache" hides the cause; the node's own error (WRONGPASS, a TLS alert) says it.
  let nodeError: unknown;
  cluster.on('error', () => undefined);
  cluster.on('node error', (err: unknown) => (nodeError = err));
  try {
    await withDeadline(cluster.connect(), timeoutMs * 2);
  } catch (err) {
    cluster.disconnect();
    await closeAll();
    const lastNodeError = (err as { lastNodeError?: unknown }).lastNodeError;
    throw connectionError(nodeError ?? lastNodeError ?? err, ctx, true);
  }
  const run = async <T>(command: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      throw new RedisError(`Redis Cluster in ${opts.namespace} refused ${command}: ${asErrorLike(err).message}`, { cause: scrubbed(err) });
    }
  };
  return {
    get: (key) => run('GET', () => cluster.get(key)),
    set: async (key, value, ttlSeconds) => {
      await run('SET', () => (ttlSeconds === undefined ? cluster.set(key, value) : cluster.set(key, value, 'EX', ttlSeconds)));
    },
    del: (...keys) => run('DEL', async () => {
      // Keys of different slots cannot share one DEL in a cluster: one call per key.
      let removed = 0;
      for (const key of keys) removed += await cluster.del(key);
      return removed;
    }),
    call: (command, ...args) => run(command.toUpperCase(), () => cluster.call(command, ...args)),
    quit: async () => {
      try {
        await withDeadline(cluster.quit(), timeoutMs);
      } catch {
        cluster.disconnect();
      }
      await closeAll();
    },
  };
}
