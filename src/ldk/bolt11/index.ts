// BOLT11 invoices: decode and validate (payout invoices, hold invoices read back), and encode for tests
// and fakes. Built on @scure/base (bech32), @noble/curves (secp256k1) and @noble/hashes (sha256).
export { formatAmount, MAX_AMOUNT_MSAT, parseAmount } from './amount.ts';
export {
  DEFAULT_EXPIRY_SECONDS,
  DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA,
  type DecodedInvoice,
  type DecodeResult,
  decodeBolt11,
  MAX_INVOICE_LENGTH,
  tryDecodeBolt11,
} from './decode-invoice.ts';
export { encodeBolt11, type InvoiceSigner, type InvoiceToEncode } from './encode-invoice.ts';
export { BOLT11_ERROR_CODES, Bolt11Error, type Bolt11ErrorCode } from './errors.ts';
export type { FallbackAddress } from './fallback-address.ts';
export { KNOWN_INVOICE_FEATURES } from './features.ts';
export { type CurrencyPrefix, NETWORKS, type NetworkName } from './networks.ts';
export type { RouteHintHop } from './route-hints.ts';
export type { InvoiceSignature } from './signature.ts';
export { FIELD_TAGS, type TaggedField, type TaggedFieldKind } from './tagged-fields.ts';
export {
  checkPayoutInvoice,
  DEFAULT_PAYOUT_RULES,
  PAYOUT_REFUSAL_CODES,
  type PayoutCheck,
  type PayoutInvoiceRules,
  type PayoutRefusal,
  type PayoutRefusalCode,
  validatePayoutInvoice,
} from './validate-payout-invoice.ts';
