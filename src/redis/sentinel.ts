// SENTINEL replies -> SentinelRecord. Pure. Sentinel answers MASTERS / REPLICAS / SENTINELS with a list of flat
// [field, value, field, value, ...] arrays, and MASTER <name> with one such array.
import type { SentinelRecord } from './types.js';

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return '';
}

/** One flat field/value array (or a RESP3 map ioredis turned into an object) -> record. */
export function parseSentinelRecord(reply: unknown): SentinelRecord {
  const record: SentinelRecord = {};
  if (Array.isArray(reply)) {
    if (reply.length % 2 !== 0) throw new Error(`not a SENTINEL record: odd number of items (${reply.length})`);
    // A reply is data from the network: it must not be able to reach Object.prototype.
    for (let i = 0; i < reply.length; i += 2) if (text(reply[i]) !== '__proto__') record[text(reply[i])] = text(reply[i + 1]);
    return record;
  }
  if (reply !== null && typeof reply === 'object') {
    for (const [k, v] of Object.entries(reply)) record[k] = text(v);
    return record;
  }
  throw new Error(`not a SENTINEL record: ${reply === null ? 'null' : typeof reply}`);
}

/** SENTINEL MASTERS / REPLICAS <name> / SENTINELS <name>. */
export function parseSentinelList(reply: unknown): SentinelRecord[] {
  if (!Array.isArray(reply)) throw new Error(`not a SENTINEL list reply: ${reply === null ? 'null' : typeof reply}`);
  return reply.map(parseSentinelRecord);
}

export interface HostPort {
  host: string;
  port: number;
}

/** SENTINEL GET-MASTER-ADDR-BY-NAME: [ip, port], or null when the sentinel does not monitor that name. */
export function parseMasterAddr(reply: unknown): HostPort | null {
  if (reply === null || reply === undefined) return null;
  if (!Array.isArray(reply) || reply.length !== 2) throw new Error('not a GET-MASTER-ADDR-BY-NAME reply');
  const port = Number(text(reply[1]));
  if (!Number.isInteger(port)) throw new Error(`GET-MASTER-ADDR-BY-NAME returned port "${text(reply[1])}"`);
  return { host: text(reply[0]), port };
}

export function flagsOf(record: SentinelRecord): string[] {
  return (record.flags ?? '').split(',').filter((f) => f !== '');
}

/** Where the record says the instance is (a master's current address, for SENTINEL MASTERS entries). */
export function masterAddress(record: SentinelRecord): HostPort {
  const port = Number(record.port);
  if (!record.ip || !Number.isInteger(port)) throw new Error(`sentinel record ${record.name ?? '?'} has no ip/port`);
  return { host: record.ip, port };
}

/** Subjectively or objectively down, or the sentinel has no link to it. */
export function isDown(record: SentinelRecord): boolean {
  const flags = flagsOf(record);
  return flags.includes('s_down') || flags.includes('o_down') || flags.includes('disconnected');
}

/** Agreed down by a quorum of sentinels. */
export function isObjectivelyDown(record: SentinelRecord): boolean {
  return flagsOf(record).includes('o_down');
}

/** A number field of a record (num-slaves, quorum, ...), undefined when absent or not a number. */
export function numberField(record: SentinelRecord, field: string): number | undefined {
  const value = record[field];
  if (value === undefined || value === '' || !/^-?\d+$/.test(value)) return undefined;
  return Number(value);
}
