// Intake step 3: the id is recomputed from the event's fields and the signature checked against it, for
// every event, whatever relay it came from (NDK samples signatures per relay; nostr-tools' pool records ids
// before verifying). Only after this may anything be recorded about the event, including "seen".
//
// The id is always nostr-tools' getEventHash (sha256 of the NIP-01 serialisation). The Schnorr check is a
// parameter: pure JS (@noble/curves, what nostr-tools' pure verifyEvent runs) by default, which runs in the
// browser pages; the agent passes the WebAssembly libsecp256k1 of src/crypto/schnorr.ts (Node only), and the
// command line installs it as the default for every check it makes (useSchnorrVerifier: verify, rebuilds, heads).
import { schnorr } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { getEventHash } from 'nostr-tools/pure';
import { LIMITS } from './constants.ts';
import { type IntakeFailure, intakeFailure } from './reasons.ts';
import type { NostrEvent } from './schemas.ts';

/** A BIP-340 check of `sigHex` over the 32-byte id `idHex` by the x-only key `pubkeyHex`; false on any bad input. */
export type SchnorrVerifier = (sigHex: string, idHex: string, pubkeyHex: string) => boolean;

const LOWER_HEX = /^[0-9a-f]*$/;
const hexOf = (value: string, length: number) =>
  typeof value === 'string' && value.length === length && LOWER_HEX.test(value);

/**
 * The portable default: @noble/curves' schnorr, as nostr-tools' pure verifyEvent uses it. One spelling only, as
 * NIP-01 writes it (lowercase hex): nostr-tools would also take an upper-case signature or pubkey.
 */
export const pureSchnorrVerifier: SchnorrVerifier = (sigHex, idHex, pubkeyHex) => {
  if (!hexOf(sigHex, 128) || !hexOf(idHex, 64) || !hexOf(pubkeyHex, 64)) return false;
  try {
    return schnorr.verify(hexToBytes(sigHex), hexToBytes(idHex), hexToBytes(pubkeyHex));
  } catch {
    return false;
  }
};

let defaultVerifier: SchnorrVerifier = pureSchnorrVerifier;

/**
 * Makes `verifier` the default of every verifyEvent call that does not pass its own (the Node entry points install
 * src/crypto/schnorr.ts's; the browser pages keep the pure one). Returns the one it replaced.
 */
export function useSchnorrVerifier(verifier: SchnorrVerifier): SchnorrVerifier {
  const previous = defaultVerifier;
  defaultVerifier = verifier;
  return previous;
}

export function verifyEvent(
  event: NostrEvent,
  verifySignature: SchnorrVerifier = defaultVerifier,
): { ok: true } | IntakeFailure {
  // The fields alone, read once: nothing cached on the object (such as nostr-tools' "verified" flag) is used, and
  // an object changed since cannot pass on an earlier verdict.
  const { id, pubkey, created_at, kind, tags, content, sig } = event;
  let hash: string;
  try {
    hash = getEventHash({ pubkey, created_at, kind, tags, content });
  } catch {
    return intakeFailure('BadId', 'event id is not the hash of its content');
  }
  if (hash !== id) return intakeFailure('BadId', 'event id is not the hash of its content');
  if (!verifySignature(sig, id, pubkey))
    return intakeFailure('BadSignature', 'signature does not match the pubkey');
  return { ok: true };
}

/**
 * Intake step 7: refuse events dated too far in the future (a post-dated action could otherwise be held
 * back and replayed later as if new). Old events are fine: catch-up after downtime reads them. Deadlines are
 * judged by the agent's clock when it handles the event, never by created_at, which the author chooses.
 */
export function checkFreshness(
  event: Pick<NostrEvent, 'created_at'>,
  now: number,
  skewSeconds: number = LIMITS.futureSkewSeconds,
): { ok: true } | IntakeFailure {
  if (event.created_at <= now + skewSeconds) return { ok: true };
  return intakeFailure('FutureTimestamp', `created_at is more than ${skewSeconds} s in the future`);
}
