// LND's payment outcomes (SendPaymentV2 / TrackPaymentV2 updates, lnrpc.Payment) as the port's PaymentResult.
// The same LND payment always reads the same, whether it comes from pay() or paymentStatus(): the detail of a
// failure is LND's own failure reason name, not a message of the moment.
//
// Payment statuses of the LND versions supported (0.16 .. 0.21): IN_FLIGHT and SUCCEEDED and FAILED always;
// UNKNOWN (deprecated, never sent since 0.16); INITIATED since 0.18 (the payment is recorded, no HTLC sent yet:
// it may still be sent, so pending). `lightning` 11.1 ignores INITIATED and an IN_FLIGHT update without HTLCs,
// so its getPayment waits for a later update that may not come for a long time; the adapter reads the updates
// itself. A status this table does not know is read as pending: never failed before LND says so.
import type { PayFailureReason, PaymentResult } from '../port.ts';

export interface LndConfirmedPayment {
  /** The preimage, hex. */
  secret: string;
  /** Amount plus routing fee, msat. */
  mtokens: string;
  fee_mtokens: string;
}

export interface LndFailedPayment {
  is_canceled?: boolean;
  is_insufficient_balance?: boolean;
  is_invalid_payment?: boolean;
  is_pathfinding_timeout?: boolean;
  is_route_not_found?: boolean;
}

/** LND's failure_reason -> the port's reason, in the order LND's flags are checked. */
export const LND_FAILURE_REASONS: readonly {
  flag: keyof LndFailedPayment;
  lndReason: string;
  reason: PayFailureReason;
}[] = [
  {
    flag: 'is_insufficient_balance',
    lndReason: 'FAILURE_REASON_INSUFFICIENT_BALANCE',
    reason: 'insufficient_balance',
  },
  { flag: 'is_route_not_found', lndReason: 'FAILURE_REASON_NO_ROUTE', reason: 'no_route' },
  { flag: 'is_pathfinding_timeout', lndReason: 'FAILURE_REASON_TIMEOUT', reason: 'timeout' },
  { flag: 'is_invalid_payment', lndReason: 'FAILURE_REASON_INCORRECT_PAYMENT_DETAILS', reason: 'rejected' },
  { flag: 'is_canceled', lndReason: 'FAILURE_REASON_CANCELED', reason: 'error' },
];

/** LND's lnrpc.Payment as its SendPaymentV2 / TrackPaymentV2 streams send it (enums and 64-bit numbers as strings). */
export interface LndPaymentUpdate {
  payment_hash?: string;
  status?: string;
  value_msat?: string;
  fee_msat?: string;
  payment_preimage?: string;
  failure_reason?: string;
}

export const LND_PAYMENT_STATUSES: Readonly<Record<string, PaymentResult['status']>> = {
  UNKNOWN: 'pending',
  IN_FLIGHT: 'pending',
  INITIATED: 'pending',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
};

/** One update of a payment as the port's result (pending for a status not known here). */
export function paymentFromUpdate(paymentHash: string, update: LndPaymentUpdate): PaymentResult {
  const status = LND_PAYMENT_STATUSES[update.status ?? ''] ?? 'pending';
  if (status === 'succeeded') {
    const feeMsat = BigInt(update.fee_msat ?? '0');
    return succeededPayment(paymentHash, {
      secret: update.payment_preimage ?? '',
      mtokens: (BigInt(update.value_msat ?? '0') + feeMsat).toString(),
      fee_mtokens: feeMsat.toString(),
    });
  }
  if (status === 'failed') {
    const match = LND_FAILURE_REASONS.find((entry) => entry.lndReason === update.failure_reason);
    return failedPayment(paymentHash, match ? { [match.flag]: true } : {});
  }
  return { status: 'pending', paymentHash };
}

export function succeededPayment(paymentHash: string, payment: LndConfirmedPayment): PaymentResult {
  const feeMsat = BigInt(payment.fee_mtokens);
  return {
    status: 'succeeded',
    paymentHash,
    preimage: payment.secret,
    amountMsat: BigInt(payment.mtokens) - feeMsat,
    feeMsat,
  };
}

export function failedPayment(paymentHash: string, failed: LndFailedPayment): PaymentResult {
  const match = LND_FAILURE_REASONS.find((entry) => failed[entry.flag] === true);
  return {
    status: 'failed',
    paymentHash,
    reason: match?.reason ?? 'error',
    detail: `LND ${match?.lndReason ?? 'FAILURE_REASON_ERROR'}`,
  };
}

/** A refusal before anything was sent (LND never recorded the payment). */
export function refusedPayment(paymentHash: string, reason: PayFailureReason, detail: string): PaymentResult {
  return { status: 'failed', paymentHash, reason, detail };
}
