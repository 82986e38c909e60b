// The release's own writers (scripts/lib) on small files made here, read back with the release test's independent
// readers (test/support/executables.ts): the Mach-O ad-hoc signer, including re-signing a signed file (the path the
// release's binaries do not take, as postject drops the official signature), and the zip writer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { adhocSign } from '../../../scripts/lib/macho.mjs';
import { crc32, zip } from '../../../scripts/lib/zip.mjs';
import { parseMachO, readCodeSignature, readZip } from '../../support/executables.js';

/** A minimal arm64 MH_EXECUTE: __TEXT (one section) over the first 16 KiB, then a __LINKEDIT of `linkedit` bytes. */
function machO(linkedit: number, fill = 0x5a): Buffer {
  const sizeofcmds = 152 + 72;
  const buf = Buffer.alloc(0x4000 + linkedit, 0);
  buf.writeUInt32LE(0xfeedfacf, 0);
  buf.writeUInt32LE(0x0100000c, 4);
  buf.writeUInt32LE(2, 12);
  buf.writeUInt32LE(2, 16);
  buf.writeUInt32LE(sizeofcmds, 20);
  let p = 32;
  buf.writeUInt32LE(0x19, p);
  buf.writeUInt32LE(152, p + 4);
  buf.write('__TEXT', p + 8, 'latin1');
  buf.writeBigUInt64LE(0x4000n, p + 32); // vmsize
  buf.writeBigUInt64LE(0x4000n, p + 48); // filesize
  buf.writeUInt32LE(1, p + 64); // nsects
  buf.write('__text', p + 72, 'latin1');
  buf.write('__TEXT', p + 88, 'latin1');
  buf.writeBigUInt64LE(0x100n, p + 112); // size
  buf.writeUInt32LE(0x1000, p + 120); // offset
  p += 152;
  buf.writeUInt32LE(0x19, p);
  buf.writeUInt32LE(72, p + 4);
  buf.write('__LINKEDIT', p + 8, 'latin1');
  buf.writeBigUInt64LE(0x4000n, p + 24); // vmaddr
  buf.writeBigUInt64LE(0x4000n, p + 32); // vmsize
  buf.writeBigUInt64LE(0x4000n, p + 40); // fileoff
  buf.writeBigUInt64LE(BigInt(linkedit), p + 48); // filesize
  buf.fill(fill, 0x1000, 0x1100);
  buf.fill(fill ^ 0xff, 0x4000);
  return buf;
}

function assertValid(signed: Buffer): void {
  const m = parseMachO(signed);
  assert.ok(m.signature);
  assert.equal(m.signature.dataoff + m.signature.datasize, signed.length, 'the signature ends the file');
  const linkedit = m.segments.get('__LINKEDIT');
  assert.equal((linkedit?.fileoff ?? 0) + (linkedit?.filesize ?? 0), signed.length, '__LINKEDIT ends the file');
  const cs = readCodeSignature(signed, m);
  assert.deepEqual(cs.badPages, []);
  assert.deepEqual(cs.slots, [0, 2, 0x10000], 'CodeDirectory, requirements, CMS wrapper');
  assert.deepEqual(cs.badSpecialSlots, []);
  assert.equal(cs.codeLimit, m.signature.dataoff);
  assert.equal(cs.identifier, 'kubectl-redis');
  assert.equal(cs.flags & 0x2, 0x2);
  assert.deepEqual([cs.execSegBase, cs.execSegLimit, cs.execSegFlags], [0, 0x4000, 1]);
}

test('adhocSign adds LC_CODE_SIGNATURE to an unsigned Mach-O, and every page hash matches', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3 * 4096 }), fc.integer({ min: 0, max: 255 }), (linkedit, fill) => {
      const unsigned = machO(linkedit, fill);
      assert.equal(parseMachO(unsigned).signature, undefined);
      const signed = adhocSign(unsigned, 'kubectl-redis');
      assertValid(signed);
      assert.equal(parseMachO(signed).headerEnd, 32 + 152 + 72 + 16, 'one 16-byte load command more');
      // Re-signing replaces the signature in place: same bytes, as a build must be reproducible.
      assert.ok(adhocSign(signed, 'kubectl-redis').equals(signed));
    }),
    { numRuns: 25 },
  );
});

test('a signed page that changes no longer matches its hash', () => {
  const signed = adhocSign(machO(5000), 'kubectl-redis');
  const tampered = Buffer.from(signed);
  tampered[0x4000 + 4096 + 7] ^= 1;
  assert.deepEqual(readCodeSignature(tampered, parseMachO(tampered)).badPages, [5]);
});

test('adhocSign refuses what it cannot sign without breaking the file', () => {
  const trailing = Buffer.concat([machO(100), Buffer.from('tail')]);
  assert.throws(() => adhocSign(trailing, 'x'), /bytes after __LINKEDIT/);
  assert.throws(() => adhocSign(Buffer.alloc(64), 'x'), /not a 64-bit little-endian Mach-O/);
});

test('zip: every entry reads back with its CRC-32, and the same input gives the same bytes', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9._-]{0,20}$/), data: fc.uint8Array({ maxLength: 5000 }) }), { selector: (e) => e.name, maxLength: 4 }), (entries) => {
      const input = entries.map((e) => ({ name: e.name, data: Buffer.from(e.data) }));
      const archive = zip(input);
      const back = readZip(archive);
      assert.deepEqual(back.map((e) => e.name), input.map((e) => e.name));
      for (const [i, e] of back.entries()) {
        assert.ok(e.crcOk, e.name);
        assert.ok(e.data.equals(input[i]?.data ?? Buffer.alloc(0)));
      }
      assert.ok(zip(input).equals(archive));
    }),
    { numRuns: 50 },
  );
});

test("zip's crc32 is zlib's", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => crc32(Buffer.from(bytes)) === zlibCrc32(Buffer.from(bytes))));
});
