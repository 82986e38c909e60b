// Renders a command's result as table | wide | json | yaml from one column spec per command. JSON and YAML are the
// stable, documented schema: keys sorted at every level so output diffs cleanly and scripts can rely on it.
import type { Cell } from './table.js';

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface Column<Row> {
  header: string;
  value(row: Row): Cell;
  /** Only with -o wide. */
  wide?: boolean;
}

export interface OutputSpec<Row> {
  columns: Array<Column<Row>>;
  /** The structured form of the rows for json/yaml; the rows themselves when absent. */
  toDocument?(rows: Row[]): unknown;
  /** Said on stderr (table/wide only) when there are no rows, as kubectl does: `No resources found in redis namespace.` */
  empty?: string;
}

/** Deep copy with object keys in sorted order; arrays keep their order; Dates become RFC 3339 strings. */
export function sortKeys(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function toJson(document: unknown): string {
  return `${JSON.stringify(sortKeys(document), null, 2)}\n`;
}

export async function toYaml(document: unknown): Promise<string> {
  // yaml is CommonJS for Node: its dynamic import may arrive wrapped in `default` (as it does in the esbuild bundle)
  const yaml = (await import('yaml')) as typeof import('yaml') & { default?: typeof import('yaml') };
  const stringify = yaml.stringify ?? yaml.default?.stringify;
  return stringify(sortKeys(document), { lineWidth: 0 });
}

/** The text to print on stdout for these rows in this format (ends with a newline unless empty). */
export async function renderOutput<Row>(format: OutputFormat, rows: Row[], spec: OutputSpec<Row>): Promise<string> {
  if (format === 'json') return toJson(spec.toDocument ? spec.toDocument(rows) : rows);
  if (format === 'yaml') return toYaml(spec.toDocument ? spec.toDocument(rows) : rows);
  if (rows.length === 0) return '';
  const { renderTable } = await import('./table.js');
  const columns = spec.columns.filter((c) => format === 'wide' || !c.wide);
  const text = renderTable(
    columns.map((c) => c.header),
    rows.map((row) => columns.map((c) => c.value(row))),
  );
  return `${text}\n`;
}
