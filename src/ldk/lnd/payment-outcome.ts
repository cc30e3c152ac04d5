// LND's payment outcomes (SendPaymentV2 / TrackPaymentV2 through `lightning`) as the port's PaymentResult.
// The same LND payment always reads the same, whether it comes from pay() or paymentStatus(): the detail of a
// failure is LND's own failure reason name, not a message of the moment.
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
