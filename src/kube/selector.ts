// Label selectors as the API server evaluates them (metav1.LabelSelector and the string form). The sandbox has its
// own (sandbox/core/selectors.ts): it shares no code with the product it tests.

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** A metav1.LabelSelector against labels. An empty selector matches everything (as for PDBs and Deployments). */
export function matchesLabelSelector(sel: LabelSelector | undefined | null, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const r of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.operator) {
      case 'In':
        if (!has || !(r.values ?? []).includes(l[r.key])) return false;
        break;
      case 'NotIn':
        if (has && (r.values ?? []).includes(l[r.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** Parse the string form (`a=b,c!=d,e in (x,y),!f,g`) into requirements; throws on a malformed selector. */
export function parseLabelSelector(s: string): LabelSelectorRequirement[] {
  const out: LabelSelectorRequirement[] = [];
  const text = s.trim();
  if (!text) return out;
  // Split on commas that are not inside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = p.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      out.push({ key: m[1], operator: m[2] === 'in' ? 'In' : 'NotIn', values: m[3].split(',').map((v) => v.trim()).filter(Boolean) });
    } else if ((m = p.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/))) {
      out.push({ key: m[1], operator: m[2] === '!=' ? 'NotIn' : 'In', values: [m[3]] });
    } else if ((m = p.match(/^!\s*([\w./-]+)$/))) {
      out.push({ key: m[1], operator: 'DoesNotExist' });
    } else if ((m = p.match(/^([\w./-]+)$/))) {
      out.push({ key: m[1], operator: 'Exists' });
    } else {
      throw new Error(`unable to parse requirement: "${p}"`);
    }
  }
  return out;
}

export function matchesLabelString(selector: string | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return matchesLabelSelector({ matchExpressions: parseLabelSelector(selector) }, labels);
}
