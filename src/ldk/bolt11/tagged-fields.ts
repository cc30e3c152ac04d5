// The tagged fields of an invoice's data part (BOLT11 "Tagged Fields"): type (5 bits), data_length
// (10 bits), data. Decoding keeps every field in order, including the ones a reader must skip, so that
// an invoice re-encodes to exactly the characters it came from.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Bolt11Error } from './errors.ts';
import { type FallbackAddress, fallbackAddress, isKnownFallbackVersion } from './fallback-address.ts';
import { featureBitsToWords, wordsToFeatureBits } from './features.ts';
import type { NetworkParameters } from './networks.ts';
import { decodeRouteHint, encodeRouteHint, isPublicKey, type RouteHintHop } from './route-hints.ts';
import { bytesToWords, integerToWords, MAX_INTEGER_WORDS, wordsToBytes, wordsToInteger } from './words.ts';

export const FIELD_TAGS = {
  payment_hash: 1,
  route_hint: 3,
  features: 5,
  expiry: 6,
  fallback_address: 9,
  description: 13,
  payment_secret: 16,
  payee: 19,
  description_hash: 23,
  min_final_cltv_expiry_delta: 24,
  metadata: 27,
} as const;

export type TaggedField =
  | { readonly kind: 'payment_hash'; readonly paymentHash: string }
  | { readonly kind: 'payment_secret'; readonly paymentSecret: string }
  | { readonly kind: 'description'; readonly description: string }
  | { readonly kind: 'description_hash'; readonly descriptionHash: string }
  | { readonly kind: 'payee'; readonly nodeId: string }
  | { readonly kind: 'expiry'; readonly seconds: number }
  | { readonly kind: 'min_final_cltv_expiry_delta'; readonly blocks: number }
  | { readonly kind: 'fallback_address'; readonly fallback: FallbackAddress }
  | { readonly kind: 'route_hint'; readonly hops: readonly RouteHintHop[] }
  | { readonly kind: 'features'; readonly bits: readonly number[] }
  | { readonly kind: 'metadata'; readonly metadata: string }
  /** A field a reader skips: an unknown type, an `f` of unknown version, or `p`/`h`/`s`/`n` of the wrong length. */
  | { readonly kind: 'skipped'; readonly tag: number; readonly words: readonly number[] };

export type TaggedFieldKind = TaggedField['kind'];

/** The largest data_length the 10-bit length can say: 1023 words (639 bytes). */
export const MAX_FIELD_WORDS = 1023;

