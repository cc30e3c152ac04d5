// settle(preimage): SettleInvoice through `lightning`'s settleHodlInvoice. LND finds the invoice by the
// preimage's hash, so a wrong preimage alone looks like an unknown hash; with the expected hash given, the
// mismatch is caught here first and reported as WrongPreimage. LND's rules carry through unchanged: settling
// a settled invoice succeeds, settling a canceled one fails (AlreadyCanceled), an open one fails (NotAccepted).
// LND answers once the invoice is SETTLED in its database.
import { createHash } from 'node:crypto';
import { settleHodlInvoice } from 'lightning';
import { LightningError } from '../lightning-error.ts';
import type { LndContext } from './lnd-context.ts';

export async function settleHold(context: LndContext, preimage: string, expectedPaymentHash?: string) {
  if (typeof preimage !== 'string' || !/^[0-9a-f]{64}$/.test(preimage)) {
    throw new LightningError('WrongPreimage', 'the preimage must be 64 lowercase hex characters');
  }
  const paymentHash = createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex');
  if (expectedPaymentHash !== undefined && paymentHash !== expectedPaymentHash) {
    throw new LightningError('WrongPreimage', `the preimage does not hash to ${expectedPaymentHash}`);
  }
  await context.request('settle', () => settleHodlInvoice({ lnd: context.lnd, secret: preimage }));
  return paymentHash;
}
