// A JournalBackend on a ConfigMap: the journal document as JSON in one key, the ConfigMap's resourceVersion as the
// optimistic-concurrency token (a stale write is a 409, which becomes JournalConflict).
import type { KubeError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import { deleteObject } from '../kube/delete.js';
import { RES } from '../kube/resources.js';
import { JournalConflict, type JournalBackend, type JournalDoc } from './journal.js';

export const JOURNAL_KEY = 'journal.json';
export const JOURNAL_LABELS = { 'app.kubernetes.io/managed-by': 'kubectl-redis', 'redis.kubectl.io/journal': 'true' };

interface ConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

export class ConfigMapJournalBackend implements JournalBackend {
  private readonly base: string;

  constructor(
    private readonly kube: KubeClient,
    private readonly namespace: string,
  ) {
    this.base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
  }

  private call(verb: string, name?: string) {
    return { verb, resource: 'configmaps', namespace: this.namespace, name };
  }

  async load(name: string): Promise<{ doc: JournalDoc; version: string } | undefined> {
    let cm: ConfigMap;
    try {
      cm = await this.kube.request<ConfigMap>({ method: 'GET', path: `${this.base}/${encodeURIComponent(name)}`, call: this.call('get', name) });
    } catch (e) {
      if ((e as KubeError).statusCode === 404) return undefined;
      throw e;
    }
    const raw = cm.data?.[JOURNAL_KEY];
    if (!raw) return undefined;
    try {
      return { doc: JSON.parse(raw) as JournalDoc, version: cm.metadata.resourceVersion ?? '' };
    } catch {
      return undefined;
    }
  }

  async save(name: string, doc: JournalDoc, version: string | undefined): Promise<string> {
    const body: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name, namespace: this.namespace, labels: JOURNAL_LABELS,
        annotations: { 'redis.kubectl.io/operation': `${doc.operation} ${doc.id}`, 'redis.kubectl.io/state': doc.state },
        ...(version ? { resourceVersion: version } : {}),
      },
      data: { [JOURNAL_KEY]: JSON.stringify(doc, null, 1) },
    };
    try {
      const saved = version
        ? // guarded by the resourceVersion it was read at: safe to send again after a transient failure
          await this.kube.request<ConfigMap>({ method: 'PUT', path: `${this.base}/${encodeURIComponent(name)}`, body, call: this.call('update', name), idempotent: true })
        : await this.kube.request<ConfigMap>({ method: 'POST', path: this.base, body, call: this.call('create', name) });
      return saved.metadata.resourceVersion ?? '';
    } catch (e) {
      const code = (e as KubeError).statusCode;
      if (code === 409) throw new JournalConflict(`the journal ${this.namespace}/${name} was changed by someone else meanwhile`);
      throw e;
    }
  }

  async remove(name: string): Promise<void> {
    await deleteObject(this.kube, RES.configmaps, this.namespace, name);
  }
}
