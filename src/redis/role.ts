// ROLE reply -> RoleReply. Pure. Shapes (as ioredis returns them):
//   ['master', offset, [[ip, 'port', 'offset'], ...]]
//   ['slave', masterIp, masterPort, 'connect' | 'connecting' | 'sync' | 'connected' | 'handshake', offset]
//   ['sentinel', [masterName, ...]]
import type { RoleReply } from './types.js';

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return '';
}

function int(value: unknown, what: string): number {
  const n = Number(text(value));
  if (!Number.isInteger(n)) throw new Error(`ROLE reply has ${what} "${text(value)}", not a number`);
  return n;
}

export function parseRole(reply: unknown): RoleReply {
  if (!Array.isArray(reply) || reply.length === 0) throw new Error('not a ROLE reply: expected a non-empty array');
  const kind = text(reply[0]);
  switch (kind) {
    case 'master': {
      const list = Array.isArray(reply[2]) ? (reply[2] as unknown[]) : [];
      const replicas = list.filter(Array.isArray).map((r) => {
        const row = r as unknown[];
        return { ip: text(row[0]), port: int(row[1], 'replica port'), offset: int(row[2], 'replica offset') };
      });
      return { role: 'master', offset: int(reply[1], 'offset'), replicas };
    }
    case 'slave':
    case 'replica':
      return {
        role: 'replica',
        masterIp: text(reply[1]),
        masterPort: int(reply[2], 'master port'),
        state: text(reply[3]),
        offset: int(reply[4], 'offset'),
      };
    case 'sentinel': {
      const names = Array.isArray(reply[1]) ? (reply[1] as unknown[]).map(text) : [];
      return { role: 'sentinel', masters: names };
    }
    default:
      throw new Error(`not a ROLE reply: unknown role "${kind}"`);
  }
}
