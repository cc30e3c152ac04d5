// decodeBolt11: a BOLT11 string to a DecodedInvoice, or a Bolt11Error with a stable code.
// Order: the string (length, case, alphabet, checksum) -> the human-readable part (network, amount) -> the
// data part's structure (timestamp, fields, signature) -> who signed it -> what the fields mean. The
// signature is checked before the field rules so that a forged invoice is reported as forged.
import { bech32 } from '@scure/base';
import { parseAmount } from './amount.ts';
import { Bolt11Error } from './errors.ts';
import type { FallbackAddress } from './fallback-address.ts';
import { unknownRequiredFeatures } from './features.ts';
import {
  type CurrencyPrefix,
  isCurrencyPrefix,
  NETWORKS,
  type NetworkName,
  type NetworkParameters,
} from './networks.ts';
import type { RouteHintHop } from './route-hints.ts';
import {
  type InvoiceSignature,
  parseSignature,
  payeeNodeId,
  SIGNATURE_WORDS,
  signingHash,
} from './signature.ts';
import { decodeTaggedField, type TaggedField, type TaggedFieldKind } from './tagged-fields.ts';
import { wordsToBytes, wordsToInteger } from './words.ts';

export interface DecodedInvoice {
  readonly currencyPrefix: CurrencyPrefix;
  readonly network: NetworkName;
  /** null: the invoice names no amount (the payer chooses). */
  readonly amountMsat: bigint | null;
  /** Unix seconds. */
  readonly timestamp: number;
  /** `x`, 3600 when absent. */
  readonly expirySeconds: number;
  /** timestamp + expirySeconds. */
  readonly expiresAt: number;
  /** Hex, 32 bytes. */
  readonly paymentHash: string;
  /** Hex, 32 bytes. */
  readonly paymentSecret: string;
  /** Exactly one of description and descriptionHash is set. */
  readonly description: string | null;
  readonly descriptionHash: string | null;
  /** Compressed public key, hex. */
  readonly payeeNodeId: string;
  /** `n-field`: the invoice named its payee and the signature verified; `recovered`: taken from the signature. */
  readonly payeeNodeIdSource: 'n-field' | 'recovered';
  /** `c`, 18 when absent. */
  readonly minFinalCltvExpiryDelta: number;
  readonly fallbackAddresses: readonly FallbackAddress[];
  /** One route per `r` field, in order of preference. */
  readonly routeHints: readonly (readonly RouteHintHop[])[];
  /** Feature bits that are set, ascending. */
  readonly features: readonly number[];
  /** `m`, hex. */
  readonly metadata: string | null;
  readonly signature: InvoiceSignature;
  /** Every tagged field in order, skipped ones included: what encodeBolt11 needs to write it again. */
  readonly fields: readonly TaggedField[];
}

/** LND's limit (zpay32 maxInvoiceLength): the most a single QR code holds. BOLT11 itself sets none. */
export const MAX_INVOICE_LENGTH = 7089;
export const DEFAULT_EXPIRY_SECONDS = 3600;
export const DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA = 18;
const TIMESTAMP_WORDS = 7;
const BECH32_ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

const FIELD_LABELS: Record<TaggedFieldKind, string> = {
  payment_hash: 'payment hash (p)',
  payment_secret: 'payment secret (s)',
  description: 'description (d)',
  description_hash: 'description hash (h)',
  payee: 'payee (n)',
  expiry: 'expiry (x)',
  min_final_cltv_expiry_delta: 'min_final_cltv_expiry_delta (c)',
  fallback_address: 'fallback address (f)',
  route_hint: 'route hint (r)',
  features: 'features (9)',
  metadata: 'metadata (m)',
  skipped: 'unknown',
};

export type DecodeResult = { ok: true; invoice: DecodedInvoice } | { ok: false; error: Bolt11Error };

/** Like decodeBolt11, but returns the refusal instead of throwing it. Anything else (a bug) still throws. */
export function tryDecodeBolt11(text: string): DecodeResult {
  try {
    return { ok: true, invoice: decodeBolt11(text) };
  } catch (error) {
    if (error instanceof Bolt11Error) return { ok: false, error };
    throw error;
  }
}

