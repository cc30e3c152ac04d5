// createHoldInvoice: AddHoldInvoice through `lightning`'s createHodlInvoice (id = the payment hash, amount in
// msat, cltv_delta = the final CLTV delta, expires_at). Everything LND would refuse, and what it would accept
// but could not honour (an amount above the inbound liquidity, a final CLTV no payer can route or that LND's
// own auto-cancel would eat), is refused here before any invoice exists. The invoice LND returns is decoded
// and checked against the request: a hold whose invoice says something else must never be handed out.
import { cancelHodlInvoice, createHodlInvoice } from 'lightning';
import { Bolt11Error, decodeBolt11 } from '../bolt11/index.ts';
import { checkHoldRequest } from '../check-port-arguments.ts';
import { LightningError } from '../lightning-error.ts';
import type { CreatedHoldInvoice, CreateHoldInvoiceRequest } from '../port.ts';
import type { LndContext } from './lnd-context.ts';
import { receivableMsat } from './read-node-info.ts';

export async function createHold(
  context: LndContext,
  request: CreateHoldInvoiceRequest,
): Promise<CreatedHoldInvoice> {
  const { minFinalCltvDelta, maxFinalCltvDelta, holdExpiryDelta } = context.settings;
  checkHoldRequest(request, {
    minFinalCltvDelta,
    maxFinalCltvDelta,
    why: `LND's minimum and auto-cancel delta ${holdExpiryDelta}, and the route cap`,
  });
  const receivable = await receivableMsat(context);
  if (request.amountMsat > receivable) {
    throw new LightningError(
      'AmountInvalid',
      `${request.amountMsat} msat is more than the ${receivable} msat this node can receive now`,
    );
  }
  const created = await context.request('create', () =>
    createHodlInvoice({
      lnd: context.lnd,
      id: request.paymentHash,
      mtokens: request.amountMsat.toString(),
      description: request.description,
      cltv_delta: request.finalCltvDelta,
      // `lightning` turns this back into seconds from its own clock; rounding absorbs the few ms between.
      expires_at: new Date(Date.now() + request.expirySeconds * 1000).toISOString(),
    }),
  );
  const problem = invoiceProblem(created.request, request);
  if (problem) {
    // Not handed out: withdraw it so nobody can pay an invoice that says something else.
    await context
      .request('cancel', () => cancelHodlInvoice({ lnd: context.lnd, id: request.paymentHash }))
      .catch(() => {});
    throw new LightningError('InvoiceInvalid', `LND returned an invoice that ${problem}; it was canceled`);
  }
  const decoded = decodeBolt11(created.request);
  return { bolt11: created.request, paymentHash: request.paymentHash, expiresAt: decoded.expiresAt };
}

function invoiceProblem(bolt11: string, request: CreateHoldInvoiceRequest): string | null {
  try {
    const invoice = decodeBolt11(bolt11);
    if (invoice.paymentHash !== request.paymentHash) return 'has another payment hash';
    if (invoice.amountMsat !== request.amountMsat) return `asks ${invoice.amountMsat} msat`;
    if (invoice.minFinalCltvExpiryDelta !== request.finalCltvDelta) {
      return `asks a final CLTV of ${invoice.minFinalCltvExpiryDelta}`;
    }
    return null;
  } catch (error) {
    if (error instanceof Bolt11Error) return `cannot be decoded (${error.message})`;
    throw error;
  }
}
