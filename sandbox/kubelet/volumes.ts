// Pod volumes as host directories, and the translation of container paths to host paths. A PVC mounts its bound
// PV's hostPath directory (the shared storage), emptyDir a directory of the pod, configMap / secret / downwardAPI /
// projected are files written from the objects, hostPath a directory of the node.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { KObject, Store } from '../core/store.js';
import type { ContainerSpec } from './env.js';

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

export interface Mount {
  /** Container path. */
  path: string;
  /** Host path. */
  host: string;
  readOnly: boolean;
  kind: string;
}

export class VolumeNotReady extends Error {}

interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

function decodeData(x: KObject, kind: 'secret' | 'configMap'): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  if (kind === 'secret') for (const [k, v] of Object.entries(o(x.data))) out[k] = Buffer.from(String(v), 'base64');
  else {
    for (const [k, v] of Object.entries(o(x.data))) out[k] = Buffer.from(String(v));
    for (const [k, v] of Object.entries(o(x.binaryData))) out[k] = Buffer.from(String(v), 'base64');
  }
  return out;
}

function writeKeys(dir: string, data: Record<string, Buffer>, items: KeyToPath[] | undefined, mode: number): void {
  const list: KeyToPath[] = items && items.length ? items : Object.keys(data).map((k) => ({ key: k, path: k }));
  for (const it of list) {
    const v = data[it.key];
    if (v === undefined) continue;
    const file = join(dir, normalize(it.path).replace(/^(\.\.(\/|$))+/, ''));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, v);
    chmodSync(file, it.mode ?? mode);
  }
}

function downward(pod: KObject, items: Array<{ path: string; fieldRef?: { fieldPath: string } }>, dir: string): void {
  for (const it of items) {
    const f = it.fieldRef?.fieldPath ?? '';
    let v = '';
    if (f === 'metadata.name') v = pod.metadata.name;
    else if (f === 'metadata.namespace') v = pod.metadata.namespace ?? '';
    else if (f === 'metadata.uid') v = pod.metadata.uid ?? '';
    else if (f === 'metadata.labels' || f === 'metadata.annotations') {
      const m = (f === 'metadata.labels' ? pod.metadata.labels : pod.metadata.annotations) ?? {};
      v = Object.keys(m)
        .sort()
        .map((k) => `${k}=${JSON.stringify(m[k])}`)
        .join('\n');
    } else {
      const m = f.match(/^metadata\.(labels|annotations)\['(.+)'\]$/);
      if (m) v = (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]] ?? '';
    }
    const file = join(dir, it.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, v);
  }
}

/**
 * Prepare every volume of the pod; returns host dirs by volume name. Throws VolumeNotReady while a PVC is not bound
 * (the caller retries), Error for a missing configMap/secret that is not optional.
 */
