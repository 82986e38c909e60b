// Types of zip.mjs for the tests that exercise it.
export function crc32(buf: Buffer): number;
export function zip(entries: Array<{ name: string; data: Buffer }>): Buffer;
