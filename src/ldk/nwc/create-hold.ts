// createHoldInvoice over NWC: make_hold_invoice with our payment hash and min_cltv_expiry_delta (not in
// @getalby/sdk's request type, sent anyway). The arguments are checked here first, a hash the wallet already
// knows is refused (HashReused: two invoices sharing a preimage would pay out twice), and the invoice the
// wallet returns is decoded and checked: our hash, our amount, the wallet's network, and a final CLTV no
// shorter than asked. A wallet that ignores min_cltv_expiry_delta would issue a hold that expires before the
// escrow's windows end; such an invoice is canceled before anyone sees it, and the call fails CltvInvalid.
import { tryDecodeBolt11 } from '../bolt11/index.ts';
import { checkHoldRequest } from '../check-port-arguments.ts';
import { LightningError } from '../lightning-error.ts';
import type { CreatedHoldInvoice, CreateHoldInvoiceRequest } from '../port.ts';
import { parseTransactionFor } from './lookup-transaction.ts';
import { toHoldInvoice } from './map-transaction.ts';
import { toLightningError } from './map-wallet-error.ts';
import type { NwcContext } from './nwc-context.ts';

/** BOLT 11's default, and the least any node accepts. */
export const MIN_FINAL_CLTV_DELTA = 18;
/** LND and CLN cap a route's total CLTV at 2016 blocks; the wallet's node may refuse less (LDK: 1001). */
export const MAX_FINAL_CLTV_DELTA = 2016;

export async function createHold(
  context: NwcContext,
  request: CreateHoldInvoiceRequest,
): Promise<CreatedHoldInvoice> {
  // The wallet takes the amount as a JSON number: above 2^53 it would be rounded.
  checkHoldRequest(request, {
    minFinalCltvDelta: MIN_FINAL_CLTV_DELTA,
    maxFinalCltvDelta: MAX_FINAL_CLTV_DELTA,
    maxAmountMsat: BigInt(Number.MAX_SAFE_INTEGER),
  });
  const { paymentHash, amountMsat, description, expirySeconds, finalCltvDelta } = request;
  const known = await context.client.request(
    'lookup_invoice',
    { payment_hash: paymentHash },
    parseTransactionFor(paymentHash),
    context.requestTimeoutMs,
  );
  if (known.ok)
    throw new LightningError('HashReused', `the wallet already has an invoice for ${paymentHash}`);
  if (known.error.code !== 'NOT_FOUND') throw toLightningError('lookup_invoice', known.error);

  const reply = await context.client.request(
    'make_hold_invoice',
    {
      amount: Number(amountMsat),
      description,
      expiry: expirySeconds,
      payment_hash: paymentHash,
      min_cltv_expiry_delta: finalCltvDelta,
    },
    parseTransactionFor(paymentHash),
    context.requestTimeoutMs,
  );
  if (!reply.ok) throw toLightningError('make_hold_invoice', reply.error);
  const bolt11 = reply.result.invoice ?? '';
  const problem = invoiceProblem(context, bolt11, request);
  if (problem) {
    // Nobody has seen this invoice yet: cancel it so it can never be paid, then refuse.
    await cancelQuietly(context, paymentHash);
    throw problem;
  }
  const decoded = tryDecodeBolt11(bolt11);
  const hold = toHoldInvoice(reply.result, context.tracker);
  if (hold) context.tracker.observe(hold, false);
  return { bolt11, paymentHash, expiresAt: decoded.ok ? decoded.invoice.expiresAt : reply.result.created_at };
}

function invoiceProblem(
  context: NwcContext,
  bolt11: string,
  request: CreateHoldInvoiceRequest,
): LightningError | null {
  const decoded = tryDecodeBolt11(bolt11);
  if (!decoded.ok) {
    return new LightningError(
      'InvoiceInvalid',
      `the wallet returned an invoice that does not decode: ${decoded.error.message}`,
    );
  }
  const invoice = decoded.invoice;
  if (invoice.paymentHash !== request.paymentHash) {
    return new LightningError('InvoiceInvalid', 'the wallet returned an invoice for another payment hash');
  }
  if (invoice.amountMsat !== request.amountMsat) {
    return new LightningError(
      'InvoiceInvalid',
      `the wallet returned an invoice for ${invoice.amountMsat ?? 'no'} msat instead of ${request.amountMsat}`,
    );
  }
  if (invoice.network !== context.wallet.network) {
    return new LightningError(
      'WrongNetwork',
      `the wallet returned a ${invoice.network} invoice; it said it is on ${context.wallet.network}`,
    );
  }
  if (invoice.minFinalCltvExpiryDelta < request.finalCltvDelta) {
    return new LightningError(
      'CltvInvalid',
      `the wallet issued the hold with a final CLTV of ${invoice.minFinalCltvExpiryDelta} blocks instead of the ` +
        `${request.finalCltvDelta} asked (it ignores min_cltv_expiry_delta): the hold would end before the escrow's windows`,
    );
  }
  return null;
}

async function cancelQuietly(context: NwcContext, paymentHash: string): Promise<void> {
  context.tracker.markCanceledByUs(paymentHash);
  try {
    const reply = await context.client.request(
      'cancel_hold_invoice',
      { payment_hash: paymentHash },
      () => ({}),
      context.requestTimeoutMs,
    );
    if (!reply.ok)
      context.log.error(
        { paymentHash, error: reply.error },
        'could not cancel a hold invoice the wallet issued wrongly',
      );
  } catch (error) {
    context.log.error(
      { paymentHash, err: String(error) },
      'could not cancel a hold invoice the wallet issued wrongly',
    );
  }
}
