// NIP-47 transactions to the port's types. lookup_invoice's `state` (pending, accepted, settled, expired,
// failed) becomes OPEN / ACCEPTED / SETTLED / CANCELED; `settle_deadline` (Alby Hub's field, a block height)
// becomes the claim deadline. Where NIP-47 carries nothing (the HTLC expiry, what the HTLCs carry, why a hold
// was canceled, why a payment failed) our sandbox service's extension fields are used when present, and
// otherwise the fallbacks documented in docs/lightning-nwc.md.
import { isHex32 } from '../../domain/hex.ts';
import { tryDecodeBolt11 } from '../bolt11/index.ts';
import type { CancelReason, HoldInvoice, HoldState, PayFailureReason, PaymentResult } from '../port.ts';
import { paymentHashOf } from './hex.ts';
import type { Nip47Transaction } from './nip47-schemas.ts';

export interface MappingContext {
  /** This adapter asked the wallet to cancel the hold: its reason is 'requested'. */
  canceledByUs(paymentHash: string): boolean;
  /** The highest block height the adapter has seen, or null. */
  height: number | null;
}

const CANCEL_REASONS: readonly CancelReason[] = ['requested', 'deadline', 'expired', 'htlc_gone'];
const PAY_FAILURE_REASONS: readonly PayFailureReason[] = [
  'no_route',
  'insufficient_balance',
  'invoice_expired',
  'timeout',
  'rejected',
  'error',
];

/** null: a state this adapter does not know, which it will not guess at. */
export function holdStateOf(transaction: Pick<Nip47Transaction, 'state' | 'settled_at'>): HoldState | null {
  switch (transaction.state) {
    case undefined:
      // Wallets from before NIP-47 had `state` tell a paid invoice by its settled_at.
      return transaction.settled_at ? 'SETTLED' : 'OPEN';
    case 'pending':
      return 'OPEN';
    case 'accepted':
      return 'ACCEPTED';
    case 'settled':
      return 'SETTLED';
    case 'expired':
    case 'failed':
    case 'canceled':
    case 'cancelled':
      return 'CANCELED';
    default:
      return null;
  }
}

/** An incoming transaction as a hold; null when it is outgoing or in a state we do not know. */
export function toHoldInvoice(transaction: Nip47Transaction, context: MappingContext): HoldInvoice | null {
  if (transaction.type !== 'incoming') return null;
  const state = holdStateOf(transaction);
  if (state === null) return null;
  const amountMsat = BigInt(transaction.amount);
  const claimDeadlineHeight = transaction.settle_deadline ?? null;
  const held = state === 'ACCEPTED' || state === 'SETTLED';
  return {
    paymentHash: transaction.payment_hash,
    state,
    amountMsat,
    receivedMsat:
      transaction.amount_received != null ? BigInt(transaction.amount_received) : held ? amountMsat : 0n,
    // Without the extension, the deadline stands in for the expiry: earlier than the truth, so never too late.
    htlcExpiryHeight: transaction.htlc_expiry_height ?? claimDeadlineHeight,
    claimDeadlineHeight,
    bolt11: transaction.invoice ?? '',
    description: transaction.description ?? '',
    createdAt: transaction.created_at,
    expiresAt: transaction.expires_at ?? invoiceExpiry(transaction),
    cancelReason: state === 'CANCELED' ? cancelReasonOf(transaction, context) : null,
  };
}

/** Read from the invoice only when the wallet left expires_at out (decoding checks a signature). */
function invoiceExpiry(transaction: Nip47Transaction): number {
  const decoded = transaction.invoice ? tryDecodeBolt11(transaction.invoice) : null;
  return decoded?.ok ? decoded.invoice.expiresAt : transaction.created_at;
}

function cancelReasonOf(transaction: Nip47Transaction, context: MappingContext): CancelReason {
  const given = CANCEL_REASONS.find((reason) => reason === transaction.cancel_reason);
  if (given) return given;
  if (transaction.state === 'expired') return 'expired';
  if (context.canceledByUs(transaction.payment_hash)) return 'requested';
  const deadline = transaction.settle_deadline;
  if (deadline != null && context.height !== null && context.height >= deadline) return 'deadline';
  return 'requested';
}

/**
 * An outgoing transaction as a payment outcome. Only a settled payment with a preimage that hashes to the
 * payment hash is a success, and only `failed` is a failure: every other state reads as 'pending', since an
 * HTLC may still be in flight.
 */
export function toPaymentResult(transaction: Nip47Transaction): PaymentResult {
  const paymentHash = transaction.payment_hash;
  if (transaction.state === 'failed') {
    const reason =
      PAY_FAILURE_REASONS.find((candidate) => candidate === transaction.failure_reason) ?? 'error';
    return {
      status: 'failed',
      paymentHash,
      reason,
      detail: `the wallet service reports the payment failed (${transaction.failure_reason ?? 'no reason given'})`,
    };
  }
  const settled =
    transaction.state === 'settled' || (transaction.state === undefined && !!transaction.settled_at);
  const preimage = transaction.preimage?.toLowerCase();
  if (settled && preimage && isHex32(preimage) && paymentHashOf(preimage) === paymentHash) {
    return {
      status: 'succeeded',
      paymentHash,
      preimage,
      amountMsat: BigInt(transaction.amount),
      feeMsat: BigInt(transaction.fees_paid ?? 0),
    };
  }
  return { status: 'pending', paymentHash };
}

export function isPayFailureReason(value: string): value is PayFailureReason {
  return (PAY_FAILURE_REASONS as readonly string[]).includes(value);
}
