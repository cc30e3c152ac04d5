// pay(bolt11): send a payment, at most once per payment hash. The record is written 'pending' before LDK
// is asked to send; a hash that succeeded is never sent again (the earlier success is returned), and a hash
// still in flight is waited on, not re-sent. A timeout with an HTLC in flight answers 'pending', never
// 'failed': that HTLC can still succeed.
import * as ldk from 'lightningdevkit';
import { LightningError } from '../lightning-error.ts';
import type { PayFailureReason, PaymentResult, PayRequest } from '../port.ts';
import type { BackendContext } from './backend-context.ts';
import { toHex } from './bytes.ts';
import { type PaymentRecord, toPaymentResult } from './payment-records.ts';

/** LDK retries other paths itself after a path fails; without gossip there are few to try. */
const PATH_ATTEMPTS = 3;
/** After abandoning, LDK reports PaymentFailed at once if no HTLC is in flight. */
const ABANDON_SETTLE_MS = 250;

export async function payInvoice(context: BackendContext, request: PayRequest): Promise<PaymentResult> {
  const { maxFeeMsat, timeoutSeconds } = request;
  if (typeof maxFeeMsat !== 'bigint' || maxFeeMsat < 0n) {
    throw new LightningError('AmountInvalid', 'maxFeeMsat must be a non-negative bigint');
  }
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new LightningError('InvalidArgument', 'timeoutSeconds must be positive');
  }
  const invoice = decodeInvoice(request.bolt11);
  const paymentHash = toHex(invoice.payment_hash());
  const amount = invoice.amount_milli_satoshis();
  if (!(amount instanceof ldk.Option_u64Z_Some) || amount.some <= 0n) {
    throw new LightningError(
      'InvoiceInvalid',
      'the invoice has no amount; this node pays only invoices with one',
    );
  }
  const amountMsat = amount.some;

  const existing = context.payments.get(paymentHash);
  if (existing?.status === 'succeeded') return toPaymentResult(existing);
  if (existing?.status === 'pending') return awaitOutcome(context, paymentHash, timeoutSeconds);
  if (existing?.status === 'failed' && ldkRemembers(context, paymentHash)) {
    // LDK keeps a finished payment id for a few timer ticks and would refuse it as a duplicate meanwhile.
    return toPaymentResult({
      ...existing,
      detail: `${existing.detail}; too soon to retry, LDK still tracks it`,
    });
  }

  const record: PaymentRecord = {
    paymentHash,
    status: 'pending',
    bolt11: request.bolt11,
    amountMsat,
    maxFeeMsat,
    feeMsat: 0n,
    preimage: null,
    reason: null,
    detail: '',
    attempts: (existing?.attempts ?? 0) + 1,
    createdAt: existing?.createdAt ?? context.nowSeconds(),
    updatedAt: 0,
  };
  const refusal = refuseBeforeSending(context, invoice, amountMsat);
  if (refusal) {
    // Nothing left the node: recorded as failed so paymentStatus() tells the same story.
    const failed = { ...record, status: 'failed' as const, reason: refusal.reason, detail: refusal.detail };
    context.payments.save(failed);
    return toPaymentResult(failed);
  }

  const parameters = ldk.UtilMethods.constructor_payment_parameters_from_invoice(invoice);
  if (
    !(parameters instanceof ldk.Result_C3Tuple_ThirtyTwoBytesRecipientOnionFieldsRouteParametersZNoneZ_OK)
  ) {
    throw new LightningError('InvoiceInvalid', 'LDK cannot build payment parameters for this invoice');
  }
  const routeParameters = parameters.res.get_c();
  routeParameters.set_max_total_routing_fee_msat(ldk.Option_u64Z.constructor_some(maxFeeMsat));

  // Intent first: the pending record is on disk before anything can leave the node.
  context.payments.save(record);
  const sent = context.node.change((manager) =>
    manager.send_payment(
      invoice.payment_hash(),
      parameters.res.get_b(),
      invoice.payment_hash(),
      routeParameters,
      ldk.Retry.constructor_attempts(PATH_ATTEMPTS),
    ),
  );
  if (sent instanceof ldk.Result_NoneRetryableSendFailureZ_Err) {
    const failure = sendFailure(sent.err);
    // DuplicatePayment means LDK still has this payment in flight: wait for it like any pending one.
    if (failure) {
      const current = context.payments.get(paymentHash);
      if (current?.status === 'pending') {
        context.payments.save({
          ...current,
          status: 'failed',
          reason: failure.reason,
          detail: failure.detail,
        });
        context.changed();
      }
    }
  }
  return awaitOutcome(context, paymentHash, timeoutSeconds);
}

