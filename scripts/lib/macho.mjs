// An ad-hoc code signature for a 64-bit Mach-O executable, written here because no tool that writes one can be had
// on the Linux build machine (Debian has no ldid, rcodesign or zsign; the npm packages that sign shell out to Apple's
// codesign). macOS on Apple silicon runs no code without a valid signature, and injecting the SEA blob invalidates
// the official binary's (postject drops its LC_CODE_SIGNATURE altogether).
//
// The signature is the one Go's linker writes for darwin binaries it links anywhere, Linux included
// (golang/go src/cmd/internal/codesign/codesign.go; Deno's cross-compiler, denoland/sui apple_codesign.rs, writes its
// CodeDirectory alone): an embedded-signature SuperBlob at the end of __LINKEDIT, named by LC_CODE_SIGNATURE, holding
// - a CodeDirectory (version 0x20400, flags adhoc | linker-signed, SHA-256 of every 4 KiB page up to the signature,
//   the __TEXT segment as the main binary's executable segment, two special slots: the requirements' hash, no
//   Info.plist),
// - an empty requirement set, and an empty CMS blob wrapper, as `codesign --sign -` leaves them.
// It carries no certificate: it proves integrity, not identity, which is what `codesign --sign -` gives too.
import { createHash } from 'node:crypto';

const MH_MAGIC_64 = 0xfeedfacf;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CSMAGIC_REQUIREMENTS = 0xfade0c01;
const CSMAGIC_BLOBWRAPPER = 0xfade0b01;
const CSSLOT_CODEDIRECTORY = 0;
const CSSLOT_REQUIREMENTS = 2;
const CSSLOT_SIGNATURESLOT = 0x10000;
// An empty requirement set: the Requirements blob with a count of 0.
const REQUIREMENTS = Buffer.alloc(12);
REQUIREMENTS.writeUInt32BE(CSMAGIC_REQUIREMENTS, 0);
REQUIREMENTS.writeUInt32BE(12, 4);
const N_SPECIAL = CSSLOT_REQUIREMENTS; // slots -1 (Info.plist, none) and -2 (requirements)
const CS_ADHOC = 0x2;
const CS_LINKER_SIGNED = 0x20000;
const CS_HASHTYPE_SHA256 = 2;
const CS_EXECSEG_MAIN_BINARY = 0x1;
const PAGE_BITS = 12;
const PAGE = 1 << PAGE_BITS;
const CODE_DIRECTORY_HEADER = 88; // struct CS_CodeDirectory up to execSegFlags (version 0x20400)
const SEGMENT_ALIGN = 0x4000; // arm64 pages; a multiple of x86_64's

/** Load commands of a 64-bit little-endian Mach-O: { cmd, offset, size }, plus the segments by name. */
export function machoCommands(buf) {
  if (buf.readUInt32LE(0) !== MH_MAGIC_64) throw new Error('not a 64-bit little-endian Mach-O file');
  const ncmds = buf.readUInt32LE(16);
  const sizeofcmds = buf.readUInt32LE(20);
  const commands = [];
  const segments = new Map();
  let offset = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = buf.readUInt32LE(offset);
    const size = buf.readUInt32LE(offset + 4);
    commands.push({ cmd, offset, size });
    if (cmd === LC_SEGMENT_64) {
      const name = buf.toString('latin1', offset + 8, offset + 24).replace(/\0+$/, '');
      segments.set(name, {
        offset,
        vmsize: Number(buf.readBigUInt64LE(offset + 32)),
        fileoff: Number(buf.readBigUInt64LE(offset + 40)),
        filesize: Number(buf.readBigUInt64LE(offset + 48)),
        nsects: buf.readUInt32LE(offset + 64),
      });
    }
    offset += size;
  }
  if (offset !== 32 + sizeofcmds) throw new Error('Mach-O load commands do not add up to sizeofcmds');
  return { ncmds, sizeofcmds, commands, segments };
}

/** The file offset of the first section's contents: load commands may not grow past it. */
function firstSectionOffset(buf, segments) {
  let first = Infinity;
  for (const seg of segments.values()) {
    for (let i = 0; i < seg.nsects; i++) {
      const sect = seg.offset + 72 + i * 80;
      const off = buf.readUInt32LE(sect + 48);
      if (off > 0) first = Math.min(first, off);
    }
  }
  return first;
}

function align(n, to) {
  return Math.ceil(n / to) * to;
}

/**
 * `buf` signed ad hoc under `identifier`: an existing LC_CODE_SIGNATURE is reused (its blob replaced), otherwise one
 * is added after the last load command. The signature must end the file, as codesign requires: a file with bytes
 * after __LINKEDIT is refused.
 */
