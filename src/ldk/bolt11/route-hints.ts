// The `r` field: one private route to the payee, as a list of hops (51 bytes each, BOLT11 "Tagged Fields").
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Bolt11Error } from './errors.ts';

export interface RouteHintHop {
  /** The node at the start of the channel, compressed public key hex. */
  readonly nodeId: string;
  /** `block x transaction x output`, as BOLT 7 writes it. */
  readonly shortChannelId: string;
  readonly feeBaseMsat: number;
  readonly feeProportionalMillionths: number;
  readonly cltvExpiryDelta: number;
}

const HOP_BYTES = 33 + 8 + 4 + 4 + 2;

export function decodeRouteHint(bytes: Uint8Array): RouteHintHop[] {
  if (bytes.length === 0 || bytes.length % HOP_BYTES !== 0) {
    throw new Bolt11Error(
      'InvalidField',
      `a route hint has ${bytes.length} bytes, not a whole number of 51-byte hops`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hops: RouteHintHop[] = [];
  for (let offset = 0; offset < bytes.length; offset += HOP_BYTES) {
    const nodeId = bytes.subarray(offset, offset + 33);
    if (!isPublicKey(nodeId))
      throw new Bolt11Error('InvalidField', 'a route hint names a node id that is not a public key');
    const block = (view.getUint16(offset + 33) << 8) | view.getUint8(offset + 35);
    const transaction = (view.getUint16(offset + 36) << 8) | view.getUint8(offset + 38);
    const output = view.getUint16(offset + 39);
    hops.push({
      nodeId: bytesToHex(nodeId),
      shortChannelId: `${block}x${transaction}x${output}`,
      feeBaseMsat: view.getUint32(offset + 41),
      feeProportionalMillionths: view.getUint32(offset + 45),
      cltvExpiryDelta: view.getUint16(offset + 49),
    });
  }
  return hops;
}

export function encodeRouteHint(hops: readonly RouteHintHop[]): Uint8Array {
  const bytes = new Uint8Array(hops.length * HOP_BYTES);
  const view = new DataView(bytes.buffer);
  hops.forEach((hop, index) => {
    const offset = index * HOP_BYTES;
    const match = /^(\d+)x(\d+)x(\d+)$/.exec(hop.shortChannelId);
    const [block, transaction, output] = match ? match.slice(1).map(Number) : [];
    if (
      block === undefined ||
      transaction === undefined ||
      output === undefined ||
      block >= 2 ** 24 ||
      transaction >= 2 ** 24 ||
      output >= 2 ** 16
    ) {
      throw new RangeError(`invalid short channel id ${hop.shortChannelId}`);
    }
    const nodeId = hexToBytes(hop.nodeId);
    if (nodeId.length !== 33) throw new RangeError(`invalid route hint node id ${hop.nodeId}`);
    checkUnsigned('fee base', hop.feeBaseMsat, 32);
    checkUnsigned('proportional fee', hop.feeProportionalMillionths, 32);
    checkUnsigned('CLTV expiry delta', hop.cltvExpiryDelta, 16);
    bytes.set(nodeId, offset);
    view.setUint16(offset + 33, block >> 8);
    view.setUint8(offset + 35, block & 0xff);
    view.setUint16(offset + 36, transaction >> 8);
    view.setUint8(offset + 38, transaction & 0xff);
    view.setUint16(offset + 39, output);
    view.setUint32(offset + 41, hop.feeBaseMsat);
    view.setUint32(offset + 45, hop.feeProportionalMillionths);
    view.setUint16(offset + 49, hop.cltvExpiryDelta);
  });
  return bytes;
}

function checkUnsigned(name: string, value: number, bits: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new RangeError(`a route hint ${name} of ${value} does not fit in ${bits} bits`);
  }
}

/** A 33-byte compressed secp256k1 point that lies on the curve. */
export function isPublicKey(bytes: Uint8Array): boolean {
  if (bytes.length !== 33) return false;
  try {
    secp256k1.Point.fromBytes(bytes);
    return true;
  } catch {
    return false;
  }
}
