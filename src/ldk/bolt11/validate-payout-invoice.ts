// Money-safety rule 5 (ARCHITECTURE §3): a worker's payout invoice is checked before the agent pays it.
// Every refusal has a stable code and a reason with a NIP-01 prefix, safe to send back to the worker.
// Routing-fee caps and Lightning-address lookups are the payer's business, not the invoice's.
import { type DecodedInvoice, tryDecodeBolt11 } from './decode-invoice.ts';
import type { NetworkName } from './networks.ts';

export interface PayoutInvoiceRules {
  /** Exactly what the worker is owed. */
  readonly expectedAmountMsat: bigint;
  /** Our node's network. */
  readonly network: NetworkName;
  /** The injected clock (ctx.now()), unix seconds. */
  readonly nowSeconds: number;
  /** The invoice must stay payable at least this long, so a payment with retries can finish. Default 600. */
  readonly minRemainingSeconds?: number;
  /** The largest final CLTV delta we lock our funds behind. Default 144 (a day of blocks). */
  readonly maxFinalCltvExpiryDelta?: number;
  /** Our node's id, compressed hex. */
  readonly ownNodeId: string;
  /** The payment hash of the task's hold invoice, hex. */
  readonly escrowPaymentHash: string;
  /** The longest description we accept, in UTF-8 bytes. Default 256. */
  readonly maxDescriptionBytes?: number;
}

export const DEFAULT_PAYOUT_RULES = {
  minRemainingSeconds: 600,
  maxFinalCltvExpiryDelta: 144,
  maxDescriptionBytes: 256,
} as const;

export const PAYOUT_REFUSAL_CODES = [
  'Undecodable',
  'WrongNetwork',
  'AmountMissing',
  'AmountMismatch',
  'Expired',
  'ExpiresTooSoon',
  'FinalCltvTooLarge',
  'PayeeIsOwnNode',
  'PaymentHashIsEscrowHash',
  'DescriptionTooLong',
] as const;
export type PayoutRefusalCode = (typeof PAYOUT_REFUSAL_CODES)[number];

export interface PayoutRefusal {
  ok: false;
  code: PayoutRefusalCode;
  /** `invalid: …`, ready for an OK message or a notice. */
  reason: string;
}
export type PayoutCheck = { ok: true } | PayoutRefusal;

const utf8Encoder = new TextEncoder();

function refuse(code: PayoutRefusalCode, text: string): PayoutRefusal {
  return { ok: false, code, reason: `invalid: payout invoice ${text}` };
}

/** Decodes and validates in one step, for a handler that holds the worker's string. */
export function checkPayoutInvoice(
  text: string,
  rules: PayoutInvoiceRules,
): { ok: true; invoice: DecodedInvoice } | PayoutRefusal {
  const decoded = tryDecodeBolt11(text);
  if (!decoded.ok) return refuse('Undecodable', `is not a valid BOLT11 invoice: ${decoded.error.message}`);
  const check = validatePayoutInvoice(decoded.invoice, rules);
  return check.ok ? { ok: true, invoice: decoded.invoice } : check;
}

export function validatePayoutInvoice(invoice: DecodedInvoice, rules: PayoutInvoiceRules): PayoutCheck {
  const minRemainingSeconds = rules.minRemainingSeconds ?? DEFAULT_PAYOUT_RULES.minRemainingSeconds;
  const maxFinalCltv = rules.maxFinalCltvExpiryDelta ?? DEFAULT_PAYOUT_RULES.maxFinalCltvExpiryDelta;
  const maxDescriptionBytes = rules.maxDescriptionBytes ?? DEFAULT_PAYOUT_RULES.maxDescriptionBytes;

  if (invoice.network !== rules.network) {
    return refuse('WrongNetwork', `is for ${invoice.network}, expected ${rules.network}`);
  }
  // An amount-less invoice lets the payer choose; we pay only an invoice that names exactly what is owed.
  if (invoice.amountMsat === null) {
    return refuse('AmountMissing', `has no amount, it must be for exactly ${rules.expectedAmountMsat} msat`);
  }
  if (invoice.amountMsat !== rules.expectedAmountMsat) {
    return refuse(
      'AmountMismatch',
      `is for ${invoice.amountMsat} msat, expected ${rules.expectedAmountMsat} msat`,
    );
  }
  if (invoice.expiresAt <= rules.nowSeconds) {
    return refuse('Expired', `expired at ${new Date(invoice.expiresAt * 1000).toISOString()}`);
  }
  const remaining = invoice.expiresAt - rules.nowSeconds;
  if (remaining < minRemainingSeconds) {
    return refuse(
      'ExpiresTooSoon',
      `expires in ${remaining} s, it must stay valid for at least ${minRemainingSeconds} s`,
    );
  }
  // The final CLTV is how long our outgoing HTLC can stay locked; a large one pins funds for days.
  if (invoice.minFinalCltvExpiryDelta > maxFinalCltv) {
    return refuse(
      'FinalCltvTooLarge',
      `asks for a final CLTV delta of ${invoice.minFinalCltvExpiryDelta} blocks, at most ${maxFinalCltv} are allowed`,
    );
  }
  // Paying our own node moves no money to the worker, yet would mark the task paid.
  if (invoice.payeeNodeId.toLowerCase() === rules.ownNodeId.toLowerCase()) {
    return refuse('PayeeIsOwnNode', "is payable to this agent's own node");
  }
  // The escrow preimage is published once the hold settles: any node on the route could claim a payment
  // locked to that hash without forwarding it, and our own node already knows the hash as an inbound payment.
  if (invoice.paymentHash.toLowerCase() === rules.escrowPaymentHash.toLowerCase()) {
    return refuse('PaymentHashIsEscrowHash', "uses the escrow's payment hash, whose preimage is public");
  }
  const descriptionBytes = invoice.description === null ? 0 : utf8Encoder.encode(invoice.description).length;
  if (descriptionBytes > maxDescriptionBytes) {
    return refuse(
      'DescriptionTooLong',
      `description is ${descriptionBytes} bytes long, at most ${maxDescriptionBytes} are allowed`,
    );
  }
  return { ok: true };
}
