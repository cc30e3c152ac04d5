// ECDSA for BOLT11 invoice signatures on the Node side: libsecp256k1 in WebAssembly (tiny-secp256k1), the same
// library as the Schnorr checks (schnorr.ts). Decoding an invoice recovers its payee's key from the signature; in
// pure JS (@noble/curves, the default of src/ldk/bolt11, which the browser pages run) that took about 2 ms of the
// agent's thread per invoice, twice per payout (at submit and before paying), on the path from an approval to the
// worker's payment. The command line and the agent install this one (useInvoiceCurve).
//
// Same answers as the default (test/ldk/bolt11/curves.test.ts): recovery accepts a high-S signature, as
// libsecp256k1's recovery does; a check against a given key requires low-S. Never throws: a signature or key
// that cannot be used gives null or false.
import * as secp from 'tiny-secp256k1';

/** The compressed (33-byte) key that signed the 32-byte `hash`, or null when none can be recovered. */
export function recoverCompressed(
  compact: Uint8Array,
  recoveryId: number,
  hash: Uint8Array,
): Uint8Array | null {
  if (compact.length !== 64 || hash.length !== 32 || !Number.isInteger(recoveryId)) return null;
  if (recoveryId < 0 || recoveryId > 3) return null;
  try {
    return secp.recover(hash, compact, recoveryId as 0 | 1 | 2 | 3, true) ?? null;
  } catch {
    return null;
  }
}

/** True when `compact` is a low-S ECDSA signature of the 32-byte `hash` by the compressed key `publicKey`. */
export function verifyLowS(compact: Uint8Array, hash: Uint8Array, publicKey: Uint8Array): boolean {
  if (compact.length !== 64 || hash.length !== 32 || publicKey.length !== 33) return false;
  try {
    // strict: a high-S signature does not verify (libsecp256k1's own rule).
    return secp.verify(hash, publicKey, compact, true);
  } catch {
    return false;
  }
}

/** Both, in the shape src/ldk/bolt11/signature.ts takes (useInvoiceCurve). */
export const libsecp256k1InvoiceCurve = { recoverCompressed, verifyLowS } as const;
