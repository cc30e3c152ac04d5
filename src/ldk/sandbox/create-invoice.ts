// Issuing invoices. A hold invoice is LDK's invoice for a payment hash we supply (LDK never learns the
// preimage, so it can only hold the payment until settle() brings it); a regular invoice lets LDK derive the
// preimage and claim at once (the payee side of a payout).
import * as ldk from 'lightningdevkit';
import { checkHoldRequest, checkInvoiceArguments } from '../check-port-arguments.ts';
import { LightningError } from '../lightning-error.ts';
import type { CreatedHoldInvoice, CreateHoldInvoiceRequest } from '../port.ts';
import type { BackendContext } from './backend-context.ts';
import { fromHex, toHex } from './bytes.ts';
import type { InvoiceRecord } from './invoice-records.ts';

/** LDK refuses a smaller final CLTV delta for its invoices (MIN_FINAL_CLTV_EXPIRY_DELTA). */
export const MIN_FINAL_CLTV_DELTA = 24;
/** LDK payers cannot route a final CLTV of 1005 or more, and LDK adds 3 to what the invoice asks. */
export const MAX_FINAL_CLTV_DELTA = 1001;

export function createHoldInvoice(
  context: BackendContext,
  request: CreateHoldInvoiceRequest,
): CreatedHoldInvoice {
  const { paymentHash, amountMsat, description, expirySeconds, finalCltvDelta } = request;
  checkHoldRequest(request, {
    minFinalCltvDelta: MIN_FINAL_CLTV_DELTA,
    maxFinalCltvDelta: MAX_FINAL_CLTV_DELTA,
  });
  // A hold the node cannot receive would only fail at the payer, after the agent has published it.
  const receivable = context.node.manager
    .list_usable_channels()
    .reduce((sum, channel) => sum + channel.get_inbound_capacity_msat(), 0n);
  if (amountMsat > receivable) {
    throw new LightningError(
      'AmountInvalid',
      `amount ${amountMsat} msat is more than the ${receivable} msat this node can receive now`,
    );
  }
  // LDK would happily issue a second invoice for the same hash; two payments could then share one preimage.
  if (context.invoices.has(paymentHash)) {
    throw new LightningError('HashReused', `an invoice for ${paymentHash} was created before`);
  }
  const created = ldk.UtilMethods.constructor_create_invoice_from_channelmanager_with_payment_hash(
    context.node.manager,
    ldk.Option_u64Z.constructor_some(amountMsat),
    description,
    expirySeconds,
    fromHex(paymentHash),
    ldk.Option_u16Z.constructor_some(finalCltvDelta),
  );
  const invoice = unwrapInvoice(created);
  const record = newRecord('hold', invoice, request);
  // Durable before returned: once the caller has the bolt11 anyone may pay it, and we must know the hash.
  context.invoices.save(record);
  context.changed();
  return { bolt11: record.bolt11, paymentHash, expiresAt: record.expiresAt };
}

export interface CreateInvoiceRequest {
  amountMsat: bigint;
  description: string;
  expirySeconds: number;
}

/**
 * A plain invoice that is claimed as soon as it is paid. Unlike a hold, its amount is not checked against
 * what the node can receive: a payee's wallet does not refuse to issue one, and tests need such invoices.
 */
export function createRegularInvoice(
  context: BackendContext,
  request: CreateInvoiceRequest,
): CreatedHoldInvoice {
  checkInvoiceArguments(request);
  const created = ldk.UtilMethods.constructor_create_invoice_from_channelmanager(
    context.node.manager,
    ldk.Option_u64Z.constructor_some(request.amountMsat),
    request.description,
    request.expirySeconds,
    ldk.Option_u16Z.constructor_none(),
  );
  const invoice = unwrapInvoice(created);
  const record = newRecord('regular', invoice, { ...request, paymentHash: toHex(invoice.payment_hash()) });
  context.invoices.save(record);
  context.changed();
  return { bolt11: record.bolt11, paymentHash: record.paymentHash, expiresAt: record.expiresAt };
}

function unwrapInvoice(created: ldk.Result_Bolt11InvoiceSignOrCreationErrorZ): ldk.Bolt11Invoice {
  if (created instanceof ldk.Result_Bolt11InvoiceSignOrCreationErrorZ_OK) return created.res;
  const error = (created as ldk.Result_Bolt11InvoiceSignOrCreationErrorZ_Err).err;
  if (error instanceof ldk.SignOrCreationError_CreationError) {
    const name = String(ldk.CreationError[error.creation_error]).replace('LDKCreationError_', '');
    if (error.creation_error === ldk.CreationError.LDKCreationError_MinFinalCltvExpiryDeltaTooShort) {
      throw new LightningError('CltvInvalid', `LDK refused the invoice: ${name}`);
    }
    throw new LightningError('InvalidArgument', `LDK refused the invoice: ${name}`);
  }
  throw new LightningError('InvalidArgument', 'LDK could not sign the invoice');
}

function newRecord(
  kind: InvoiceRecord['kind'],
  invoice: ldk.Bolt11Invoice,
  request: { paymentHash: string; amountMsat: bigint; description: string; expirySeconds: number },
): InvoiceRecord {
  // LDK stamps invoices with the newest block time it has seen (it has no clock in WASM): the expiry counts
  // from that stamp, which is what every payer will compute too.
  const timestamp = Number(invoice.duration_since_epoch());
  return {
    kind,
    paymentHash: request.paymentHash,
    state: 'OPEN',
    amountMsat: request.amountMsat,
    receivedMsat: 0n,
    htlcExpiryHeight: null,
    claimDeadlineHeight: null,
    bolt11: invoice.to_str(),
    description: request.description,
    createdAt: Math.floor(Date.now() / 1000),
    expiresAt: timestamp + Number(invoice.expiry_time()),
    cancelReason: null,
    preimage: null,
    updatedAt: 0,
  };
}
