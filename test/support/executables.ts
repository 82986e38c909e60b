// Readers for what the release test cannot run here: ELF, Mach-O and PE executables (their headers, the SEA blob
// postject injected, and on Mach-O the code signature with every page hash recomputed) and zip archives. Written from
// the formats' specifications (ELF gABI; Apple's mach-o/loader.h and the Security framework's cs_blobs.h; Microsoft's
// PE/COFF specification; PKWARE's APPNOTE), independently of the writers in scripts/lib, so a mistake in one is not
// repeated in the check.
import { createHash } from 'node:crypto';
import { crc32, inflateRawSync } from 'node:zlib';

export interface SeaBlob {
  flags: number;
  /** The main script's name as the SEA config gave it. */
  codePath: string;
  mainBytes: number;
}

/** Node's SEA blob (src/node_sea.cc, v20: magic 0x143da20, flags, code path, main script, then the code cache). */
export function parseSeaBlob(buf: Buffer): SeaBlob {
  if (buf.length < 24 || buf.readUInt32LE(0) !== 0x143da20) throw new Error('not a SEA blob (no 0x143da20 magic)');
  const flags = buf.readUInt32LE(4);
  const pathLen = Number(buf.readBigUInt64LE(8));
  const codePath = buf.toString('utf8', 16, 16 + pathLen);
  const mainBytes = Number(buf.readBigUInt64LE(16 + pathLen));
  if (16 + pathLen + 8 + mainBytes > buf.length) throw new Error('SEA blob shorter than its main script');
  return { flags, codePath, mainBytes };
}

export interface Elf {
  machine: 'x64' | 'arm64' | string;
  /** Notes of every PT_NOTE segment, by name. */
  notes: Map<string, Buffer>;
}

