// settle(preimage): SettleInvoice through `lightning`'s settleHodlInvoice. LND finds the invoice by the
// preimage's hash, so a wrong preimage alone looks like an unknown hash; with the expected hash given, the
// mismatch is caught here first and reported as WrongPreimage. LND's rules carry through unchanged: settling
// a settled invoice succeeds, settling a canceled one fails (AlreadyCanceled), an open one fails (NotAccepted).
// LND answers once the invoice is SETTLED in its database.
import { settleHodlInvoice } from 'lightning';
import { checkSettleArguments } from '../check-port-arguments.ts';
import type { LndContext } from './lnd-context.ts';

export async function settleHold(context: LndContext, preimage: string, expectedPaymentHash?: string) {
  const paymentHash = checkSettleArguments(preimage, expectedPaymentHash);
  await context.request('settle', () => settleHodlInvoice({ lnd: context.lnd, secret: preimage }));
  return paymentHash;
}
