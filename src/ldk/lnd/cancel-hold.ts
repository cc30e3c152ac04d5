// cancel(hash): CancelInvoice through `lightning`'s cancelHodlInvoice. LND fails held HTLCs back, or marks
// an open invoice so that any later payment is refused. LND's rules: canceling twice succeeds, canceling a
// settled invoice fails (AlreadySettled), an unknown hash fails (UnknownHash).
import { cancelHodlInvoice } from 'lightning';
import { checkPaymentHash } from '../check-port-arguments.ts';
import { LightningError } from '../lightning-error.ts';
import type { LndContext } from './lnd-context.ts';

export async function cancelHold(context: LndContext, paymentHash: string): Promise<void> {
  checkPaymentHash(paymentHash);
  // LND does not record who canceled; remembered (before asking, so an update racing the answer already
  // sees it) so that lookups say 'requested' rather than guess. Forgotten again if LND refused.
  const known = context.canceledByUs.has(paymentHash);
  context.canceledByUs.add(paymentHash);
  try {
    await context.request('cancel', () => cancelHodlInvoice({ lnd: context.lnd, id: paymentHash }));
  } catch (error) {
    if (!known && error instanceof LightningError && error.code !== 'Timeout') {
      context.canceledByUs.delete(paymentHash);
    }
    throw error;
  }
}
