// The port's holds and payment outcomes as NIP-47 transactions, the way Alby Hub writes them (state pending /
// accepted / settled / expired / failed, settle_deadline for a held payment) plus, unless turned off, the
// extension fields the NWC adapter reads when present (src/ldk/nwc/nip47.ts EXTENSION_FIELDS).
import { tryDecodeBolt11 } from '../bolt11/index.ts';
import type { HoldInvoice, PaymentResult } from '../port.ts';

export type TransactionJson = Record<string, string | number | null>;

export function holdTransaction(hold: HoldInvoice, extensions: boolean): TransactionJson {
  const transaction: TransactionJson = {
    type: 'incoming',
    state: holdState(hold),
    invoice: hold.bolt11,
    description: hold.description,
    payment_hash: hold.paymentHash,
    amount: Number(hold.amountMsat),
    fees_paid: 0,
    created_at: hold.createdAt,
    expires_at: hold.expiresAt,
  };
  if (hold.claimDeadlineHeight !== null) transaction.settle_deadline = hold.claimDeadlineHeight;
  if (extensions) {
    transaction.amount_received = Number(hold.receivedMsat);
    if (hold.htlcExpiryHeight !== null) transaction.htlc_expiry_height = hold.htlcExpiryHeight;
    if (hold.cancelReason !== null) transaction.cancel_reason = hold.cancelReason;
  }
  return transaction;
}

function holdState(hold: HoldInvoice): string {
  switch (hold.state) {
    case 'OPEN':
      return 'pending';
    case 'ACCEPTED':
      return 'accepted';
    case 'SETTLED':
      return 'settled';
    case 'CANCELED':
      // Alby Hub's words: an invoice never paid in time expired; a canceled hold failed.
      return hold.cancelReason === 'expired' ? 'expired' : 'failed';
  }
}

export interface SentPayment {
  bolt11: string;
  createdAt: number;
}

export function paymentTransaction(
  result: PaymentResult,
  sent: SentPayment | undefined,
  extensions: boolean,
): TransactionJson {
  const decoded = sent ? tryDecodeBolt11(sent.bolt11) : null;
  const invoiceAmount = decoded?.ok ? Number(decoded.invoice.amountMsat ?? 0n) : 0;
  const transaction: TransactionJson = {
    type: 'outgoing',
    state: result.status === 'succeeded' ? 'settled' : result.status,
    invoice: sent?.bolt11 ?? '',
    payment_hash: result.paymentHash,
    amount: result.status === 'succeeded' ? Number(result.amountMsat) : invoiceAmount,
    fees_paid: result.status === 'succeeded' ? Number(result.feeMsat) : 0,
    created_at: sent?.createdAt ?? Math.floor(Date.now() / 1000),
  };
  if (result.status === 'succeeded') transaction.preimage = result.preimage;
  if (result.status === 'failed' && extensions) transaction.failure_reason = result.reason;
  return transaction;
}