export function parseElf(buf: Buffer): Elf {
  if (buf.toString('latin1', 0, 4) !== '\x7fELF' || buf[4] !== 2 || buf[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const machineId = buf.readUInt16LE(0x12);
  const machine = machineId === 0x3e ? 'x64' : machineId === 0xb7 ? 'arm64' : `machine ${machineId}`;
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  const notes = new Map<string, Buffer>();
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (buf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    const start = Number(buf.readBigUInt64LE(ph + 8));
    const end = start + Number(buf.readBigUInt64LE(ph + 32));
    for (let p = start; p + 12 <= end; ) {
      const namesz = buf.readUInt32LE(p);
      const descsz = buf.readUInt32LE(p + 4);
      const name = buf.toString('latin1', p + 12, p + 12 + namesz).replace(/\0+$/, '');
      const desc = p + 12 + Math.ceil(namesz / 4) * 4;
      notes.set(name, buf.subarray(desc, desc + descsz));
      p = desc + Math.ceil(descsz / 4) * 4;
    }
  }
  return { machine, notes };
}

export interface MachOSegment {
  fileoff: number;
  filesize: number;
  sections: Map<string, { offset: number; size: number }>;
}

export interface MachO {
  cpu: 'x64' | 'arm64' | string;
  filetype: number;
  segments: Map<string, MachOSegment>;
  /** LC_CODE_SIGNATURE: where the signature's SuperBlob is. */
  signature?: { dataoff: number; datasize: number };
  headerEnd: number;
}

export function parseMachO(buf: Buffer): MachO {
  if (buf.readUInt32LE(0) !== 0xfeedfacf) throw new Error('not a 64-bit little-endian Mach-O file');
  const cputype = buf.readUInt32LE(4);
  const cpu = cputype === 0x01000007 ? 'x64' : cputype === 0x0100000c ? 'arm64' : `cputype ${cputype}`;
  const filetype = buf.readUInt32LE(12);
  const ncmds = buf.readUInt32LE(16);
  const segments = new Map<string, MachOSegment>();
  let signature: MachO['signature'];
  let p = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = buf.readUInt32LE(p);
    const size = buf.readUInt32LE(p + 4);
    if (cmd === 0x19) {
      const sections = new Map<string, { offset: number; size: number }>();
      for (let s = 0; s < buf.readUInt32LE(p + 64); s++) {
        const sect = p + 72 + s * 80;
        sections.set(buf.toString('latin1', sect, sect + 16).replace(/\0+$/, ''), { size: Number(buf.readBigUInt64LE(sect + 40)), offset: buf.readUInt32LE(sect + 48) });
      }
      segments.set(buf.toString('latin1', p + 8, p + 24).replace(/\0+$/, ''), { fileoff: Number(buf.readBigUInt64LE(p + 40)), filesize: Number(buf.readBigUInt64LE(p + 48)), sections });
    }
    if (cmd === 0x1d) signature = { dataoff: buf.readUInt32LE(p + 8), datasize: buf.readUInt32LE(p + 12) };
    p += size;
  }
  return { cpu, filetype, segments, signature, headerEnd: p };
}

export interface CodeSignature {
  identifier: string;
  flags: number;
  hashType: number;
  pageSizeLog2: number;
  codeLimit: number;
  execSegBase: number;
  execSegLimit: number;
  execSegFlags: number;
  pages: number;
  /** Indexes of the pages whose hash in the CodeDirectory is not the page's SHA-256. */
  badPages: number[];
  /** The SuperBlob's slots (0 CodeDirectory, 2 requirements, 0x10000 CMS wrapper, ...). */
  slots: number[];
  /** Special slots (1 Info.plist, 2 requirements, ...) whose hash is not that of the blob in that slot (or not zero when there is none). */
  badSpecialSlots: number[];
}

/** The embedded signature's CodeDirectory, each of its code slots checked against the page it covers. */
export function readCodeSignature(buf: Buffer, macho: MachO): CodeSignature {
  if (!macho.signature) throw new Error('no LC_CODE_SIGNATURE');
  const { dataoff } = macho.signature;
  if (buf.readUInt32BE(dataoff) !== 0xfade0cc0) throw new Error('the signature is not an embedded-signature SuperBlob');
  const count = buf.readUInt32BE(dataoff + 8);
  const blobs = new Map<number, Buffer>();
  for (let i = 0; i < count; i++) {
    const at = dataoff + buf.readUInt32BE(dataoff + 16 + i * 8);
    blobs.set(buf.readUInt32BE(dataoff + 12 + i * 8), buf.subarray(at, at + buf.readUInt32BE(at + 4)));
  }
  const cd = blobs.has(0) ? dataoff + buf.readUInt32BE(dataoff + 16 + [...blobs.keys()].indexOf(0) * 8) : -1;
  if (cd < 0 || buf.readUInt32BE(cd) !== 0xfade0c02) throw new Error('no CodeDirectory in the signature');
  const version = buf.readUInt32BE(cd + 8);
  if (version < 0x20400) throw new Error(`CodeDirectory version ${version.toString(16)} has no executable segment fields`);
  const hashOffset = buf.readUInt32BE(cd + 16);
  const identOffset = buf.readUInt32BE(cd + 20);
  const nSpecialSlots = buf.readUInt32BE(cd + 24);
  const nCodeSlots = buf.readUInt32BE(cd + 28);
  const codeLimit = buf.readUInt32BE(cd + 32);
  const hashSize = buf[cd + 36] ?? 0;
  const hashType = buf[cd + 37] ?? 0;
  const pageSizeLog2 = buf[cd + 39] ?? 0;
  const identEnd = buf.indexOf(0, cd + identOffset);
  const pageSize = 2 ** pageSizeLog2;
  const badPages: number[] = [];
  for (let i = 0; i < nCodeSlots; i++) {
    const page = buf.subarray(i * pageSize, Math.min((i + 1) * pageSize, codeLimit));
    const want = buf.subarray(cd + hashOffset + i * hashSize, cd + hashOffset + (i + 1) * hashSize);
    if (!createHash(hashType === 2 ? 'sha256' : 'sha1').update(page).digest().equals(want)) badPages.push(i);
  }
  if (nCodeSlots !== Math.ceil(codeLimit / pageSize)) badPages.push(-1);
  const badSpecialSlots: number[] = [];
  for (let k = 1; k <= nSpecialSlots; k++) {
    const got = buf.subarray(cd + hashOffset - k * hashSize, cd + hashOffset - (k - 1) * hashSize);
    const blob = blobs.get(k);
    const want = blob ? createHash(hashType === 2 ? 'sha256' : 'sha1').update(blob).digest() : Buffer.alloc(hashSize);
    if (!got.equals(want)) badSpecialSlots.push(k);
  }
  return {
    identifier: buf.toString('utf8', cd + identOffset, identEnd),
    flags: buf.readUInt32BE(cd + 12),
    hashType,
    pageSizeLog2,
    codeLimit,
    execSegBase: Number(buf.readBigUInt64BE(cd + 64)),
    execSegLimit: Number(buf.readBigUInt64BE(cd + 72)),
    execSegFlags: Number(buf.readBigUInt64BE(cd + 80)),
    pages: nCodeSlots,
    badPages,
    slots: [...blobs.keys()],
    badSpecialSlots,
  };
}

export interface Pe {
  machine: number;
  subsystem: number;
  checksum: number;
  /** The Security (certificate table) data directory: a file offset and size, 0/0 when unsigned. */
  security: { offset: number; size: number };
  sections: Array<{ name: string; rva: number; vsize: number; raw: number; rawSize: number }>;
  resourceRva: number;
}

export function parsePe(buf: Buffer): Pe {
  if (buf.toString('latin1', 0, 2) !== 'MZ') throw new Error('no MZ header');
  const pe = buf.readUInt32LE(0x3c);
  if (buf.toString('latin1', pe, pe + 4) !== 'PE\0\0') throw new Error('no PE signature');
  const nsec = buf.readUInt16LE(pe + 6);
  const optSize = buf.readUInt16LE(pe + 20);
  const opt = pe + 24;
  if (buf.readUInt16LE(opt) !== 0x20b) throw new Error('not PE32+');
  const dir = (i: number) => ({ a: buf.readUInt32LE(opt + 112 + i * 8), b: buf.readUInt32LE(opt + 116 + i * 8) });
  const sections = Array.from({ length: nsec }, (_, i) => {
    const s = opt + optSize + i * 40;
    return { name: buf.toString('latin1', s, s + 8).replace(/\0+$/, ''), vsize: buf.readUInt32LE(s + 8), rva: buf.readUInt32LE(s + 12), rawSize: buf.readUInt32LE(s + 16), raw: buf.readUInt32LE(s + 20) };
  });
  return {
    machine: buf.readUInt16LE(pe + 4),
    subsystem: buf.readUInt16LE(opt + 68),
    checksum: buf.readUInt32LE(opt + 64),
    security: { offset: dir(4).a, size: dir(4).b },
    sections,
    resourceRva: dir(2).a,
  };
}

function rvaToOffset(pe: Pe, rva: number): number {
  const s = pe.sections.find((x) => rva >= x.rva && rva < x.rva + Math.max(x.vsize, x.rawSize));
  if (!s) throw new Error(`RVA ${rva.toString(16)} is in no section`);
  return s.raw + (rva - s.rva);
}

/** A resource's bytes by type id and name (names compare case-insensitively, as FindResource does). */
export function peResource(buf: Buffer, pe: Pe, typeId: number, name: string): Buffer | undefined {
  const base = rvaToOffset(pe, pe.resourceRva);
  const entries = (dir: number) => {
    const n = buf.readUInt16LE(dir + 12) + buf.readUInt16LE(dir + 14);
    return Array.from({ length: n }, (_, i) => {
      const e = dir + 16 + i * 8;
      const id = buf.readUInt32LE(e);
      const to = buf.readUInt32LE(e + 4);
      const named = (id & 0x80000000) !== 0;
      const str = base + (id & 0x7fffffff);
      return {
        name: named ? buf.toString('utf16le', str + 2, str + 2 + buf.readUInt16LE(str) * 2) : undefined,
        id: named ? undefined : id,
        subdir: (to & 0x80000000) !== 0,
        at: base + (to & 0x7fffffff),
      };
    });
  };
  const type = entries(base).find((e) => e.id === typeId && e.subdir);
  const named = type && entries(type.at).find((e) => e.name?.toUpperCase() === name.toUpperCase() && e.subdir);
  const lang = named && entries(named.at)[0];
  if (!lang || lang.subdir) return undefined;
  const off = rvaToOffset(pe, buf.readUInt32LE(lang.at));
  return buf.subarray(off, off + buf.readUInt32LE(lang.at + 4));
}

/** The PE checksum as CheckSumMappedFile computes it. */
export function peChecksum(buf: Buffer): number {
  const field = buf.readUInt32LE(0x3c) + 24 + 64;
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) {
    if (i !== field && i !== field + 2) sum += buf.readUInt16LE(i);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (buf.length % 2) sum += buf[buf.length - 1] ?? 0;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum + buf.length) >>> 0;
}

export interface ZipEntry {
  name: string;
  data: Buffer;
  /** The CRC-32 the archive states equals the data's. */
  crcOk: boolean;
}

/** Every entry of a zip archive, from its central directory. */
export function readZip(buf: Buffer): ZipEntry[] {
  const end = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('no zip end-of-central-directory record');
  const count = buf.readUInt16LE(end + 10);
  let p = buf.readUInt32LE(end + 16);
  const out: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('bad zip central directory entry');
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const packed = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const skip = buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    if (buf.readUInt32LE(local) !== 0x04034b50) throw new Error(`bad zip local header for ${name}`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + packed);
    const data = method === 8 ? inflateRawSync(raw) : method === 0 ? raw : Buffer.alloc(0);
    out.push({ name, data, crcOk: data.length === size && crc32(data) === crc });
    p += 46 + nameLen + skip;
  }
  return out;
}
