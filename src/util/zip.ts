// A small ZIP writer (PKWARE APPNOTE 6.3.10: local headers, deflate or stored data, central directory, end record)
// for `report`'s archive. Node 20 has deflateRawSync and crc32, so no dependency: the archive is built in memory
// (a report is a few MB at most). UTF-8 names (general purpose bit 11); no ZIP64, so each file and the whole
// archive must stay below 4 GiB and 65535 entries, which is checked.
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntry {
  /** Path inside the archive, with forward slashes, no leading slash, no `..`. */
  name: string;
  data: Buffer | string;
  /** Modification time shown by `unzip -l`; default now. */
  mtime?: Date;
}

const LIMIT = 0xffffffff;

/** MS-DOS date and time (local time, 2-second resolution; years 1980-2107), as zip stores them. */
export function dosDateTime(d: Date): { date: number; time: number } {
  const year = Math.min(2107, Math.max(1980, d.getFullYear()));
  const date = ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate();
  const time = (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2);
  return { date, time };
}

function checkName(name: string): void {
  if (name === '' || name.startsWith('/') || name.includes('\\') || name.split('/').some((p) => p === '..' || p === '')) {
    throw new Error(`zip entry name "${name}" is not a relative path`);
  }
}

/** The bytes of a zip archive holding `entries` in order. Small files are stored, others deflated when it helps. */
export function zip(entries: readonly ZipEntry[], now: Date = new Date()): Buffer {
  if (entries.length > 0xffff) throw new Error(`a zip without ZIP64 holds at most 65535 files, not ${entries.length}`);
  const seen = new Set<string>();
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    checkName(e.name);
    if (seen.has(e.name)) throw new Error(`zip entry "${e.name}" appears twice`);
    seen.add(e.name);
    const data = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : e.data;
    if (data.length >= LIMIT) throw new Error(`zip entry "${e.name}" is too large (${data.length} bytes)`);
    const deflated = data.length > 64 ? deflateRawSync(data, { level: 6 }) : undefined;
    const useDeflate = deflated !== undefined && deflated.length < data.length;
    const body = useDeflate ? deflated : data;
    const method = useDeflate ? 8 : 0;
    const crc = crc32(data) >>> 0;
    const name = Buffer.from(e.name, 'utf8');
    const { date, time } = dosDateTime(e.mtime ?? now);
    const flags = 0x0800; // names are UTF-8

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(time, 12);
    central.writeUInt16LE(date, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30); // extra
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE(((0o100644 << 16) >>> 0), 38); // external: a regular file, rw-r--r--
    central.writeUInt32LE(offset, 42);

    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
    if (offset >= LIMIT) throw new Error('the zip archive would exceed 4 GiB');
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, directory, end]);
}
