// Label and field selectors, as the API server and controllers evaluate them.
import type { KObject } from './store.js';

export { matchesLabelSelector, matchesLabelString, parseLabelSelector } from '../../src/kube/selector.js';
export type { LabelSelector, LabelSelectorRequirement } from '../../src/kube/selector.js';

/** Read a dotted path (`spec.nodeName`, `metadata.name`, `status.phase`) of an object as a string. */
export function fieldValue(o: KObject, path: string): string {
  let v: unknown = o;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return '';
    v = (v as Record<string, unknown>)[part];
  }
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : String(v);
}

/** A field selector (`spec.nodeName=n1,status.phase!=Succeeded`); throws on a malformed one. */
export function matchesFieldSelector(selector: string | undefined, o: KObject): boolean {
  if (!selector) return true;
  for (const raw of selector.split(',')) {
    const p = raw.trim();
    if (!p) continue;
    const m = p.match(/^([\w.]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw new Error(`invalid field selector: "${p}"`);
    const v = fieldValue(o, m[1]);
    if (m[2] === '!=' ? v === m[3] : v !== m[3]) return false;
  }
  return true;
}
