// CLUSTER NODES text <-> ClusterNodeEntry. Pure. Tolerant of every format since Redis 3:
//   <id> <ip:port@bus[,hostname]> <flags> <master|-> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot>...
// 3.x prints no `@bus`, 6.x no `,hostname`; IPv6 comes bare (`::1:6379@16379`) or bracketed (`[::1]:6379@16379`).
// A line it cannot read is skipped and reported, never thrown on; text with no node line at all is an Error.
import type { ClusterNodeEntry } from './types.js';

export const CLUSTER_SLOTS = 16384;

export interface ParsedClusterNodes {
  entries: ClusterNodeEntry[];
  /** Lines that were not empty and not a node line (kept for diagnostics). */
  skipped: string[];
}

const NODE_ID = /^[0-9a-f]{40}$/i;
const MIGRATING = /^\[(\d+)->-([0-9a-z]+)\]$/i;
const IMPORTING = /^\[(\d+)-<-([0-9a-z]+)\]$/i;
const SLOT_RANGE = /^(\d+)(?:-(\d+))?$/;

export function parseClusterNodes(text: string): ClusterNodeEntry[] {
  return parseClusterNodesDetailed(text).entries;
}

export function parseClusterNodesDetailed(text: string): ParsedClusterNodes {
  if (typeof text !== 'string') throw new Error(`CLUSTER NODES reply is not text but ${typeof text}`);
  const entries: ClusterNodeEntry[] = [];
  const skipped: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const entry = parseLine(line);
    if (entry) entries.push(entry);
    else skipped.push(line);
  }
  if (entries.length === 0) {
    const first = text.trim().split('\n')[0] ?? '';
    throw new Error(`not CLUSTER NODES output (no node line found): "${first.slice(0, 120)}"`);
  }
  return { entries, skipped };
}

interface Address {
  ip: string;
  port: number;
  busPort: number;
  hostname?: string;
}

/** `ip:port@bus[,hostname[,aux=...]]`; undefined when it is no address at all. */
export function parseAddress(field: string): Address | undefined {
  const [coordinates, ...extras] = field.split(',');
  const hostname = extras.find((x) => x !== '' && !x.includes('='));
  const at = coordinates.lastIndexOf('@');
  const hostPort = at === -1 ? coordinates : coordinates.slice(0, at);
  let ip: string;
  let portText: string;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']:');
    if (close === -1) return undefined;
    ip = hostPort.slice(1, close);
    portText = hostPort.slice(close + 2);
  } else {
    const colon = hostPort.lastIndexOf(':');
    if (colon === -1) return undefined;
    ip = hostPort.slice(0, colon);
    portText = hostPort.slice(colon + 1);
  }
  const port = toInt(portText);
  if (port === undefined || port > 65535) return undefined;
  // Redis 3.x has no `@bus`: the bus is then always port + 10000.
  const busPort = at === -1 ? (port === 0 ? 0 : port + 10000) : toInt(coordinates.slice(at + 1));
  if (busPort === undefined || busPort > 65535) return undefined;
  return hostname === undefined ? { ip, port, busPort } : { ip, port, busPort, hostname };
}

