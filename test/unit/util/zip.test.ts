// The zip writer: what it writes reads back (a reader written from APPNOTE here, and the real `unzip`), for any
// names and contents (fast-check), and it refuses what a zip cannot hold or should not (absolute or `..` paths).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { dosDateTime, zip } from '../../../src/util/zip.js';

/** Reads an archive through its central directory, checking every CRC. */
function unzipInMemory(buf: Buffer): Map<string, Buffer> {
  const end = buf.length - 22;
  assert.equal(buf.readUInt32LE(end), 0x06054b50, 'end of central directory record');
  const count = buf.readUInt16LE(end + 10);
  let p = buf.readUInt32LE(end + 16);
  const out = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const csize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nlen = buf.readUInt16LE(p + 28);
    const off = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nlen).toString('utf8');
    assert.equal(buf.readUInt32LE(off), 0x04034b50);
    const lnlen = buf.readUInt16LE(off + 26);
    const extra = buf.readUInt16LE(off + 28);
    const body = buf.subarray(off + 30 + lnlen + extra, off + 30 + lnlen + extra + csize);
    const data = method === 8 ? inflateRawSync(body) : Buffer.from(body);
    assert.equal(data.length, size);
    assert.equal(crc32(data) >>> 0, crc, `crc of ${name}`);
    out.set(name, data);
    p += 46 + nlen;
  }
  return out;
}

test('entries read back byte for byte, stored or deflated', () => {
  const big = 'CLUSTER NODES\n'.repeat(500);
  const z = zip([{ name: 'manifest.json', data: '{"a":1}' }, { name: 'redis/orders/pod-0/info.txt', data: big }, { name: 'bin', data: Buffer.from([0, 255, 7]) }]);
  const m = unzipInMemory(z);
  assert.equal(m.get('manifest.json')?.toString(), '{"a":1}');
  assert.equal(m.get('redis/orders/pod-0/info.txt')?.toString(), big);
  assert.deepEqual([...(m.get('bin') ?? [])], [0, 255, 7]);
  assert.ok(z.length < big.length, 'the repetitive file was deflated');
});

test('any names and contents round-trip (property)', () => {
  const segment = fc.stringMatching(/^[a-zA-Z0-9._é-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/')), fc.uint8Array({ maxLength: 300 })), { selector: ([n]) => n, maxLength: 8 }), (files) => {
      const m = unzipInMemory(zip(files.map(([name, data]) => ({ name, data: Buffer.from(data) }))));
      assert.equal(m.size, files.length);
      for (const [name, data] of files) assert.deepEqual([...(m.get(name) ?? [])], [...data]);
    }),
  );
});

test('the real unzip tests the archive and lists every file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zip-test-'));
  try {
    const file = join(dir, 'a.zip');
    writeFileSync(file, zip([{ name: 'x/y.txt', data: 'hello\n'.repeat(100) }, { name: 'z.json', data: '{}' }], new Date(2026, 0, 2, 3, 4, 6)));
    execFileSync('unzip', ['-tq', file]);
    assert.equal(execFileSync('unzip', ['-p', file, 'x/y.txt']).toString(), 'hello\n'.repeat(100));
    assert.match(execFileSync('unzip', ['-l', file]).toString(), /(2026-01-02|01-02-2026) 03:04\s+x\/y\.txt/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refuses names a zip should not hold', () => {
  for (const name of ['/etc/passwd', '../x', 'a/../b', 'a\\b', '', 'a//b']) assert.throws(() => zip([{ name, data: '' }]), /not a relative path/, name);
  assert.throws(() => zip([{ name: 'a', data: '' }, { name: 'a', data: '' }]), /twice/);
});

test('DOS date and time', () => {
  assert.deepEqual(dosDateTime(new Date(1980, 0, 1, 0, 0, 0)), { date: 33, time: 0 });
  assert.deepEqual(dosDateTime(new Date(2026, 11, 3, 10, 50, 9)), { date: ((2026 - 1980) << 9) | (12 << 5) | 3, time: (10 << 11) | (50 << 5) | 4 });
});
