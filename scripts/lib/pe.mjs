// The official node.exe carries an Authenticode signature (the PE certificate table, appended to the file and named by
// the Security data directory). Injecting the SEA blob invalidates it, and postject moves the resources to where the
// table was while leaving the directory pointing there, so the file would claim a corrupt signature. As Node's
// documentation does with `signtool remove /s`, the signature is removed before injection: the table cut off the end
// of the file and the directory entry zeroed. The PE checksum is recomputed after injection.

const IMAGE_DIRECTORY_ENTRY_SECURITY = 4;

/** Offsets of a PE32+ file's optional header and its data directories. */
export function peLayout(buf) {
  if (buf.toString('latin1', 0, 2) !== 'MZ') throw new Error('not a PE file (no MZ header)');
  const pe = buf.readUInt32LE(0x3c);
  if (buf.toString('latin1', pe, pe + 4) !== 'PE\0\0') throw new Error('not a PE file (no PE signature)');
  const opt = pe + 24;
  if (buf.readUInt16LE(opt) !== 0x20b) throw new Error('not a PE32+ (64-bit) image');
  return { pe, opt, checksum: opt + 64, directories: opt + 112, ndirs: buf.readUInt32LE(opt + 108) };
}

/** `buf` without its Authenticode signature (unchanged if it has none). */
export function removeAuthenticode(buf) {
  const { directories, ndirs } = peLayout(buf);
  if (ndirs <= IMAGE_DIRECTORY_ENTRY_SECURITY) return buf;
  const entry = directories + IMAGE_DIRECTORY_ENTRY_SECURITY * 8;
  const offset = buf.readUInt32LE(entry); // a file offset, not an RVA, for this directory
  const size = buf.readUInt32LE(entry + 4);
  if (size === 0) return buf;
  if (offset + size !== buf.length) throw new Error('the PE certificate table is not at the end of the file');
  const out = Buffer.from(buf.subarray(0, offset));
  out.writeUInt32LE(0, entry);
  out.writeUInt32LE(0, entry + 4);
  return out;
}

/** The PE image checksum (as imagehlp's CheckSumMappedFile): 16-bit one's-complement sum of the file, plus its length. */
export function peChecksum(buf) {
  const { checksum } = peLayout(buf);
  let sum = 0;
  for (let i = 0; i < buf.length; i += 2) {
    if (i === checksum || i === checksum + 2) continue;
    sum += i + 1 < buf.length ? buf.readUInt16LE(i) : buf[i];
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum + buf.length) >>> 0;
}

/** `buf` with its checksum field set to its checksum. */
export function withPeChecksum(buf) {
  const { checksum } = peLayout(buf);
  buf.writeUInt32LE(peChecksum(buf), checksum);
  return buf;
}
