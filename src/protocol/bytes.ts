// Byte-level helpers that work the same in Node and in a browser (src/protocol has no Node built-ins, so the
// verification page and the task board bundle the same code as the agent).
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

const encoder = new TextEncoder();

/** The length of a string in UTF-8 bytes (what a relay and a websocket frame count). */
export function utf8ByteLength(text: string): number {
  return encoder.encode(text).length;
}

/** sha256 of the bytes a hex string stands for, as lowercase hex (e.g. a preimage to its payment hash). */
export function sha256Hex(hex: string): string {
  return bytesToHex(sha256(hexToBytes(hex)));
}
