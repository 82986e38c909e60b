// The Bitnami redis chart's start scripts for architecture=replication with sentinel, as its ConfigMap renders them
// on the chart's default values (bitnami/charts bitnami/redis/templates/scripts-configmap.yaml, read at commit
// 008dc48140ef99d6043a63116917a38da378f84e): start-node.sh and start-sentinel.sh. Both wait until the headless
// Service lists the pod's IP; a pod alone on it starts as the master (and its sentinel monitors it), otherwise both
// ask the sentinels through the <fullname> Service (`sentinel get-master-addr-by-name`, with the Redis password since
// auth.sentinel=true) and the node starts `--slaveof <that host>`. Replicas announce
// `<pod>.<fullname>-headless.<ns>.svc.cluster.local`; sentinels run with announce-hostnames / resolve-hostnames yes,
// `requirepass` the Redis password and `sentinel myid` = sha1 of the hostname.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerPlan, ImageInput } from './types.js';
import { toHost } from '../volumes.js';
import { serviceAddresses } from '../dns.js';
import { redisCall } from '../../operators/kit.js';
import type { ConfigBuilder } from './redis.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function bitnamiStartScript(input: ImageInput): 'node' | 'sentinel' | undefined {
  if (!(input.container.image ?? '').toLowerCase().includes('bitnami/redis')) return undefined;
  const m = [...(input.command ?? []), ...(input.args ?? [])].join(' ').match(/start-scripts\/start-(node|sentinel)\.sh/);
  return m ? (m[1] as 'node' | 'sentinel') : undefined;
}

