// What keeps secrets out of a report, in two layers. By meaning: Secret objects lose their values, password-ish
// CONFIG GET options, env vars and config-file lines lose theirs, ACL rules lose their passwords and hashes. By value,
// as defence in depth: every text that goes into the archive is scrubbed of the exact values read from the target's
// Secrets (and their base64 forms), whatever key or option ended up holding them. All pure.
import type { KubeObject } from '../../kube/types.js';

export const REDACTED = '(redacted)';

/**
 * Redis config options and env/field names that hold a credential: requirepass, masterauth, tls-key-file-pass,
 * tls-client-key-file-pass, sentinel's auth-pass, REDIS_PASSWORD, ..._TOKEN, api keys. Not masteruser (a name) nor
 * tls-key-file (a path).
 */
const SECRET_NAME = /pass(word|wd)?($|[-_.])|passphrase|^requirepass$|auth$|(^|[-_.])secret($|[-_.])|token($|[-_.]|s$)|api[-_.]?key|private[-_.]?key|credential/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** CONFIG GET * as an object, with the values of credential options replaced (an empty value stays empty: "no password" is a fact worth seeing). */
export function redactConfig(pairs: Record<string, string>): { config: Record<string, string>; redacted: string[] } {
  const config: Record<string, string> = {};
  const redacted: string[] = [];
  for (const [k, v] of Object.entries(pairs).sort(([a], [b]) => a.localeCompare(b))) {
    if (isSecretName(k) && v !== '') {
      config[k] = REDACTED;
      redacted.push(k);
    } else config[k] = v;
  }
  return { config, redacted };
}

/** The flat [k1, v1, k2, v2, ...] reply of CONFIG GET as an object. */
export function configPairs(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  } else if (reply && typeof reply === 'object') {
    for (const [k, v] of Object.entries(reply)) out[k] = String(v);
  }
  return out;
}

/**
 * An ACL rule list (ACL LIST line, or a `user` line of redis.conf / an ACL file) without its credentials:
 * `>password`, `<password`, `#<sha256>`, `!<sha256>` become `>(redacted)` and so on.
 */
