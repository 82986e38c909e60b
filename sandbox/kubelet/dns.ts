// Cluster DNS without a DNS server: names are resolved through the store, as CoreDNS would answer them from
// Services, Endpoints and pods (headless records only for published addresses). A ClusterIP Service resolves to one
// of its ready endpoints, since nothing routes the virtual IP on this machine.
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KObject, Store } from '../core/store.js';

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

interface Address {
  ip: string;
  hostname?: string;
}

function endpointAddresses(ep: KObject | undefined, includeNotReady: boolean): Address[] {
  const out: Address[] = [];
  for (const s of (ep?.subsets ?? []) as Obj[]) {
    for (const a of (s.addresses ?? []) as Address[]) out.push(a);
    if (includeNotReady) for (const a of (s.notReadyAddresses ?? []) as Address[]) out.push(a);
  }
  return out;
}

/** Every name -> IP record of the cluster (the hosts file the exec shim reads). */
export function clusterRecords(store: Store): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const svc of store.list('services').items) {
    const ns = svc.metadata.namespace ?? 'default';
    const ep = store.get('endpoints', ns, svc.metadata.name);
    const addrs = endpointAddresses(ep, o(svc.spec).publishNotReadyAddresses === true);
    const fq = `${svc.metadata.name}.${ns}.svc.cluster.local`;
    if (addrs[0]) out.push([fq, addrs[0].ip]);
    for (const a of addrs) if (a.hostname) out.push([`${a.hostname}.${fq}`, a.ip]);
  }
  for (const p of store.list('pods').items) {
    const ip = o(p.status).podIP;
    if (typeof ip === 'string' && ip) out.push([`${ip.replace(/\./g, '-')}.${p.metadata.namespace}.pod.cluster.local`, ip]);
  }
  return out;
}

/** Resolve a name as seen from a pod in `namespace` (search path <ns>.svc.cluster.local, svc.cluster.local, cluster.local). */
export function resolveName(store: Store, namespace: string | undefined, name: string): string | undefined {
  const n = name.replace(/\.$/, '').toLowerCase();
  if (/^\d+\.\d+\.\d+\.\d+$/.test(n)) return n;
  const parts = n.replace(/\.svc\.cluster\.local$|\.svc$|\.cluster\.local$/, '').split('.');
  const podRecord = n.match(/^(\d+-\d+-\d+-\d+)\.[^.]+\.pod(\.cluster\.local)?$/);
  if (podRecord) return podRecord[1].replace(/-/g, '.');
  const lookupSvc = (svcName: string, ns: string): string | undefined => {
    const svc = store.get('services', ns, svcName);
    if (!svc) return undefined;
    const addrs = endpointAddresses(store.get('endpoints', ns, svcName), o(svc.spec).publishNotReadyAddresses === true);
    return addrs[0]?.ip;
  };
  const lookupHost = (host: string, svcName: string, ns: string): string | undefined => {
    const svc = store.get('services', ns, svcName);
    if (!svc) return undefined;
    const addrs = endpointAddresses(store.get('endpoints', ns, svcName), o(svc.spec).publishNotReadyAddresses === true);
    const hit = addrs.find((a) => a.hostname === host);
    if (hit) return hit.ip;
    // before the endpoints controller caught up: the pod itself, if published
    const pod = store.get('pods', ns, host);
    const ip = o(pod?.status).podIP;
    const ready = ((o(pod?.status).conditions ?? []) as Array<{ type: string; status: string }>).some((c) => c.type === 'Ready' && c.status === 'True');
    if (pod && o(pod.spec).subdomain === svcName && typeof ip === 'string' && ip && (ready || o(svc.spec).publishNotReadyAddresses === true)) return ip;
    return undefined;
  };
  const ns = namespace ?? 'default';
  if (parts.length === 1) return lookupSvc(parts[0], ns);
  if (parts.length === 2) return lookupSvc(parts[0], parts[1]) ?? lookupHost(parts[0], parts[1], ns);
  if (parts.length === 3) return lookupHost(parts[0], parts[1], parts[2]);
  return undefined;
}

export function writeHostsFile(file: string, records: Array<[string, string]>): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, records.map(([n, ip]) => `${ip} ${n}`).join('\n') + '\n');
  renameSync(tmp, file);
}

/** The names a pod in `namespace` reaches without a domain (resolv.conf search `<ns>.svc.cluster.local svc.cluster.local
 * cluster.local`, ndots 5): a hosts file has no search path, so the short forms are records of their own. */
