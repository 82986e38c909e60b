// Types of macho.mjs for the tests that exercise it.
export function adhocSign(input: Buffer, identifier: string): Buffer;
