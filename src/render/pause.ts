// The old => new view pause and resume print before they ask (as CloudNativePG's `maintenance set` does).
import type { OutputSpec } from './output.js';
import type { AnnotationChange } from '../reconcile/pause.js';
import type { PauseContext } from '../workflows/pause/index.js';

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

/** What pause and resume need from the command that runs them. */
export interface ChangeIo {
  note(text: string): void;
  out(text: string): void;
  confirm(question: string): Promise<boolean>;
  dryRun: boolean;
}

/**
 * Show the old => new table, then stop (--dry-run prints the patch), ask, or apply. True when applied.
 * pause and resume differ only in the heading, the question and what apply records.
 */
export async function showAndConfirm(c: PauseContext, heading: string, question: string, io: ChangeIo): Promise<boolean> {
  const { renderOutput, toJson } = await import('./output.js');
  const { patchOf } = await import('../workflows/pause/index.js');
  io.note(heading);
  io.note((await renderOutput('table', changeRows(c), changeSpec)).trimEnd());
  if (io.dryRun) {
    io.out(toJson(patchOf(c)).trimEnd());
    io.note('dry run: nothing was changed');
    return false;
  }
  if (!(await io.confirm(question))) {
    io.note('nothing was changed');
    return false;
  }
  return true;
}