function searchForms(name: string, namespace: string): string[] {
  const out = [name];
  const nsSuffix = `.${namespace}.svc.cluster.local`;
  if (name.endsWith(nsSuffix)) out.push(name.slice(0, -nsSuffix.length), `${name.slice(0, -'.svc.cluster.local'.length)}`, `${name.slice(0, -'.cluster.local'.length)}`);
  else if (name.endsWith('.svc.cluster.local')) out.push(name.slice(0, -'.svc.cluster.local'.length), name.slice(0, -'.cluster.local'.length));
  return out;
}

export interface PodIdentity {
  namespace: string;
  name: string;
  ip: string;
  hostname: string;
  subdomain?: string;
}

/**
 * The /etc/hosts a pod's processes see. Its head is what the kubelet writes into every pod (kubernetes/kubernetes
 * pkg/kubelet/kubelet_pods.go managedHostsFileContent / hostsEntriesFromHostAliases, v1.32: localhost, the
 * ip6 lines, then `<podIP> <hostname>.<subdomain>.<ns>.svc.<domain> <hostname>`); the cluster records after it stand
 * in for CoreDNS, with the pod's search path spelled out.
 */
export function podHostsText(records: Array<[string, string]>, pod: PodIdentity): string {
  const own = pod.subdomain ? `${pod.ip}\t${pod.hostname}.${pod.subdomain}.${pod.namespace}.svc.cluster.local\t${pod.hostname}` : `${pod.ip}\t${pod.hostname}`;
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    ...(pod.ip ? [own] : []),
    '# cluster DNS (sandbox): Services, headless endpoints, pod records',
  ];
  const ownNames = new Set(pod.subdomain ? [`${pod.hostname}.${pod.subdomain}.${pod.namespace}.svc.cluster.local`] : []);
  for (const [n, ip] of records) {
    if (ownNames.has(n)) continue;
    lines.push(`${ip}\t${searchForms(n, pod.namespace).join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Rewrite a file that is bind-mounted elsewhere without replacing its inode (a rename would leave the mount on the
 * old file): one write at offset 0, never shorter than before (the tail padded as a comment), so a reader sees the
 * old or the new records, never an empty file.
 */
export function writeInPlace(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  let fd: number;
  try {
    fd = openSync(file, 'r+');
  } catch {
    fd = openSync(file, 'w', 0o644);
  }
  try {
    const old = fstatSync(fd).size;
    let buf = Buffer.from(text);
    if (buf.length < old) buf = Buffer.concat([buf, Buffer.from(`#${' '.repeat(Math.max(0, old - buf.length - 2))}\n`)]);
    writeSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
}

let dnsProbe: boolean | undefined;

/** Whether pods can get their own /etc/hosts: a private mount namespace (`unshare -m`) with a bind mount, which needs
 * root (CAP_SYS_ADMIN). Tried once per process. */
export function podDnsAvailable(dir: string): boolean {
  if (dnsProbe !== undefined) return dnsProbe;
  const probe = join(dir, 'hosts-probe');
  try {
    writeFileSync(probe, '127.0.0.9 kubectl-redis-sandbox-probe\n');
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', '--', ...bindHostsArgv(probe), 'getent', 'hosts', 'kubectl-redis-sandbox-probe'], { encoding: 'utf8', timeout: 5000 });
    dnsProbe = r.status === 0 && r.stdout.includes('127.0.0.9');
  } catch {
    dnsProbe = false;
  } finally {
    rmSync(probe, { force: true });
  }
  return dnsProbe;
}

/** The words that bind-mount `hostsFile` over /etc/hosts and exec the rest (run inside `unshare -m`). */
export function bindHostsArgv(hostsFile: string): string[] {
  return ['/bin/sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hostsFile];
}

/** argv run in a new mount namespace where /etc/hosts is `hostsFile` (same pid: unshare and sh exec). */
export function inPodNamespace(hostsFile: string, argv: string[]): string[] {
  return ['unshare', '-m', '--propagation', 'private', '--', ...bindHostsArgv(hostsFile), ...argv];
}

/** `getent ahosts <service>.<ns>.svc.cluster.local` for a headless Service: every published address. */
export function serviceAddresses(store: Store, namespace: string, service: string): string[] {
  const svc = store.get('services', namespace, service);
  if (!svc) return [];
  return endpointAddresses(store.get('endpoints', namespace, service), o(svc.spec).publishNotReadyAddresses === true).map((a) => a.ip);
}