function lines(input: ImageInput, containerPath: string): string[] {
  const host = toHost(input.mounts, input.rootfs, containerPath);
  return existsSync(host) ? readFileSync(host, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')) : [];
}

export function planBitnamiSentinelScript(input: ImageInput, script: 'node' | 'sentinel', ConfigBuilderCtor: typeof ConfigBuilder): ContainerPlan {
  const env = input.env;
  const spec = (input.pod.spec ?? {}) as { subdomain?: string; hostname?: string };
  const ns = input.pod.metadata.namespace ?? 'default';
  const hostname = spec.hostname ?? input.pod.metadata.name;
  const headlessName = spec.subdomain ?? '';
  const fullname = headlessName.replace(/-headless$/, '');
  const headless = `${headlessName}.${ns}.svc.cluster.local`;
  const redisService = `${fullname}.${ns}.svc.cluster.local`;
  const me = `${hostname}.${headless}`;
  const passwordFile = env.REDIS_PASSWORD_FILE ? toHost(input.mounts, input.rootfs, env.REDIS_PASSWORD_FILE) : undefined;
  const password = passwordFile && existsSync(passwordFile) ? readFileSync(passwordFile, 'utf8').trim() : env.REDIS_PASSWORD || undefined;
  const redisPort = env.REDIS_PORT || '6379';
  const sentinelPort = env.REDIS_SENTINEL_PORT || '26379';
  const sentinelConf = lines(input, '/opt/bitnami/redis-sentinel/mounted-etc/sentinel.conf');
  const masterSet = sentinelConf.map((l) => l.split(/\s+/)).find((w) => w[0] === 'sentinel' && w[1] === 'monitor')?.[2] ?? 'mymaster';
  const target = join(input.runDir, script === 'node' ? 'redis.conf' : 'sentinel.conf');
  const log = (m: string): void => input.log(m);

  /** retry_while not_exists_dns_entry, then: anyone else on the headless Service? */
  const others = async (): Promise<string[]> => {
    for (let i = 0; ; i++) {
      const addrs = serviceAddresses(input.store, ns, headlessName);
      if (addrs.includes(input.podIP)) return addrs.filter((a) => a !== input.podIP);
      if (i % 10 === 0) log(`${headless} does not contain the IP of this pod: ${input.podIP}`);
      if (i > 120) throw new Error(`${headless} never listed ${input.podIP}`);
      await sleep(500);
    }
  };
  /** get_sentinel_master_info: redis-cli -a $REDIS_PASSWORD -h $REDIS_SERVICE -p $SENTINEL_SERVICE_PORT sentinel get-master-addr-by-name */
  const askSentinels = async (): Promise<[string, string] | undefined> => {
    const ip = input.resolve(redisService);
    if (!ip) return undefined;
    try {
      const r = (await redisCall({ ip, port: Number(sentinelPort), password }, ['SENTINEL', 'get-master-addr-by-name', masterSet])) as unknown;
      if (Array.isArray(r) && r.length === 2) return [String(r[0]), String(r[1])];
    } catch (e) {
      log(`sentinel get-master-addr-by-name ${masterSet}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return undefined;
  };

  const prepare = async (): Promise<void> => {
    rmSync(target, { force: true });
    const peers = await others();
    let master: [string, string] | undefined;
    if (peers.length > 0) {
      master = await askSentinels();
      // the script goes on with an empty REDIS_MASTER_HOST and the server refuses to start: the container exits and
      // the kubelet restarts it with back-off; no config file here has the same effect
      if (!master) {
        log('no answer from the sentinels: exiting');
        return;
      }
      log(`printing REDIS_SENTINEL_INFO=(${master[0]},${master[1]})`);
    }
    const b = new ConfigBuilderCtor(input);
    if (script === 'node') {
      b.add(['port', redisPort]);
      if (master) b.add(['slaveof', master[0], master[1]]);
      if (password) {
        b.add(['requirepass', password]);
        b.add(['masterauth', env.REDIS_MASTER_PASSWORD || password]);
      }
      if (master) {
        b.addFile('/opt/bitnami/redis/mounted-etc/replica.conf');
        b.add(['replica-announce-port', redisPort]);
        b.add(['replica-announce-ip', me]);
      } else b.addFile('/opt/bitnami/redis/mounted-etc/master.conf');
      b.addFile('/opt/bitnami/redis/mounted-etc/redis.conf');
      b.write(target, toHost(input.mounts, input.rootfs, '/data'));
      return;
    }
    // start-sentinel.sh: the mounted sentinel.conf with the monitor line replaced (sentinel_conf_set), auth, myid,
    // known sentinels and replicas for every node that resolves, then the hostname settings. The hostname settings
    // go first here: Sentinel resolves the monitor and known-* hosts while it reads them, and the chart's mounted
    // sentinel.conf (useHostnames, the default) has them at its top.
    b.add(['sentinel', 'resolve-hostnames', 'yes']);
    b.add(['sentinel', 'announce-hostnames', 'yes']);
    const [mHost, mPort] = master ?? [me, redisPort];
    let quorum = '2';
    for (const l of sentinelConf) {
      const w = l.split(/\s+/);
      if (w[0] === 'sentinel' && w[1] === 'monitor') {
        quorum = w[5] ?? quorum;
        continue;
      }
      if (w[0] === 'sentinel' && (w[1] === 'resolve-hostnames' || w[1] === 'announce-hostnames')) continue;
      b.add(w.map((x) => x.replace(/^"(.*)"$/, '$1')));
    }
    b.add(['sentinel', 'monitor', masterSet, mHost, mPort, quorum]);
    if (password) {
      b.add(['sentinel', 'auth-pass', masterSet, password]);
      b.add(['requirepass', password]);
    }
    const id = (h: string): string => createHash('sha1').update(`${h}\n`).digest('hex');
    b.add(['sentinel', 'myid', id(hostname)]);
    // the chart renders replica.replicaCount into the loop: the StatefulSet's replicas
    const base = hostname.replace(/-\d+$/, '');
    const replicas = Number((input.store.get('statefulsets.apps', ns, base)?.spec as { replicas?: number } | undefined)?.replicas ?? 0);
    for (let n = 0; n < replicas; n++) {
      const h = `${base}-${n}`;
      if (!input.resolve(`${h}.${headless}`)) continue;
      if (h !== hostname) b.add(['sentinel', 'known-sentinel', masterSet, `${h}.${headless}`, sentinelPort, id(h)]);
      if (`${h}.${headless}` !== mHost) b.add(['sentinel', 'known-replica', masterSet, `${h}.${headless}`, redisPort]);
    }
    b.add(['sentinel', 'announce-port', sentinelPort]);
    b.add(['sentinel', 'announce-ip', me]);
    if (!b.last('port')) b.add(['port', sentinelPort]);
    b.write(target, join(input.rootfs, 'tmp'));
  };
  return {
    argv: script === 'node' ? ['redis-server', target] : ['redis-sentinel', target],
    pingPort: Number(script === 'node' ? redisPort : sentinelPort),
    pingPassword: password,
    prepare,
  };
}