export function prepareVolumes(store: Store, pod: KObject, podDir: string, nodeRoot: string): Map<string, { host: string; kind: string }> {
  const ns = pod.metadata.namespace;
  const out = new Map<string, { host: string; kind: string }>();
  for (const v of (o(pod.spec).volumes ?? []) as Obj[]) {
    const name = String(v.name);
    const local = join(podDir, 'volumes', name);
    if (v.persistentVolumeClaim) {
      const claim = String(o(v.persistentVolumeClaim).claimName);
      const pvc = store.get('persistentvolumeclaims', ns, claim);
      if (!pvc) throw new VolumeNotReady(`persistentvolumeclaim "${claim}" not found`);
      const volumeName = o(pvc.spec).volumeName;
      if (o(pvc.status).phase !== 'Bound' || typeof volumeName !== 'string') throw new VolumeNotReady(`pod has unbound immediate PersistentVolumeClaims (claim ${claim})`);
      const pv = store.get('persistentvolumes', undefined, volumeName);
      const hp = o(o(pv?.spec).hostPath).path;
      if (typeof hp !== 'string') throw new VolumeNotReady(`volume ${volumeName} has no hostPath`);
      mkdirSync(hp, { recursive: true });
      out.set(name, { host: hp, kind: 'persistentVolumeClaim' });
    } else if (v.configMap || v.secret) {
      const isSecret = !!v.secret;
      const src = o(isSecret ? v.secret : v.configMap);
      const objName = String(isSecret ? src.secretName : src.name);
      const x = store.get(isSecret ? 'secrets' : 'configmaps', ns, objName);
      if (!x && !src.optional) throw new VolumeNotReady(`${isSecret ? 'secret' : 'configmap'} "${objName}" not found`);
      mkdirSync(local, { recursive: true });
      if (x) writeKeys(local, decodeData(x, isSecret ? 'secret' : 'configMap'), src.items as KeyToPath[] | undefined, Number(src.defaultMode ?? 0o644));
      out.set(name, { host: local, kind: isSecret ? 'secret' : 'configMap' });
    } else if (v.projected) {
      mkdirSync(local, { recursive: true });
      for (const s of (o(v.projected).sources ?? []) as Obj[]) {
        if (s.configMap || s.secret) {
          const isSecret = !!s.secret;
          const src = o(isSecret ? s.secret : s.configMap);
          const x = store.get(isSecret ? 'secrets' : 'configmaps', ns, String(src.name));
          if (x) writeKeys(local, decodeData(x, isSecret ? 'secret' : 'configMap'), src.items as KeyToPath[] | undefined, Number(o(v.projected).defaultMode ?? 0o644));
        } else if (s.downwardAPI) downward(pod, (o(s.downwardAPI).items ?? []) as Array<{ path: string; fieldRef?: { fieldPath: string } }>, local);
        else if (s.serviceAccountToken) writeFileSync(join(local, String(o(s.serviceAccountToken).path ?? 'token')), 'sandbox-token');
      }
      out.set(name, { host: local, kind: 'projected' });
    } else if (v.downwardAPI) {
      mkdirSync(local, { recursive: true });
      downward(pod, (o(v.downwardAPI).items ?? []) as Array<{ path: string; fieldRef?: { fieldPath: string } }>, local);
      out.set(name, { host: local, kind: 'downwardAPI' });
    } else if (v.hostPath) {
      const p = join(nodeRoot, normalize(String(o(v.hostPath).path ?? '/')));
      mkdirSync(p, { recursive: true });
      out.set(name, { host: p, kind: 'hostPath' });
    } else {
      mkdirSync(local, { recursive: true });
      out.set(name, { host: local, kind: 'emptyDir' });
    }
  }
  return out;
}

export function mountsOf(c: ContainerSpec, volumes: Map<string, { host: string; kind: string }>): Mount[] {
  const out: Mount[] = [];
  for (const m of c.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (!v) continue;
    const host = m.subPath ? join(v.host, normalize(m.subPath).replace(/^(\.\.(\/|$))+/, '')) : v.host;
    if (m.subPath && v.kind !== 'configMap' && v.kind !== 'secret') mkdirSync(host, { recursive: true });
    out.push({ path: m.mountPath.replace(/\/+$/, '') || '/', host, readOnly: !!m.readOnly || v.kind === 'configMap' || v.kind === 'secret', kind: v.kind });
  }
  // longest container path first, so /data/conf wins over /data
  return out.sort((a, z) => z.path.length - a.path.length);
}

/** Translate a container path to the host: through the mount that holds it, else under the pod's root dir. */
export function toHost(mounts: Mount[], rootfs: string, p: string, fallbackToRootfs = true): string {
  if (!p.startsWith('/')) return p;
  for (const m of mounts) {
    if (p === m.path) return m.host;
    if (p.startsWith(m.path === '/' ? '/' : `${m.path}/`)) return join(m.host, p.slice(m.path.length));
  }
  return fallbackToRootfs ? join(rootfs, p) : p;
}

/** Rewrite mount-held container paths found inside a command-line word (e.g. `--config=/etc/x.conf`, `cat /data/f`). */
export function translateWord(mounts: Mount[], word: string): string {
  const list = mounts.filter((m) => m.path !== '/');
  if (list.length === 0) return word;
  const alt = list.map((m) => m.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const re = new RegExp(`(^|[\\s=:'"(;])(${alt})(?=$|[/\\s'";)])`, 'g');
  return word.replace(re, (_all, pre: string, path: string) => `${pre}${list.find((m) => m.path === path)?.host ?? path}`);
}
