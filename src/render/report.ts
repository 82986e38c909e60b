// What `report` prints when the archive is written: where it is and how big, what it holds, and every part it
// could not collect with the reason (and the permission that was missing). The manifest itself with -o json|yaml.
import type { ReportResult } from '../workflows/report/index.js';
import { bytes } from './status.js';
import type { Palette } from './color.js';

export function reportDocument(r: ReportResult): unknown {
  return { path: r.path, bytes: r.bytes, manifest: r.manifest };
}

export function reportText(r: ReportResult, c: Palette): string {
  const m = r.manifest;
  const s = m.summary;
  const scope = m.targets.length > 0 ? m.targets.map((t) => `${t.namespace}/${t.ref}`).join(', ') : `${m.operators.length} operator${m.operators.length === 1 ? '' : 's'}`;
  const lines = [
    `${r.path} (${bytes(r.bytes)}): report on ${scope}`,
    `  ${s.collected} part${s.collected === 1 ? '' : 's'} collected, ${s.failed ? c.red(`${s.failed} failed`) : '0 failed'}, ${s.skipped} skipped; ${m.redaction.secretsRead.length} Secret${m.redaction.secretsRead.length === 1 ? '' : 's'} read, their values kept out`,
  ];
  const failed = m.parts.filter((p) => p.status === 'failed');
  if (failed.length > 0) {
    lines.push('', 'Not collected:');
    // parts that failed for one reason (a frozen pod's eight commands, logs without pods/log) on one line
    const groups = new Map<string, { whats: string[]; reason: string; missing?: string }>();
    for (const p of failed) {
      const key = `${p.reason ?? ''}\u0000${p.missingPermission ?? ''}`;
      const g = groups.get(key) ?? { whats: [], reason: p.reason ?? 'failed', missing: p.missingPermission };
      g.whats.push(p.what);
      groups.set(key, g);
    }
    for (const g of groups.values()) {
      const whats = g.whats.length > 3 ? `${g.whats.slice(0, 2).join(', ')} and ${g.whats.length - 2} more like them` : g.whats.join(', ');
      lines.push(`  ${whats}: ${g.missing ? c.yellow(g.reason) : g.reason}`);
    }
    lines.push('  (every part, and why, is in manifest.json)');
  }
  const missing = [...new Set(failed.map((p) => p.missingPermission).filter((x): x is string => Boolean(x)))];
  if (missing.length > 0) lines.push('', `To collect them, ask for: ${missing.join('; ')} (see deploy/rbac/report.yaml).`);
  return `${lines.join('\n')}\n`;
}
