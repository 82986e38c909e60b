// Cluster DNS without a DNS server: names are resolved through the store, as CoreDNS would answer them from
// Services, Endpoints and pods (headless records only for published addresses). A ClusterIP Service resolves to one
// of its ready endpoints, since nothing routes the virtual IP on this machine.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
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
