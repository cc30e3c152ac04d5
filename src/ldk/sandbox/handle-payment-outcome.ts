// LDK events on the sending side: PaymentSent and PaymentFailed, recorded against the payment hash and
// reported to subscribers. Replays are harmless: a settled outcome is never overwritten.
import * as ldk from 'lightningdevkit';
import type { PayFailureReason } from '../port.ts';
import type { BackendContext } from './backend-context.ts';
import { toHex } from './bytes.ts';

export function onPaymentSent(context: BackendContext, event: ldk.Event_PaymentSent): void {
  const paymentHash = toHex(event.payment_hash);
  const record = context.payments.get(paymentHash);
  if (!record) {
    context.log({
      node: context.node.name,
      level: 'error',
      message: `LDK sent ${paymentHash}, which we have no record of`,
    });
    return;
  }
  if (record.status === 'succeeded') return;
  const feeMsat = event.fee_paid_msat instanceof ldk.Option_u64Z_Some ? event.fee_paid_msat.some : 0n;
  const preimage = toHex(event.payment_preimage);
  // A success after a recorded failure (an abandoned payment whose HTLC still went through) is still a
  // success: the money is gone, and the record must say so.
  context.payments.save({ ...record, status: 'succeeded', preimage, feeMsat, reason: null, detail: '' });
  context.changed();
  context.emit({ type: 'payment_succeeded', paymentHash, preimage, feeMsat });
}

export function onPaymentFailed(context: BackendContext, event: ldk.Event_PaymentFailed): void {
  // Our payment id is the payment hash, so the id identifies the payment even when LDK omits the hash.
  const paymentHash = toHex(event.payment_id);
  const record = context.payments.get(paymentHash);
  if (record?.status !== 'pending') return;
  const cause = event.reason instanceof ldk.Option_PaymentFailureReasonZ_Some ? event.reason.some : null;
  const reason = failureReason(cause);
  const detail =
    cause === null
      ? 'payment failed'
      : String(ldk.PaymentFailureReason[cause]).replace('LDKPaymentFailureReason_', '');
  context.payments.save({ ...record, status: 'failed', reason, detail });
  context.changed();
  context.emit({ type: 'payment_failed', paymentHash, reason });
}

function failureReason(cause: ldk.PaymentFailureReason | null): PayFailureReason {
  switch (cause) {
    case ldk.PaymentFailureReason.LDKPaymentFailureReason_RecipientRejected:
      return 'rejected';
    case ldk.PaymentFailureReason.LDKPaymentFailureReason_UserAbandoned:
      // The adapter abandons a payment only when pay() ran out of time.
      return 'timeout';
    case ldk.PaymentFailureReason.LDKPaymentFailureReason_PaymentExpired:
      return 'invoice_expired';
    case ldk.PaymentFailureReason.LDKPaymentFailureReason_RetriesExhausted:
    case ldk.PaymentFailureReason.LDKPaymentFailureReason_RouteNotFound:
      return 'no_route';
    default:
      return 'error';
  }
}