export function redactAclRules(line: string): string {
  return line.replace(/(^|\s)([<>#!])(\S+)/g, (_m, sp: string, sigil: string) => `${sp}${sigil}${REDACTED}`);
}

/**
 * A redis.conf / sentinel.conf (from a ConfigMap, or anything shaped like one) without credentials: the value of
 * requirepass, masterauth, tls-*-pass and other credential options, `sentinel auth-pass <master> <pw>`, and the
 * password rules of `user` lines.
 */
export function redactConfigText(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const m = line.match(/^(\s*)(\S+)(\s+)(.*)$/);
      if (!m) return line;
      const [, indent, key, sp, rest] = m;
      if (key.startsWith('#')) return line;
      if (/^user$/i.test(key)) return `${indent}${key}${sp}${redactAclRules(rest)}`;
      if (/^sentinel$/i.test(key)) {
        const s = rest.match(/^(auth-pass|sentinel-pass)(\s+)(\S+)(\s+)\S.*$/i);
        if (s) return `${indent}${key}${sp}${s[1]}${s[2]}${s[3]}${s[4]}${REDACTED}`;
        const p = rest.match(/^(sentinel-pass|auth-pass)(\s+)\S.*$/i);
        if (p) return `${indent}${key}${sp}${p[1]}${p[2]}${REDACTED}`;
        return line;
      }
      if (isSecretName(key) && rest.trim() !== '' && rest.trim() !== '""') return `${indent}${key}${sp}${REDACTED}`;
      return line;
    })
    .join('\n');
}

/** Arguments that carry a password on a command line: `--requirepass X`, `--masterauth=X`, `-a X` (redis-cli). */
export function redactArgs(args: string[]): string[] {
  const out: string[] = [];
  let hideNext = false;
  for (const a of args) {
    if (hideNext) {
      out.push(REDACTED);
      hideNext = false;
      continue;
    }
    const eq = a.match(/^(--?[\w-]+)=(.*)$/);
    if (eq && isSecretName(eq[1].replace(/^-+/, ''))) {
      out.push(`${eq[1]}=${REDACTED}`);
      continue;
    }
    if (/^--?[\w-]+$/.test(a) && (isSecretName(a.replace(/^-+/, '')) || a === '-a')) hideNext = true;
    out.push(a);
  }
  return out;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface EnvVar {
  name?: string;
  value?: string;
}

function walk(v: Json, key: string | undefined): Json {
  if (Array.isArray(v)) {
    // env: [{name: REDIS_PASSWORD, value: x}]
    if (key === 'env') {
      return v.map((e) => {
        const env = e as EnvVar & Record<string, Json>;
        if (env && typeof env === 'object' && typeof env.name === 'string' && typeof env.value === 'string' && isSecretName(env.name) && env.value !== '') {
          return { ...(walk(e, undefined) as Record<string, Json>), value: REDACTED };
        }
        return walk(e, undefined);
      });
    }
    if ((key === 'command' || key === 'args') && v.every((x) => typeof x === 'string')) return redactArgs(v as string[]);
    return v.map((x) => walk(x, undefined));
  }
  if (v && typeof v === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = typeof x === 'string' && x !== '' && isSecretName(k) ? REDACTED : walk(x, k);
    }
    return out;
  }
  return v;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * An object as it goes into the archive: managedFields dropped (kubectl hides them too), a Secret's data and
 * stringData values replaced by their size (the keys stay: a missing key is a common fault), its last-applied
 * annotation (which holds the data) dropped, credential-named fields and env values redacted.
 */
export function redactObject(o: KubeObject): KubeObject {
  const copy = JSON.parse(JSON.stringify(o)) as KubeObject & { stringData?: Record<string, string> };
  if (copy.metadata) delete (copy.metadata as { managedFields?: unknown }).managedFields;
  if (copy.kind === 'Secret') {
    if (copy.metadata.annotations) delete copy.metadata.annotations[LAST_APPLIED];
    for (const field of ['data', 'stringData'] as const) {
      const d = copy[field];
      if (!d) continue;
      copy[field] = Object.fromEntries(Object.entries(d).map(([k, v]) => [k, `${REDACTED} ${field === 'data' ? Buffer.from(v, 'base64').length : Buffer.byteLength(v)} bytes`]));
    }
    return copy;
  }
  const redacted = walk(copy as unknown as Json, undefined) as unknown as KubeObject;
  if (redacted.kind === 'ConfigMap' && redacted.data) {
    redacted.data = Object.fromEntries(Object.entries(redacted.data).map(([k, v]) => [k, typeof v === 'string' ? redactConfigText(v) : v]));
  }
  return redacted;
}

/** Shorter values are not scrubbed: "yes", "1" or "app" would shred the report and are no credential. */
export const MIN_SCRUB_LENGTH = 4;

/**
 * Every form of the secret values that could show up in text: the value, its base64, and for multi-line values
 * (PEM keys and certificates) each long line on its own; longest first so a longer match wins.
 */
export function scrubList(values: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const v of values) {
    const t = v.trim();
    if (t.length < MIN_SCRUB_LENGTH) continue;
    out.add(t);
    if (v !== t && v.length >= MIN_SCRUB_LENGTH) out.add(v);
    out.add(Buffer.from(v, 'utf8').toString('base64'));
    if (t.includes('\n')) {
      for (const line of t.split('\n').map((l) => l.trim())) if (line.length >= 16 && !/^-----/.test(line)) out.add(line);
    }
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of every value replaced; returns how many were replaced. */
export function scrub(text: string, list: readonly string[]): { text: string; replaced: number } {
  let replaced = 0;
  let out = text;
  for (const v of list) {
    if (!out.includes(v)) continue;
    const parts = out.split(v);
    replaced += parts.length - 1;
    out = parts.join(REDACTED);
  }
  return { text: out, replaced };
}