export function adhocSign(input, identifier) {
  const { ncmds, sizeofcmds, commands, segments } = machoCommands(input);
  const text = segments.get('__TEXT');
  const linkedit = segments.get('__LINKEDIT');
  if (!text || !linkedit) throw new Error('Mach-O file without __TEXT or __LINKEDIT');
  const existing = commands.find((c) => c.cmd === LC_CODE_SIGNATURE);
  const codeEnd = existing ? input.readUInt32LE(existing.offset + 8) : linkedit.fileoff + linkedit.filesize;
  if (!existing && codeEnd !== input.length) throw new Error(`Mach-O file has ${input.length - codeEnd} bytes after __LINKEDIT`);
  const sigOffset = align(codeEnd, 16);

  const id = Buffer.from(`${identifier}\0`, 'utf8');
  const nSlots = Math.ceil(sigOffset / PAGE);
  const hashOffset = CODE_DIRECTORY_HEADER + id.length + N_SPECIAL * 32;
  const cdLength = hashOffset + nSlots * 32;
  const indexSize = 12 + 3 * 8;
  const sigSize = indexSize + cdLength + REQUIREMENTS.length + 8;

  const out = Buffer.alloc(sigOffset + sigSize);
  input.copy(out, 0, 0, Math.min(codeEnd, input.length));
  // Header and load commands first: they are in the first page, which the CodeDirectory hashes.
  let csCmd = existing?.offset;
  if (csCmd === undefined) {
    csCmd = 32 + sizeofcmds;
    if (csCmd + 16 > firstSectionOffset(out, segments)) throw new Error('no room in the Mach-O header for LC_CODE_SIGNATURE');
    if (out.subarray(csCmd, csCmd + 16).some((b) => b !== 0)) throw new Error('the Mach-O header padding is not empty');
    out.writeUInt32LE(ncmds + 1, 16);
    out.writeUInt32LE(sizeofcmds + 16, 20);
    out.writeUInt32LE(LC_CODE_SIGNATURE, csCmd);
    out.writeUInt32LE(16, csCmd + 4);
  }
  out.writeUInt32LE(sigOffset, csCmd + 8);
  out.writeUInt32LE(sigSize, csCmd + 12);
  const linkeditSize = sigOffset + sigSize - linkedit.fileoff;
  out.writeBigUInt64LE(BigInt(linkeditSize), linkedit.offset + 48); // filesize
  out.writeBigUInt64LE(BigInt(align(linkeditSize, SEGMENT_ALIGN)), linkedit.offset + 32); // vmsize

  // SuperBlob and CodeDirectory: big-endian, as every code-signing structure.
  let p = sigOffset;
  out.writeUInt32BE(CSMAGIC_EMBEDDED_SIGNATURE, p);
  out.writeUInt32BE(sigSize, p + 4);
  out.writeUInt32BE(3, p + 8);
  const blobs = [
    [CSSLOT_CODEDIRECTORY, indexSize],
    [CSSLOT_REQUIREMENTS, indexSize + cdLength],
    [CSSLOT_SIGNATURESLOT, indexSize + cdLength + REQUIREMENTS.length],
  ];
  blobs.forEach(([slot, offset], i) => {
    out.writeUInt32BE(slot, p + 12 + i * 8);
    out.writeUInt32BE(offset, p + 16 + i * 8);
  });
  REQUIREMENTS.copy(out, p + indexSize + cdLength);
  out.writeUInt32BE(CSMAGIC_BLOBWRAPPER, p + indexSize + cdLength + REQUIREMENTS.length);
  out.writeUInt32BE(8, p + indexSize + cdLength + REQUIREMENTS.length + 4);
  p += indexSize;
  out.writeUInt32BE(CSMAGIC_CODEDIRECTORY, p);
  out.writeUInt32BE(cdLength, p + 4);
  out.writeUInt32BE(0x20400, p + 8);
  out.writeUInt32BE(CS_ADHOC | CS_LINKER_SIGNED, p + 12);
  out.writeUInt32BE(hashOffset, p + 16);
  out.writeUInt32BE(CODE_DIRECTORY_HEADER, p + 20); // identOffset
  out.writeUInt32BE(N_SPECIAL, p + 24);
  out.writeUInt32BE(nSlots, p + 28);
  out.writeUInt32BE(sigOffset, p + 32); // codeLimit
  out.writeUInt8(32, p + 36); // hashSize
  out.writeUInt8(CS_HASHTYPE_SHA256, p + 37);
  out.writeUInt8(0, p + 38); // platform
  out.writeUInt8(PAGE_BITS, p + 39);
  // spare2, scatterOffset, teamOffset, spare3 and codeLimit64 stay 0
  out.writeBigUInt64BE(BigInt(text.fileoff), p + 64); // execSegBase
  out.writeBigUInt64BE(BigInt(text.filesize), p + 72); // execSegLimit
  out.writeBigUInt64BE(BigInt(CS_EXECSEG_MAIN_BINARY), p + 80);
  id.copy(out, p + CODE_DIRECTORY_HEADER);
  // Special slot -2 (just before slot -1, which stays zero: no Info.plist) is the requirements blob's hash.
  createHash('sha256').update(REQUIREMENTS).digest().copy(out, p + hashOffset - CSSLOT_REQUIREMENTS * 32);
  for (let i = 0; i < nSlots; i++) {
    const page = out.subarray(i * PAGE, Math.min((i + 1) * PAGE, sigOffset));
    createHash('sha256').update(page).digest().copy(out, p + hashOffset + i * 32);
  }
  return out;
}
