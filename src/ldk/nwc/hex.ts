// Hex helpers for the NWC adapter: the port's hashes and preimages are 64 lowercase hex characters, and a
// string in any other spelling is refused, never repaired.
import { sha256 } from '@noble/hashes/sha2.js';

const HEX32 = /^[0-9a-f]{64}$/;

export function isHex32(value: unknown): value is string {
  return typeof value === 'string' && HEX32.test(value);
}

export function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** sha256 of a 32-byte hex preimage, as hex. */
export function paymentHashOf(preimage: string): string {
  return bytesToHex(sha256(hexToBytes(preimage)));
}
