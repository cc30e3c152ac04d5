// Byte helpers for the synthetic chain and LDK's byte arrays: hex, concatenation and Bitcoin's little-endian
// integer encodings.

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const HEX = /^(?:[0-9a-f]{2})*$/;

/** Lowercase hex only: the port's hashes are compared as strings, so 'AB' and 'ab' must not both pass. */
export function fromHex(hex: string): Uint8Array {
  if (!HEX.test(hex)) throw new Error('not lowercase hex of whole bytes');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function isHex32(value: unknown): value is string {
  return typeof value === 'string' && value.length === 64 && HEX.test(value);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equalBytes(left: Uint8Array, right: Uint8Array): boolean {
  return left.length === right.length && left.every((byte, index) => byte === right[index]);
}

export function uint32LE(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

export function uint64LE(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}

export function readUint32LE(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true);
}

/** Bitcoin's CompactSize integer. */
export function compactSize(value: number): Uint8Array {
  if (value < 0xfd) return Uint8Array.of(value);
  if (value <= 0xffff) return Uint8Array.of(0xfd, value & 0xff, value >> 8);
  return concatBytes(Uint8Array.of(0xfe), uint32LE(value));
}

/** Reads a CompactSize integer: [value, bytes used]. */
export function readCompactSize(bytes: Uint8Array, offset: number): [number, number] {
  const first = bytes[offset];
  if (first === undefined) throw new Error('truncated CompactSize');
  if (first < 0xfd) return [first, 1];
  if (first === 0xfd) return [(bytes[offset + 1] ?? 0) | ((bytes[offset + 2] ?? 0) << 8), 3];
  if (first === 0xfe) return [readUint32LE(bytes, offset + 1), 5];
  throw new Error('CompactSize above 2^32 is not used here');
}
