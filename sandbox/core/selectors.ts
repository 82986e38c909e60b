// Label and field selectors, as the API server and controllers evaluate them.
import type { KObject } from './store.js';

// The sandbox keeps its own selector code (it shares none with the product it tests), written after
// k8s.io/apimachinery v0.32: pkg/apis/meta/v1/helpers.go (LabelSelectorAsSelector) and pkg/labels/selector.go
// (Requirement.Matches, and Parse's lexer: identifiers, `=`, `==`, `!=`, `!`, `in`, `notin`, `(`, `)`, `,`, `<`, `>`).

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** The string form's operators that metav1 has no name for: `<` and `>` compare integers (selector.go Gt/Lt). */
type Requirement = LabelSelectorRequirement | { key: string; operator: 'Gt' | 'Lt'; values: string[] };

function requirementMatches(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In': return has && values.includes(labels[r.key]);
    case 'NotIn': return !has || !values.includes(labels[r.key]);
    case 'Exists': return has;
    case 'DoesNotExist': return !has;
    case 'Gt':
    case 'Lt': {
      // selector.go: a label that is not an integer does not match.
      if (!has || !/^-?\d+$/.test(labels[r.key])) return false;
      const [have, want] = [Number(labels[r.key]), Number(values[0])];
      return r.operator === 'Gt' ? have > want : have < want;
    }
  }
}

/** A metav1.LabelSelector against labels: nil selects nothing, an empty one everything (LabelSelectorAsSelector). */
export function matchesLabelSelector(sel: LabelSelector | undefined | null, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  return Object.entries(sel.matchLabels ?? {}).every(([k, v]) => l[k] === v) && (sel.matchExpressions ?? []).every((r) => requirementMatches(r, l));
}

const TOKEN = /\s*(!=|==|=|!|\(|\)|,|<|>|[^\s!=(),<>]+)/y;

/** labels.Parse: the string form (`a=b,c!=d,e in (x,y),!f,g,n>3`) into requirements; throws on a malformed one. */
function parseRequirements(text: string): Requirement[] {
  const tokens: string[] = [];
  let at = 0;
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m; m = TOKEN.exec(text)) {
    tokens.push(m[1]);
    at = TOKEN.lastIndex;
  }
  if (text.slice(at).trim()) throw new Error(`unable to parse requirement: "${text}"`);
  const out: Requirement[] = [];
  let i = 0;
  const fail = (what: string): never => { throw new Error(`unable to parse requirement: found '${tokens[i] ?? 'end of string'}', expected: ${what}`); };
  const ident = (): string => (tokens[i] && !/^(!=|==|=|!|\(|\)|,|<|>)$/.test(tokens[i]) ? tokens[i++] : fail('identifier'));
  while (i < tokens.length) {
    if (tokens[i] === '!') {
      i++;
      out.push({ key: ident(), operator: 'DoesNotExist' });
    } else {
      const key = ident();
      const op = tokens[i];
      if (op === undefined || op === ',') out.push({ key, operator: 'Exists' });
      else if (op === '=' || op === '==' || op === '!=') {
        i++;
        const value = tokens[i] !== undefined && tokens[i] !== ',' ? ident() : '';
        out.push({ key, operator: op === '!=' ? 'NotIn' : 'In', values: [value] });
      } else if (op === '<' || op === '>') {
        i++;
        out.push({ key, operator: op === '>' ? 'Gt' : 'Lt', values: [ident()] });
      } else if (op === 'in' || op === 'notin') {
        i++;
        if (tokens[i++] !== '(') fail("'('");
        const values: string[] = [];
        while (tokens[i] !== ')') {
          if (tokens[i] === undefined) fail("')'");
          if (tokens[i] === ',') i++;
          else values.push(ident());
        }
        i++;
        out.push({ key, operator: op === 'in' ? 'In' : 'NotIn', values });
      } else fail("'=', '!=', '==', 'in', 'notin', '<' or '>'");
    }
    if (i < tokens.length && tokens[i] !== ',') fail("',' or 'end of string'");
    i++;
  }
  return out;
}

/** The string form against labels; an empty selector matches everything. Throws on a malformed one. */
export function matchesLabelString(selector: string | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector?.trim()) return true;
  const l = labels ?? {};
  return parseRequirements(selector).every((r) => requirementMatches(r, l));
}

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
