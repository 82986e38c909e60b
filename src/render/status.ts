// How status reports read: the overview table, the single-target view (a header, one row per pod), and the
// findings with the command that fixes each. Pure text from reports; the command only prints it.
import type { Column, OutputSpec } from './output.js';
import type { Palette } from './color.js';
import { formatAge } from '../util/duration.js';
import { statusDocument, type PodReport, type TargetReport } from '../workflows/status/report.js';

export function bytes(n: number | undefined): string {
  if (n === undefined) return '-';
  if (n < 1024) return `${n}B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[i]}`;
}

export function operatorText(r: TargetReport): string {
  const name = r.system === 'bitnami' ? 'chart' : r.system;
  if (r.system === 'bitnami') return 'bitnami (no operator)';
  if (!r.operator.present) return `${name} (not found)`;
  return `${name}${r.operator.version ? ` ${r.operator.version}` : ''}${r.operator.running ? '' : ' (stopped)'}`;
}

export function topologyText(r: TargetReport): string {
  if (r.error) return r.topology;
  const parts = [`${r.masters}m`, `${r.replicas}r`];
  if (r.topology === 'sentinel' || r.sentinels > 0) parts.push(`${r.sentinels}s`);
  return `${r.topology} ${parts.join('/')}`;
}

export function pauseText(r: TargetReport, now: number): string {
  const p = r.pause;
  if (!p.paused) return 'no';
  const age = p.at ? ` ${formatAge(Date.parse(p.at), now)}` : '';
  const by = p.by ? ` by ${p.by}` : '';
  return `${p.expired ? 'EXPIRED' : 'yes'}${age}${by}`;
}

export function overviewSpec(allNamespaces: boolean, now: number): OutputSpec<TargetReport> {
  const columns: Array<Column<TargetReport>> = [
    ...(allNamespaces ? [{ header: 'NAMESPACE', value: (r: TargetReport) => r.namespace }] : []),
    { header: 'TARGET', value: (r) => r.ref },
    { header: 'OPERATOR', value: (r) => operatorText(r) },
    { header: 'TOPOLOGY', value: (r) => topologyText(r) },
    { header: 'READY', value: (r) => (r.error ? '-' : `${r.readyPods}/${r.pods}`) },
    { header: 'SLOTS', value: (r) => (r.slotsCovered === undefined ? '-' : `${r.slotsCovered}/16384`) },
    { header: 'LAG', value: (r) => bytes(r.maxLagBytes) },
    { header: 'PAUSED', value: (r) => pauseText(r, now) },
    { header: 'HEALTH', value: (r) => r.health },
    { header: 'FINDINGS', value: (r) => (r.error ? 1 : r.findings.length) },
    { header: 'NODES', value: (r) => r.nodes.join(','), wide: true },
    { header: 'PAUSE-REASON', value: (r) => r.pause.reason ?? '', wide: true },
  ];
  return { columns, toDocument: (rows) => statusDocument(rows), empty: undefined };
}

export function podSpec(): OutputSpec<PodReport> {
  return {
    columns: [
      { header: 'POD', value: (p) => p.pod },
      { header: 'IP', value: (p) => p.ip },
      { header: 'NODE', value: (p) => p.node },
      { header: 'ROLE', value: (p) => p.role },
      { header: 'SLOTS', value: (p) => p.slots ?? '-' },
      { header: 'MASTER', value: (p) => p.masterOf ?? '-' },
      { header: 'LAG', value: (p) => bytes(p.lagBytes) },
      { header: 'LINK', value: (p) => p.link ?? '-' },
      { header: 'MEMORY', value: (p) => bytes(p.usedMemoryBytes) },
      { header: 'KEYS', value: (p) => p.keys ?? '-', wide: true },
      { header: 'READY', value: (p) => (p.ready ? 'yes' : 'no') },
    ],
  };
}


/** The header of the single-target view, as `key: value` lines. */
export function targetHeader(r: TargetReport, now: number, c: Palette): string {
  const lines: Array<[string, string]> = [
    ['Target', `${r.ref} (${r.kind}, namespace ${r.namespace})`],
    ['Operator', `${operatorText(r)}${r.operator.deployment ? `, deployment ${r.operator.deployment}` : ''}`],
    ['Topology', topologyText(r)],
  ];
  if (r.slotsCovered !== undefined) lines.push(['Slots', `${r.slotsCovered}/16384 covered`]);
  lines.push(['Health', colorHealth(r.health, c)]);
  const p = r.pause;
  if (p.paused) {
    const parts = [`${p.expired ? c.red('paused, EXPIRED') : c.yellow('paused')} ${p.at ? formatAge(Date.parse(p.at), now) : ''}`.trim()];
    if (p.by) parts.push(`by ${p.by}`);
    if (p.reason) parts.push(`reason "${p.reason}"`);
    if (p.until) parts.push(`until ${p.until}`);
    lines.push(['Paused', `${parts.join(', ')} (${p.strategy}${p.key ? ` ${p.key}` : ''})`]);
  } else lines.push(['Paused', 'no']);
  const w = Math.max(...lines.map(([k]) => k.length)) + 2;
  return lines.map(([k, v]) => `${`${k}:`.padEnd(w)}${v}`).join('\n');
}

export function colorHealth(h: string, c: Palette): string {
  if (h === 'ok') return c.green(h);
  if (h === 'degraded') return c.yellow(h);
  return c.red(h);
}

/** Findings, one block each: severity, what, evidence, and the command that fixes it. */
export function findingsText(reports: TargetReport[], c: Palette, withRef: boolean): string {
  const out: string[] = [];
  for (const r of reports) {
    const prefix = withRef ? `${r.namespace}/${r.ref}: ` : '';
    if (r.error) {
      out.push(`${c.red('error')}    ${prefix}${r.error}`);
      continue;
    }
    for (const f of r.findings) {
      const sev = f.severity === 'critical' ? c.red('critical') : f.severity === 'warning' ? c.yellow('warning ') : c.dim('info    ');
      out.push(`${sev} ${prefix}${f.kind}: ${f.message}`);
      if (f.fix) out.push(`         ${c.dim('fix:')} ${f.fix}`);
    }
  }
  return out.join('\n');
}
