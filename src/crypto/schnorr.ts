// BIP-340 Schnorr for Nostr events on the Node side: libsecp256k1 compiled to WebAssembly (tiny-secp256k1, the
// bitcoinjs build), the fastest well-kept implementation measured in bench/bounds.ts (about 8 times nostr-tools'
// pure JS for verifying and 10 times for signing, on one core). Used by the agent's intake, its signing
// (src/engine/sign.ts) and the NIP-47 client (src/ldk/nwc).
//
// The event id is nostr-tools' getEventHash (sha256 of the NIP-01 serialisation), the same function the portable
// verifier in src/protocol/verify-event.ts uses: only the curve arithmetic differs. Browser code (src/protocol,
// src/web, src/board) never imports this module (.dependency-cruiser.cjs): it keeps the pure-JS default.
//
// Every function here takes hex as it appears on the wire and never throws on bad input: a malformed key or
// signature is a signature that does not verify.
import { randomBytes } from 'node:crypto';
import { type EventTemplate, getEventHash, type VerifiedEvent, verifiedSymbol } from 'nostr-tools/pure';
import * as secp from 'tiny-secp256k1';

const HEX = /^[0-9a-f]*$/;

function bytesOf(hex: string, length: number): Uint8Array | null {
  if (typeof hex !== 'string' || hex.length !== length * 2 || !HEX.test(hex)) return null;
  return Buffer.from(hex, 'hex');
}

/** True when `sigHex` is a valid BIP-340 signature of the 32-byte `idHex` by the x-only key `pubkeyHex`. */
export function verifySchnorr(sigHex: string, idHex: string, pubkeyHex: string): boolean {
  const sig = bytesOf(sigHex, 64);
  const id = bytesOf(idHex, 32);
  const pubkey = bytesOf(pubkeyHex, 32);
  if (sig === null || id === null || pubkey === null) return false;
  try {
    return secp.verifySchnorr(id, pubkey, sig);
  } catch {
    // A pubkey that is not an x coordinate on the curve, and the like.
    return false;
  }
}

/** The id recomputed from the event's fields, then the signature: what nostr-tools' verifyEvent checks. */
export function verifyEvent(event: {
  id: string;
  pubkey: string;
  created_at: number;
  kind: number;
  tags: string[][];
  content: string;
  sig: string;
}): boolean {
  let hash: string;
  try {
    hash = getEventHash(event);
  } catch {
    return false; // not the shape of an event
  }
  return hash === event.id && verifySchnorr(event.sig, hash, event.pubkey);
}

/** The x-only public key of a secret key, in hex. */
export function publicKeyOf(secretKey: Uint8Array): string {
  return Buffer.from(secp.xOnlyPointFromScalar(secretKey)).toString('hex');
}

// The public key of each secret key signed with (the agent's, the NWC client's): deriving it costs a point
// multiplication, as much as the signature. Kept only as long as the key's own array, and checked against a copy
// of its content, so a key changed in place is never signed for with its old public key.
const publicKeys = new WeakMap<Uint8Array, { secret: Uint8Array; pubkey: string }>();

function cachedPublicKey(secretKey: Uint8Array): string {
  const known = publicKeys.get(secretKey);
  if (known && equalBytes(known.secret, secretKey)) return known.pubkey;
  const pubkey = publicKeyOf(secretKey);
  publicKeys.set(secretKey, { secret: Uint8Array.from(secretKey), pubkey });
  return pubkey;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

/**
 * Signs a template as nostr-tools' finalizeEvent does (pubkey, id, sig filled in, on a new object), with fresh
 * auxiliary randomness for every signature (BIP-340's recommendation).
 */
export function finalizeEvent(template: EventTemplate, secretKey: Uint8Array): VerifiedEvent {
  const pubkey = cachedPublicKey(secretKey);
  const unsigned = {
    kind: template.kind,
    tags: template.tags,
    content: template.content,
    created_at: template.created_at,
    pubkey,
  };
  const id = getEventHash(unsigned);
  const sig = secp.signSchnorr(Buffer.from(id, 'hex'), secretKey, randomBytes(32));
  const event = { ...unsigned, id, sig: Buffer.from(sig).toString('hex') } as VerifiedEvent;
  event[verifiedSymbol] = true;
  return event;
}
