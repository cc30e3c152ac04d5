// The invoice signature: compact ECDSA over sha256(human-readable part as UTF-8 || data words packed into
// bytes, zero-padded), 64 bytes r||s plus a recovery id (BOLT11 "Data Part").
// Who the payee is: with an `n` field, the signature must verify against it and must be low-S; without
// one, the key is recovered, and high-S is accepted (as libsecp256k1's recovery, used by LDK, LND and CLN,
// accepts it). BOLT11 "Tagged Fields", reader requirements, as of lightning/bolts#1298.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Bolt11Error } from './errors.ts';
import { wordsToPaddedBytes } from './words.ts';

export interface InvoiceSignature {
  /** r || s, 64 bytes, hex. */
  readonly compact: string;
  /** 0..3. */
  readonly recoveryId: number;
  /** s is above half the curve order: acceptable only when the payee key is recovered. */
  readonly highS: boolean;
}

/** 520 bits: 104 words, no padding. */
export const SIGNATURE_WORDS = 104;

const utf8Encoder = new TextEncoder();

export function signingHash(humanReadablePart: string, dataWords: readonly number[]): Uint8Array {
  const prefix = utf8Encoder.encode(humanReadablePart);
  const data = wordsToPaddedBytes(dataWords);
  const message = new Uint8Array(prefix.length + data.length);
  message.set(prefix);
  message.set(data, prefix.length);
  return sha256(message);
}

/**
 * The curve arithmetic the payee check needs: recovering a compressed key (null when none can be), and a low-S
 * verification against a compressed key. Pure JS by default (@noble/curves: it runs in the browser pages too);
 * the Node entry points install libsecp256k1's (src/crypto/ecdsa.ts), with the same answers.
 */
export interface InvoiceCurve {
  recoverCompressed(compact: Uint8Array, recoveryId: number, hash: Uint8Array): Uint8Array | null;
  verifyLowS(compact: Uint8Array, hash: Uint8Array, publicKey: Uint8Array): boolean;
}

export const nobleInvoiceCurve: InvoiceCurve = {
  recoverCompressed(compact, recoveryId, hash) {
    if (compact.length !== 64 || hash.length !== 32) return null;
    try {
      return secp256k1.Signature.fromBytes(compact, 'compact')
        .addRecoveryBit(recoveryId)
        .recoverPublicKey(hash)
        .toBytes(true);
    } catch {
      return null;
    }
  },
  verifyLowS(compact, hash, publicKey) {
    if (compact.length !== 64 || hash.length !== 32 || publicKey.length !== 33) return false;
    try {
      return secp256k1.verify(compact, hash, publicKey, { prehash: false, lowS: true, format: 'compact' });
    } catch {
      return false;
    }
  },
};

let curve: InvoiceCurve = nobleInvoiceCurve;

/** Makes `next` the curve of every invoice decoded from now on; returns the one it replaced. */
export function useInvoiceCurve(next: InvoiceCurve): InvoiceCurve {
  const previous = curve;
  curve = next;
  return previous;
}

export function parseSignature(bytes: Uint8Array): InvoiceSignature {
  const recoveryId = bytes[64]!;
  if (recoveryId > 3)
    throw new Bolt11Error('InvalidRecoveryId', `the signature's recovery id is ${recoveryId}, not 0..3`);
  const compact = bytes.subarray(0, 64);
  let highS = false;
  try {
    highS = secp256k1.Signature.fromBytes(compact, 'compact').hasHighS();
  } catch {
    // r or s is 0 or not below the curve order; reported by payeeNodeId, which cannot use it either.
  }
  return { compact: bytesToHex(compact), recoveryId, highS };
}

/** The payee's node id (compressed, hex): the `n` field once the signature verifies, or the recovered key. */
export function payeeNodeId(
  signature: InvoiceSignature,
  hash: Uint8Array,
  payeeField: string | null,
): string {
  const compact = hexToBytes(signature.compact);
  if (payeeField !== null) {
    if (signature.highS) {
      throw new Bolt11Error(
        'HighSSignature',
        'the signature is not in low-S form, which an invoice with a payee (n) field requires',
      );
    }
    let valid = false;
    try {
      valid = curve.verifyLowS(compact, hash, hexToBytes(payeeField));
    } catch {
      valid = false;
    }
    if (!valid)
      throw new Bolt11Error('SignatureMismatch', 'the signature does not match the payee (n) field');
    return payeeField;
  }
  const recovered = curve.recoverCompressed(compact, signature.recoveryId, hash);
  if (recovered === null)
    throw new Bolt11Error('SignatureNotRecoverable', 'no public key can be recovered from the signature');
  return bytesToHex(recovered);
}

/** Deterministic (RFC 6979) low-S signature, as the BOLT11 test vectors were made. */
export function signHash(hash: Uint8Array, privateKey: Uint8Array): InvoiceSignature {
  const recovered = secp256k1.sign(hash, privateKey, { prehash: false, lowS: true, format: 'recovered' });
  return { compact: bytesToHex(recovered.subarray(1)), recoveryId: recovered[0]!, highS: false };
}
