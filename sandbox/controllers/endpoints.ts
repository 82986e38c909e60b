// The endpoints controller (pkg/controller/endpoint): an Endpoints object per Service with a selector, with the
// pods' IPs as ready / not-ready addresses (all ready with publishNotReadyAddresses), named target ports resolved.
import type { ClusterContext } from '../core/context.js';
import type { KObject } from '../core/store.js';
import { createIfMissing, deleteQuietly, isPodReady, isTerminating, mutate, obj, stableJson, type Obj } from './util.js';
import { matchesLabelSelector } from '../core/selectors.js';

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

function resolvePort(pod: KObject, sp: ServicePort): number | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  for (const c of (obj(pod.spec).containers ?? []) as Array<{ ports?: Array<{ name?: string; containerPort: number; protocol?: string }> }>) {
    for (const p of c.ports ?? []) if (p.name === tp && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP')) return p.containerPort;
  }
  return undefined;
}

export class EndpointsController {
  constructor(private readonly ctx: ClusterContext) {}

  pass(): void {
    const store = this.ctx.store;
    const pods = store.list('pods').items;
    const services = store.list('services').items;
    const wanted = new Set<string>();
    for (const svc of services) {
      const spec = obj(svc.spec);
      const selector = spec.selector as Record<string, string> | undefined;
      if (!selector || Object.keys(selector).length === 0 || isTerminating(svc)) continue;
      const ns = svc.metadata.namespace;
      wanted.add(`${ns}/${svc.metadata.name}`);
      const publishNotReady = spec.publishNotReadyAddresses === true;
      const ports = (spec.ports ?? []) as ServicePort[];
      // one subset per distinct resolved port list (EndpointSubset repacking, simplified)
      const subsets = new Map<string, { addresses: Obj[]; notReadyAddresses: Obj[]; ports: Obj[] }>();
      const members = pods
        .filter((p) => p.metadata.namespace === ns && matchesLabelSelector({ matchLabels: selector }, p.metadata.labels))
        .filter((p) => typeof obj(p.status).podIP === 'string' && obj(p.status).podIP !== '')
        .filter((p) => !isTerminating(p) || publishNotReady)
        .filter((p) => obj(p.status).phase !== 'Failed' && obj(p.status).phase !== 'Succeeded');
      for (const p of members) {
        const resolved: Obj[] = [];
        for (const sp of ports) {
          const port = resolvePort(p, sp);
          if (port === undefined) continue;
          resolved.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? 'TCP', ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
        }
        const key = stableJson(resolved);
        const subset = subsets.get(key) ?? { addresses: [], notReadyAddresses: [], ports: resolved };
        subsets.set(key, subset);
        const pspec = obj(p.spec);
        const address: Obj = {
          ip: obj(p.status).podIP,
          ...(pspec.hostname && pspec.subdomain === svc.metadata.name ? { hostname: pspec.hostname } : {}),
          ...(pspec.nodeName ? { nodeName: pspec.nodeName } : {}),
          targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
        };
        if (publishNotReady || isPodReady(p)) subset.addresses.push(address);
        else subset.notReadyAddresses.push(address);
      }
      const list = [...subsets.values()]
        .map((s) => {
          const byIp = (a: Obj, z: Obj): number => String(a.ip).localeCompare(String(z.ip));
          const out: Obj = {};
          if (s.addresses.length) out.addresses = s.addresses.sort(byIp);
          if (s.notReadyAddresses.length) out.notReadyAddresses = s.notReadyAddresses.sort(byIp);
          if (s.ports.length) out.ports = s.ports;
          return out;
        })
        .filter((s) => s.addresses || s.notReadyAddresses);
      const cur = store.get('endpoints', ns, svc.metadata.name);
      const labels = { ...(svc.metadata.labels ?? {}), ...(spec.clusterIP === 'None' ? { 'service.kubernetes.io/headless': '' } : {}) };
      if (!cur) {
        createIfMissing(store, 'endpoints', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: svc.metadata.name, namespace: ns, labels }, ...(list.length ? { subsets: list } : {}) });
        continue;
      }
      mutate(store, 'endpoints', ns, svc.metadata.name, (o) => {
        const same = stableJson(o.subsets ?? []) === stableJson(list) && stableJson(o.metadata.labels ?? {}) === stableJson(labels);
        if (same) return false;
        if (list.length) o.subsets = list;
        else delete o.subsets;
        o.metadata.labels = labels;
      });
    }
    // Endpoints of Services that are gone (or lost their selector) and that this controller made.
    for (const ep of store.list('endpoints').items) {
      const key = `${ep.metadata.namespace}/${ep.metadata.name}`;
      if (wanted.has(key)) continue;
      const svc = services.find((s) => `${s.metadata.namespace}/${s.metadata.name}` === key);
      if (!svc) {
        if (ep.metadata.name === 'kubernetes' && ep.metadata.namespace === 'default') continue;
        if (ep.metadata.annotations?.['sandbox.local/managed'] === 'false') continue;
        deleteQuietly(store, 'endpoints', ep.metadata.namespace, ep.metadata.name);
      }
    }
  }
}
