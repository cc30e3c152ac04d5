// encodeBolt11: writes an invoice from its fields, in the order given, and signs it (or reuses a signature).
// It writes what it is given without judging it, so tests can build invalid invoices; decodeBolt11 judges.
// A DecodedInvoice is an InvoiceToEncode: decode then encode gives back the same string (lower case).

import { hexToBytes } from '@noble/hashes/utils.js';
import { bech32 } from '@scure/base';
import { formatAmount } from './amount.ts';
import type { CurrencyPrefix } from './networks.ts';
import { type InvoiceSignature, signHash, signingHash } from './signature.ts';
import { encodeTaggedField, MAX_FIELD_WORDS, type TaggedField } from './tagged-fields.ts';
import { bytesToWords, integerToFixedWords } from './words.ts';

export interface InvoiceToEncode {
  readonly currencyPrefix: CurrencyPrefix;
  readonly amountMsat: bigint | null;
  /** Unix seconds, below 2^35. */
  readonly timestamp: number;
  readonly fields: readonly TaggedField[];
}

/** Sign with a private key (deterministic, low-S), or write an existing signature back. */
export type InvoiceSigner = { readonly privateKey: Uint8Array } | { readonly signature: InvoiceSignature };

export function encodeBolt11(invoice: InvoiceToEncode, signer: InvoiceSigner): string {
  const humanReadablePart = `ln${invoice.currencyPrefix}${formatAmount(invoice.amountMsat)}`;
  const dataWords = integerToFixedWords(invoice.timestamp, 7);
  for (const field of invoice.fields) {
    const { tag, words } = encodeTaggedField(field);
    if (words.length > MAX_FIELD_WORDS)
      throw new RangeError(`a ${field.kind} field of ${words.length} words is too long`);
    dataWords.push(tag, words.length >> 5, words.length & 31, ...words);
  }
  const signature =
    'privateKey' in signer
      ? signHash(signingHash(humanReadablePart, dataWords), signer.privateKey)
      : signer.signature;
  const signatureBytes = new Uint8Array(65);
  signatureBytes.set(hexToBytes(signature.compact));
  signatureBytes[64] = signature.recoveryId;
  return bech32.encode(humanReadablePart, [...dataWords, ...bytesToWords(signatureBytes)], false);
}
