// lookup_invoice by payment hash: the wallet's record of an invoice it issued (incoming) or a payment it sent
// (outgoing), or null when it has none (NOT_FOUND). Any other error is thrown typed.
import { LightningError } from '../lightning-error.ts';
import type { HoldInvoice, PaymentResult } from '../port.ts';
import { toHoldInvoice, toPaymentResult } from './map-transaction.ts';
import { toLightningError } from './map-wallet-error.ts';
import { type Nip47Transaction, transactionSchema } from './nip47-schemas.ts';
import type { NwcContext } from './nwc-context.ts';

export function parseTransactionFor(paymentHash: string) {
  return (result: unknown): Nip47Transaction | undefined => {
    const parsed = transactionSchema.safeParse(result);
    // An answer about another hash is not an answer to this request.
    return parsed.success && parsed.data.payment_hash === paymentHash ? parsed.data : undefined;
  };
}

export async function lookupTransaction(
  context: NwcContext,
  paymentHash: string,
  timeoutMs = context.requestTimeoutMs,
): Promise<Nip47Transaction | null> {
  const reply = await context.client.request(
    'lookup_invoice',
    { payment_hash: paymentHash },
    parseTransactionFor(paymentHash),
    timeoutMs,
  );
  if (reply.ok) return reply.result;
  if (reply.error.code === 'NOT_FOUND') return null;
  throw toLightningError('lookup_invoice', reply.error);
}

/** The hold with this hash, null if the wallet has none (or only a payment it sent). Updates the tracker. */
export async function lookupHold(
  context: NwcContext,
  paymentHash: string,
  timeoutMs = context.requestTimeoutMs,
): Promise<HoldInvoice | null> {
  const transaction = await lookupTransaction(context, paymentHash, timeoutMs);
  const hold = transaction ? toHoldInvoice(transaction, context.tracker) : null;
  if (transaction && transaction.type === 'incoming' && hold === null) {
    // Not null: the hold exists, and guessing its state could settle or refund the wrong way.
    throw new LightningError(
      'NodeUnavailable',
      `lookup_invoice: the wallet reports state "${transaction.state}" for ${paymentHash}, which this adapter does not know`,
    );
  }
  if (hold) for (const event of context.tracker.observe(hold, false)) context.emit(event);
  return hold;
}

export async function lookupPayment(context: NwcContext, paymentHash: string): Promise<PaymentResult | null> {
  const transaction = await lookupTransaction(context, paymentHash);
  return transaction?.type === 'outgoing' ? toPaymentResult(transaction) : null;
}
