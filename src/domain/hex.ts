// Lowercase hex identifiers: event ids, pubkeys, payment hashes and preimages are 32 bytes written as 64
// lowercase hex characters. A string in any other spelling (upper case, 0x prefix, odd length) is refused,
// never repaired: ids are compared as strings. Pure: no Node built-ins, usable in a browser bundle.
import type { Hex32 } from './types.ts';

/** 32 bytes of lowercase hex, for schema libraries that take a RegExp (zod's `.regex`). */
export const HEX32_PATTERN = /^[0-9a-f]{64}$/;

/** The pattern of exactly `bytes` bytes of lowercase hex (2 x bytes characters). */
export function hexPattern(bytes: number): RegExp {
  if (bytes === 32) return HEX32_PATTERN;
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`hexPattern: ${bytes} bytes`);
  return new RegExp(`^[0-9a-f]{${bytes * 2}}$`);
}

// Hex32 is a plain string, so a type guard on a value already typed string would narrow its false branch to
// never: the first signature of each check leaves a string a string, the second narrows anything else.

/** True for a string of exactly `bytes` bytes of lowercase hex. */
export function isHex(value: string, bytes: number): boolean;
export function isHex(value: unknown, bytes: number): value is string;
export function isHex(value: unknown, bytes: number): boolean {
  return typeof value === 'string' && hexPattern(bytes).test(value);
}

/** True for 64 lowercase hex characters: an event id, a pubkey, a payment hash or a preimage. */
export function isHex32(value: string): boolean;
export function isHex32(value: unknown): value is Hex32;
export function isHex32(value: unknown): boolean {
  return typeof value === 'string' && HEX32_PATTERN.test(value);
}
