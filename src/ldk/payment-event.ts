import type { LightningEvent, PaymentResult } from './port.ts';

/** The event a finished payment is announced with; null while it is still pending. */
export function paymentEventOf(result: PaymentResult): LightningEvent | null {
  if (result.status === 'succeeded') {
    return {
      type: 'payment_succeeded',
      paymentHash: result.paymentHash,
      preimage: result.preimage,
      feeMsat: result.feeMsat,
    };
  }
  if (result.status === 'failed')
    return { type: 'payment_failed', paymentHash: result.paymentHash, reason: result.reason };
  return null;
}
