// The old => new view pause and resume print before they ask (as CloudNativePG's `maintenance set` does).
import type { OutputSpec } from '../../render/output.js';
import type { AnnotationChange } from '../../reconcile/pause.js';
import type { PauseContext } from './index.js';

export interface ChangeRow {
  object: string;
  key: string;
  old: string;
  new: string;
}

export function changeRows(c: PauseContext): ChangeRow[] {
  const rows = (c.plan?.changes ?? []).map((ch: AnnotationChange) => ({ object: c.target.ref, key: ch.key, old: ch.old ?? '<none>', new: ch.new ?? '<deleted>' }));
  const s = c.plan?.operatorScale;
  if (s) rows.push({ object: `deployment/${s.deployment}`, key: 'spec.replicas', old: String(s.from), new: String(s.to) });
  return rows;
}

export const changeSpec: OutputSpec<ChangeRow> = {
  columns: [
    { header: 'OBJECT', value: (r) => r.object },
    { header: 'KEY', value: (r) => r.key },
    { header: 'OLD', value: (r) => r.old },
    { header: '=>', value: () => '=>' },
    { header: 'NEW', value: (r) => r.new },
  ],
};
