// The Redis version a node runs, from INFO server, and what follows from it. Pure.
// kubectl-redis speaks the commands Redis 6.2 and 7.x both have; a command only 7.0 added (CLUSTER ADDSLOTSRANGE and
// DELSLOTSRANGE: redis/redis src/commands/cluster-addslotsrange.json, "since": "7.0.0") is sent only to a node whose
// INFO says 7 or later. Below 6.2 (no CLIENT PAUSE WRITE, no REPLICAOF's 6.2 semantics, no SENTINEL CONFIG) the
// tool refuses with one sentence rather than half work.
import { infoFields, type InfoSections } from './info.js';

export type RedisVersion = readonly [major: number, minor: number, patch: number];

export const MIN_VERSION: RedisVersion = [6, 2, 0];

/** "7.0.15" -> [7, 0, 15]; undefined when the text is not a version. */
export function parseVersion(text: string | undefined): RedisVersion | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text?.trim() ?? '');
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/** INFO server (or all of INFO) -> the version in its redis_version field. */
export function versionFromInfo(info: string | InfoSections): RedisVersion | undefined {
  return parseVersion(infoFields(info).redis_version);
}

export function atLeast(v: RedisVersion, min: RedisVersion): boolean {
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i] > min[i];
  return true;
}

export function versionText(v: RedisVersion): string {
  return v.join('.');
}

/** The sentence a node below MIN_VERSION gets, or undefined when it is new enough (or its version is unknown). */
export function unsupportedVersion(v: RedisVersion | undefined, where: string): string | undefined {
  if (!v || atLeast(v, MIN_VERSION)) return undefined;
  return `${where} runs Redis ${versionText(v)}; kubectl-redis needs Redis ${versionText(MIN_VERSION)} or later: upgrade it, or use redis-cli for this one`;
}

/**
 * The arguments of the command that adds (or deletes) these slot ranges on a node of version `v`: the range form on
 * 7.0 and later, each slot listed on anything older or unknown (ADDSLOTS and DELSLOTS exist in every version).
 */
export function slotsCommand(op: 'ADD' | 'DEL', ranges: ReadonlyArray<readonly [number, number]>, v: RedisVersion | undefined): string[] {
  if (v && atLeast(v, [7, 0, 0])) return [`${op}SLOTSRANGE`, ...ranges.flat().map(String)];
  const slots: string[] = [];
  for (const [from, to] of ranges) for (let s = from; s <= to; s++) slots.push(String(s));
  return [`${op}SLOTS`, ...slots];
}