export function decodeBolt11(text: string): DecodedInvoice {
  const { humanReadablePart, words } = splitBech32(text);
  const { currencyPrefix, amountMsat } = parseHumanReadablePart(humanReadablePart);
  const network = NETWORKS[currencyPrefix];
  if (words.length < TIMESTAMP_WORDS + SIGNATURE_WORDS) {
    throw new Bolt11Error('TooShort', 'the invoice is too short to hold a timestamp and a signature');
  }
  const dataWords = words.slice(0, -SIGNATURE_WORDS);
  const timestamp = wordsToInteger(dataWords.slice(0, TIMESTAMP_WORDS));
  const fields = parseTaggedFields(dataWords.slice(TIMESTAMP_WORDS), network);
  const signature = parseSignature(wordsToBytes(words.slice(-SIGNATURE_WORDS), 'signature'));

  const payeeField = single(fields, 'payee');
  const payee = payeeNodeId(signature, signingHash(humanReadablePart, dataWords), payeeField?.nodeId ?? null);

  const paymentHash = single(fields, 'payment_hash');
  if (!paymentHash) {
    throw new Bolt11Error('MissingPaymentHash', 'the invoice has no payment hash (p) field');
  }
  const paymentSecret = single(fields, 'payment_secret');
  if (!paymentSecret) {
    throw new Bolt11Error('MissingPaymentSecret', 'the invoice has no payment secret (s) field');
  }
  const description = single(fields, 'description');
  const descriptionHash = single(fields, 'description_hash');
  if (description && descriptionHash) {
    throw new Bolt11Error(
      'ConflictingDescription',
      'the invoice has both a description (d) and a description hash (h)',
    );
  }
  if (!description && !descriptionHash) {
    throw new Bolt11Error(
      'MissingDescription',
      'the invoice has neither a description (d) nor a description hash (h)',
    );
  }
  const features = single(fields, 'features')?.bits ?? [];
  const unsupported = unknownRequiredFeatures(features);
  if (unsupported.length > 0) {
    throw new Bolt11Error(
      'UnknownRequiredFeature',
      `the invoice requires feature bit${unsupported.length > 1 ? 's' : ''} ${unsupported.join(', ')}, which we do not support`,
    );
  }
  const expirySeconds = single(fields, 'expiry')?.seconds ?? DEFAULT_EXPIRY_SECONDS;
  return {
    currencyPrefix,
    network: network.name,
    amountMsat,
    timestamp,
    expirySeconds,
    expiresAt: timestamp + expirySeconds,
    paymentHash: paymentHash.paymentHash,
    paymentSecret: paymentSecret.paymentSecret,
    description: description?.description ?? null,
    descriptionHash: descriptionHash?.descriptionHash ?? null,
    payeeNodeId: payee,
    payeeNodeIdSource: payeeField ? 'n-field' : 'recovered',
    minFinalCltvExpiryDelta:
      single(fields, 'min_final_cltv_expiry_delta')?.blocks ?? DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA,
    fallbackAddresses: fields.flatMap((field) => (field.kind === 'fallback_address' ? [field.fallback] : [])),
    routeHints: fields.flatMap((field) => (field.kind === 'route_hint' ? [field.hops] : [])),
    features,
    metadata: single(fields, 'metadata')?.metadata ?? null,
    signature,
    fields,
  };
}

/** The bech32 envelope, checked before the library sees it so that each failure gets its own code. */
function splitBech32(text: string): { humanReadablePart: string; words: number[] } {
  if (typeof text !== 'string') throw new Bolt11Error('NotAString', 'the invoice is not a string');
  if (text.length > MAX_INVOICE_LENGTH) {
    throw new Bolt11Error(
      'TooLong',
      `the invoice has ${text.length} characters, more than ${MAX_INVOICE_LENGTH}`,
    );
  }
  if (!/^[\x21-\x7e]*$/.test(text)) {
    throw new Bolt11Error(
      'Malformed',
      'the invoice contains spaces or characters that are not printable ASCII',
    );
  }
  const lower = text.toLowerCase();
  if (text !== lower && text !== text.toUpperCase()) {
    throw new Bolt11Error('MixedCase', 'the invoice mixes upper and lower case');
  }
  const separator = lower.lastIndexOf('1');
  if (separator < 1)
    throw new Bolt11Error('Malformed', 'the invoice has no "1" separating its prefix from its data');
  const data = lower.slice(separator + 1);
  if (data.length < 6) throw new Bolt11Error('TooShort', 'the invoice is too short to hold a checksum');
  for (const character of data) {
    if (!BECH32_ALPHABET.includes(character)) {
      throw new Bolt11Error(
        'Malformed',
        `the invoice's data contains "${character}", which is not a bech32 character`,
      );
    }
  }
  try {
    const { prefix, words } = bech32.decode(lower, false);
    return { humanReadablePart: prefix, words };
  } catch {
    throw new Bolt11Error(
      'BadChecksum',
      'the invoice checksum is wrong (a character is missing, extra or mistyped)',
    );
  }
}

function parseHumanReadablePart(humanReadablePart: string): {
  currencyPrefix: CurrencyPrefix;
  amountMsat: bigint | null;
} {
  if (!humanReadablePart.startsWith('ln')) {
    throw new Bolt11Error(
      'NotAnInvoice',
      'the text does not start with "ln", so it is not a Lightning invoice',
    );
  }
  const rest = humanReadablePart.slice(2);
  // The amount starts with a digit, so the currency is every letter before the first one.
  const currency = /^[a-z]*/.exec(rest)![0];
  if (!isCurrencyPrefix(currency)) {
    throw new Bolt11Error(
      'UnknownNetwork',
      `"ln${currency.slice(0, 16)}" is not a known network prefix (lnbc, lntb, lntbs, lnbcrt, lnsb)`,
    );
  }
  return { currencyPrefix: currency, amountMsat: parseAmount(rest.slice(currency.length)) };
}

function parseTaggedFields(words: readonly number[], network: NetworkParameters): TaggedField[] {
  const fields: TaggedField[] = [];
  let index = 0;
  while (index < words.length) {
    if (index + 3 > words.length)
      throw new Bolt11Error('TruncatedField', 'the last tagged field is cut short');
    const tag = words[index]!;
    const length = words[index + 1]! * 32 + words[index + 2]!;
    const start = index + 3;
    if (start + length > words.length)
      throw new Bolt11Error('TruncatedField', 'a tagged field runs into the signature');
    fields.push(decodeTaggedField(tag, words.slice(start, start + length), network));
    index = start + length;
  }
  return fields;
}

/** The one field of a kind; a writer "MUST include exactly one" p, s, d or h and at most one of the others. */
function single<K extends TaggedFieldKind>(
  fields: readonly TaggedField[],
  kind: K,
): Extract<TaggedField, { kind: K }> | undefined {
  const found = fields.filter((field): field is Extract<TaggedField, { kind: K }> => field.kind === kind);
  if (found.length > 1) {
    throw new Bolt11Error(
      'DuplicateField',
      `the invoice has ${found.length} ${FIELD_LABELS[kind]} fields, at most one is allowed`,
    );
  }
  return found[0];
}
