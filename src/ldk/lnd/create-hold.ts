// createHoldInvoice: AddHoldInvoice through `lightning`'s createHodlInvoice (id = the payment hash, amount in
// msat, cltv_delta = the final CLTV delta, expires_at). Everything LND would refuse, and what it would accept
// but could not honour (an amount above the inbound liquidity, a final CLTV no payer can route or that LND's
// own auto-cancel would eat), is refused here before any invoice exists. The invoice LND returns is decoded
// and checked against the request: a hold whose invoice says something else must never be handed out.
import { cancelHodlInvoice, createHodlInvoice } from 'lightning';
import { Bolt11Error, decodeBolt11 } from '../bolt11/index.ts';
import { LightningError } from '../lightning-error.ts';
import type { CreatedHoldInvoice, CreateHoldInvoiceRequest } from '../port.ts';
import type { LndContext } from './lnd-context.ts';
import { receivableMsat } from './read-node-info.ts';

/** What a BOLT11 description field can carry (1023 five-bit words). */
const MAX_DESCRIPTION_BYTES = 639;
/** LND refuses an expiry above one year. */
const MAX_EXPIRY_SECONDS = 365 * 24 * 3600;

export async function createHold(
  context: LndContext,
  request: CreateHoldInvoiceRequest,
): Promise<CreatedHoldInvoice> {
  checkRequest(context, request);
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

function checkRequest(context: LndContext, request: CreateHoldInvoiceRequest): void {
  const { paymentHash, amountMsat, description, expirySeconds, finalCltvDelta } = request;
  const { minFinalCltvDelta, maxFinalCltvDelta } = context.settings;
  if (typeof paymentHash !== 'string' || !/^[0-9a-f]{64}$/.test(paymentHash)) {
    throw new LightningError('InvalidArgument', 'payment hash must be 64 lowercase hex characters');
  }
  if (typeof amountMsat !== 'bigint' || amountMsat <= 0n) {
    throw new LightningError('AmountInvalid', `amount ${String(amountMsat)} msat must be a positive bigint`);
  }
  if (typeof description !== 'string' || Buffer.byteLength(description) > MAX_DESCRIPTION_BYTES) {
    throw new LightningError(
      'InvalidArgument',
      `description must be text of at most ${MAX_DESCRIPTION_BYTES} bytes`,
    );
  }
  if (!Number.isInteger(expirySeconds) || expirySeconds <= 0 || expirySeconds > MAX_EXPIRY_SECONDS) {
    throw new LightningError(
      'ExpiryInvalid',
      `expiry ${expirySeconds} s must be a whole 1..${MAX_EXPIRY_SECONDS}`,
    );
  }
  if (
    !Number.isInteger(finalCltvDelta) ||
    finalCltvDelta < minFinalCltvDelta ||
    finalCltvDelta > maxFinalCltvDelta
  ) {
    throw new LightningError(
      'CltvInvalid',
      `final CLTV delta ${finalCltvDelta} is outside ${minFinalCltvDelta}..${maxFinalCltvDelta} blocks ` +
        `(LND's minimum and auto-cancel delta ${context.settings.holdExpiryDelta}, and the route cap)`,
    );
  }
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