export function paymentStatus(context: BackendContext, paymentHash: string): PaymentResult | null {
  const record = context.payments.get(paymentHash);
  return record ? toPaymentResult(record) : null;
}

async function awaitOutcome(
  context: BackendContext,
  paymentHash: string,
  timeoutSeconds: number,
): Promise<PaymentResult> {
  const settled = () => {
    const record = context.payments.get(paymentHash);
    return record && record.status !== 'pending' ? record : undefined;
  };
  const outcome = await context.waitFor(settled, timeoutSeconds * 1000);
  if (outcome) return toPaymentResult(outcome);
  if (context.isClosed) return { status: 'pending', paymentHash };
  // Out of time: stop LDK from trying further paths. An HTLC already out can still succeed, so unless LDK
  // confirms the failure right away the honest answer is 'pending'.
  context.node.change((manager) => manager.abandon_payment(Buffer.from(paymentHash, 'hex')));
  const late = await context.waitFor(settled, ABANDON_SETTLE_MS);
  return late ? toPaymentResult(late) : { status: 'pending', paymentHash };
}

function ldkRemembers(context: BackendContext, paymentHash: string): boolean {
  return context.node.manager
    .list_recent_payments()
    .some((payment) => recentPaymentId(payment) === paymentHash);
}

/** Every variant of RecentPaymentDetails carries the payment id; the base class does not declare it. */
export function recentPaymentId(payment: ldk.RecentPaymentDetails): string | null {
  const id = (payment as { payment_id?: Uint8Array }).payment_id;
  return id ? toHex(id) : null;
}

function decodeInvoice(bolt11: string): ldk.Bolt11Invoice {
  if (typeof bolt11 !== 'string' || bolt11.length === 0)
    throw new LightningError('InvoiceInvalid', 'no invoice');
  const parsed = ldk.Bolt11Invoice.constructor_from_str(bolt11.trim());
  if (!(parsed instanceof ldk.Result_Bolt11InvoiceParseOrSemanticErrorZ_OK)) {
    throw new LightningError(
      'InvoiceInvalid',
      'the invoice cannot be decoded or its signature does not check',
    );
  }
  const invoice = parsed.res;
  if (invoice.currency() !== ldk.Currency.LDKCurrency_Regtest) {
    throw new LightningError('WrongNetwork', 'the invoice is not for regtest, the network of this node');
  }
  return invoice;
}

function refuseBeforeSending(
  context: BackendContext,
  invoice: ldk.Bolt11Invoice,
  amountMsat: bigint,
): { reason: PayFailureReason; detail: string } | null {
  const expiresAt = Number(invoice.duration_since_epoch()) + Number(invoice.expiry_time());
  if (context.nowSeconds() > expiresAt) return { reason: 'invoice_expired', detail: 'the invoice expired' };
  if (toHex(invoice.recover_payee_pub_key()) === context.node.nodeId) {
    return { reason: 'rejected', detail: 'the invoice is this node’s own' };
  }
  const channels = context.node.manager.list_usable_channels();
  if (channels.length === 0) return { reason: 'no_route', detail: 'no usable channel' };
  const sendable = channels.reduce((sum, channel) => sum + channel.get_next_outbound_htlc_limit_msat(), 0n);
  if (amountMsat > sendable) {
    return {
      reason: 'insufficient_balance',
      detail: `${amountMsat} msat asked, ${sendable} msat sendable now`,
    };
  }
  return null;
}

function sendFailure(failure: ldk.RetryableSendFailure): { reason: PayFailureReason; detail: string } | null {
  const detail = String(ldk.RetryableSendFailure[failure]).replace('LDKRetryableSendFailure_', '');
  switch (failure) {
    case ldk.RetryableSendFailure.LDKRetryableSendFailure_DuplicatePayment:
      return null;
    case ldk.RetryableSendFailure.LDKRetryableSendFailure_PaymentExpired:
      return { reason: 'invoice_expired', detail };
    case ldk.RetryableSendFailure.LDKRetryableSendFailure_RouteNotFound:
      return { reason: 'no_route', detail };
    default:
      return { reason: 'error', detail };
  }
}
