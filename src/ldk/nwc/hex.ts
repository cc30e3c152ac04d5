// Hex helpers for the NWC adapter: the port's hashes and preimages are 64 lowercase hex characters, and a
// string in any other spelling is refused, never repaired. The checks themselves are the domain's and the
// port's (src/domain/hex.ts, src/ldk/check-port-arguments.ts); the wallet's keys are bytes here.
export { isHex32 } from '../../domain/hex.ts';
export { paymentHashOf } from '../check-port-arguments.ts';

export function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