function parseLine(line: string): ClusterNodeEntry | undefined {
  const fields = line.split(/\s+/);
  if (fields.length < 8) return undefined;
  const [id, addressField, flagsField, masterField, pingField, pongField, epochField, linkField, ...slotFields] = fields;
  if (!NODE_ID.test(id)) return undefined;
  const address = parseAddress(addressField);
  const pingSent = toInt(pingField);
  const pongRecv = toInt(pongField);
  const configEpoch = toInt(epochField);
  if (!address || pingSent === undefined || pongRecv === undefined || configEpoch === undefined) return undefined;
  if (linkField !== 'connected' && linkField !== 'disconnected') return undefined;
  if (masterField !== '-' && !NODE_ID.test(masterField)) return undefined;
  const flags = flagsField === 'noflags' ? [] : flagsField.split(',').filter((f) => f !== '');

  const slots: Array<[number, number]> = [];
  const migrating: Array<{ slot: number; to: string }> = [];
  const importing: Array<{ slot: number; from: string }> = [];
  for (const token of slotFields) {
    let m: RegExpExecArray | null;
    if ((m = MIGRATING.exec(token))) {
      const slot = Number(m[1]);
      if (slot < CLUSTER_SLOTS) migrating.push({ slot, to: m[2] });
    } else if ((m = IMPORTING.exec(token))) {
      const slot = Number(m[1]);
      if (slot < CLUSTER_SLOTS) importing.push({ slot, from: m[2] });
    } else if ((m = SLOT_RANGE.exec(token))) {
      const first = Number(m[1]);
      const last = m[2] === undefined ? first : Number(m[2]);
      if (first <= last && last < CLUSTER_SLOTS) slots.push([first, last]);
    }
    // Anything else is a token of a future format: ignored, the rest of the line still counts.
  }

  const entry: ClusterNodeEntry = {
    id,
    ip: address.ip,
    port: address.port,
    busPort: address.busPort,
    flags,
    myself: flags.includes('myself'),
    role: roleOf(flags),
    masterId: masterField === '-' ? null : masterField,
    pingSent,
    pongRecv,
    configEpoch,
    linkState: linkField,
    slots: mergeRanges(slots),
    migrating,
    importing,
    failed: flags.includes('fail'),
    pfail: flags.includes('fail?'),
    handshake: flags.includes('handshake'),
    noaddr: flags.includes('noaddr'),
  };
  if (address.hostname !== undefined) entry.hostname = address.hostname;
  return entry;
}

function roleOf(flags: string[]): ClusterNodeEntry['role'] {
  if (flags.includes('master')) return 'master';
  if (flags.includes('slave') || flags.includes('replica')) return 'replica';
  return 'unknown';
}

function toInt(text: string): number | undefined {
  if (!/^-?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Sorts ranges and joins the ones that overlap or touch: [[0,5],[6,9]] -> [[0,9]]. */
export function mergeRanges(ranges: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const sorted = [...ranges].map(([a, b]): [number, number] => [a, b]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const merged: Array<[number, number]> = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && range[0] <= last[1] + 1) last[1] = Math.max(last[1], range[1]);
    else merged.push(range);
  }
  return merged;
}

/** How many slots the entry serves. */
export function slotsOf(entry: Pick<ClusterNodeEntry, 'slots'>): number {
  return entry.slots.reduce((n, [first, last]) => n + last - first + 1, 0);
}

/** Ranges of 0..16383 that none of the given ranges covers. */
export function uncoveredRanges(ranges: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const gaps: Array<[number, number]> = [];
  let next = 0;
  for (const [first, last] of mergeRanges(ranges)) {
    if (first > next) gaps.push([next, first - 1]);
    next = Math.max(next, last + 1);
  }
  if (next < CLUSTER_SLOTS) gaps.push([next, CLUSTER_SLOTS - 1]);
  return gaps;
}

/** `0-5460 5461` style, as Redis prints ranges. */
export function formatRanges(ranges: ReadonlyArray<readonly [number, number]>): string {
  return ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(' ');
}

export function myselfOf(entries: readonly ClusterNodeEntry[]): ClusterNodeEntry | undefined {
  return entries.find((e) => e.myself);
}

/** The inverse of parseClusterNodes, in the Redis 7 format (bare IPv6 like Redis prints it). */
export function formatClusterNodes(entries: readonly ClusterNodeEntry[]): string {
  return entries.map(formatClusterNode).join('\n') + (entries.length > 0 ? '\n' : '');
}

export function formatClusterNode(e: ClusterNodeEntry): string {
  const address = `${e.ip}:${e.port}@${e.busPort}${e.hostname ? `,${e.hostname}` : ''}`;
  const open = [
    ...e.migrating.map((m) => ({ slot: m.slot, text: `[${m.slot}->-${m.to}]` })),
    ...e.importing.map((i) => ({ slot: i.slot, text: `[${i.slot}-<-${i.from}]` })),
  ].sort((a, b) => a.slot - b.slot);
  const parts = [
    e.id,
    address,
    e.flags.length === 0 ? 'noflags' : e.flags.join(','),
    e.masterId ?? '-',
    String(e.pingSent),
    String(e.pongRecv),
    String(e.configEpoch),
    e.linkState,
    ...e.slots.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)),
    ...open.map((o) => o.text),
  ];
  return parts.join(' ');
}