const FIXED_WORDS: Partial<Record<number, number>> = {
  [FIELD_TAGS.payment_hash]: 52,
  [FIELD_TAGS.payment_secret]: 52,
  [FIELD_TAGS.description_hash]: 52,
  [FIELD_TAGS.payee]: 53,
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export function decodeTaggedField(
  tag: number,
  words: readonly number[],
  network: NetworkParameters,
): TaggedField {
  const fixed = FIXED_WORDS[tag];
  // BOLT11 since 2025 says to fail on a wrong-length p/h/s/n, but its own test vector "fields which must be
  // ignored" still expects them skipped, and LDK (our payer) skips them too. Skipping cannot change what we
  // check: only a field of the right length is ever read, and the counts below apply to those.
  if (fixed !== undefined && words.length !== fixed) return { kind: 'skipped', tag, words };
  switch (tag) {
    case FIELD_TAGS.payment_hash:
      return { kind: 'payment_hash', paymentHash: bytesToHex(wordsToBytes(words, 'payment hash (p)')) };
    case FIELD_TAGS.payment_secret:
      return { kind: 'payment_secret', paymentSecret: bytesToHex(wordsToBytes(words, 'payment secret (s)')) };
    case FIELD_TAGS.description_hash:
      return {
        kind: 'description_hash',
        descriptionHash: bytesToHex(wordsToBytes(words, 'description hash (h)')),
      };
    case FIELD_TAGS.payee: {
      const nodeId = wordsToBytes(words, 'payee (n)');
      if (!isPublicKey(nodeId))
        throw new Bolt11Error('InvalidField', 'the payee (n) field is not a valid public key');
      return { kind: 'payee', nodeId: bytesToHex(nodeId) };
    }
    case FIELD_TAGS.description: {
      const bytes = wordsToBytes(words, 'description (d)');
      try {
        return { kind: 'description', description: utf8.decode(bytes) };
      } catch {
        throw new Bolt11Error('InvalidField', 'the description (d) is not valid UTF-8');
      }
    }
    case FIELD_TAGS.expiry:
      return { kind: 'expiry', seconds: decodeInteger(words, 'expiry (x)') };
    case FIELD_TAGS.min_final_cltv_expiry_delta:
      return {
        kind: 'min_final_cltv_expiry_delta',
        blocks: decodeInteger(words, 'min_final_cltv_expiry_delta (c)'),
      };
    case FIELD_TAGS.features:
      if (words[0] === 0)
        throw new Bolt11Error('NonMinimalField', 'the features (9) field starts with a zero word');
      return { kind: 'features', bits: wordsToFeatureBits(words) };
    case FIELD_TAGS.metadata:
      return { kind: 'metadata', metadata: bytesToHex(wordsToBytes(words, 'metadata (m)')) };
    case FIELD_TAGS.route_hint:
      return { kind: 'route_hint', hops: decodeRouteHint(wordsToBytes(words, 'route hint (r)')) };
    case FIELD_TAGS.fallback_address: {
      const version = words[0];
      if (version === undefined)
        throw new Bolt11Error('InvalidField', 'a fallback address (f) field is empty');
      if (!isKnownFallbackVersion(version)) return { kind: 'skipped', tag, words };
      const program = wordsToBytes(words.slice(1), 'fallback address (f)');
      return { kind: 'fallback_address', fallback: fallbackAddress(version, program, network) };
    }
    default:
      return { kind: 'skipped', tag, words };
  }
}

/** x, c: a big-endian integer, minimally encoded (BOLT11: "SHOULD treat the invoice as invalid" otherwise). */
function decodeInteger(words: readonly number[], field: string): number {
  if (words[0] === 0) throw new Bolt11Error('NonMinimalField', `the ${field} field starts with a zero word`);
  if (words.length > MAX_INTEGER_WORDS)
    throw new Bolt11Error('InvalidField', `the ${field} field is too large`);
  return wordsToInteger(words);
}

export function encodeTaggedField(field: TaggedField): { tag: number; words: number[] } {
  switch (field.kind) {
    case 'payment_hash':
      return { tag: FIELD_TAGS.payment_hash, words: hexToWords(field.paymentHash, 32) };
    case 'payment_secret':
      return { tag: FIELD_TAGS.payment_secret, words: hexToWords(field.paymentSecret, 32) };
    case 'description_hash':
      return { tag: FIELD_TAGS.description_hash, words: hexToWords(field.descriptionHash, 32) };
    case 'payee':
      return { tag: FIELD_TAGS.payee, words: hexToWords(field.nodeId, 33) };
    case 'description':
      return { tag: FIELD_TAGS.description, words: bytesToWords(utf8Encoder.encode(field.description)) };
    case 'expiry':
      return { tag: FIELD_TAGS.expiry, words: integerToWords(field.seconds) };
    case 'min_final_cltv_expiry_delta':
      return { tag: FIELD_TAGS.min_final_cltv_expiry_delta, words: integerToWords(field.blocks) };
    case 'features':
      return { tag: FIELD_TAGS.features, words: featureBitsToWords(field.bits) };
    case 'metadata':
      return { tag: FIELD_TAGS.metadata, words: bytesToWords(hexToBytes(field.metadata)) };
    case 'route_hint':
      return { tag: FIELD_TAGS.route_hint, words: bytesToWords(encodeRouteHint(field.hops)) };
    case 'fallback_address':
      return {
        tag: FIELD_TAGS.fallback_address,
        words: [field.fallback.version, ...bytesToWords(hexToBytes(field.fallback.program))],
      };
    case 'skipped':
      return { tag: field.tag, words: [...field.words] };
    default:
      return field satisfies never;
  }
}

function hexToWords(hex: string, length: number): number[] {
  const bytes = hexToBytes(hex);
  if (bytes.length !== length) throw new RangeError(`expected ${length} bytes of hex, got ${bytes.length}`);
  return bytesToWords(bytes);
}
