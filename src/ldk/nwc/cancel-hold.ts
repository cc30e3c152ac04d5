// cancel(hash) over NWC: cancel_hold_invoice. LND's rules hold whatever the wallet does: when the wallet
// refuses, the hash is looked up: CANCELED means the cancel already happened (fine), SETTLED is AlreadySettled,
// unknown is UnknownHash; a refusal while OPEN or ACCEPTED keeps the wallet's reason (our sandbox service says
// AlreadySettled for a hold whose settle has begun).
import { checkPaymentHash } from '../check-port-arguments.ts';
import { LightningError } from '../lightning-error.ts';
import { lookupHold } from './lookup-transaction.ts';
import { toLightningError } from './map-wallet-error.ts';
import { emptyResultSchema } from './nip47-schemas.ts';
import type { NwcContext } from './nwc-context.ts';
import { refreshAfter } from './settle-hold.ts';

export async function cancelHold(context: NwcContext, paymentHash: string): Promise<void> {
  checkPaymentHash(paymentHash);
  context.tracker.markCanceledByUs(paymentHash);
  const reply = await context.client.request(
    'cancel_hold_invoice',
    { payment_hash: paymentHash },
    (result) => (emptyResultSchema.safeParse(result).success ? {} : undefined),
    context.requestTimeoutMs,
  );
  if (reply.ok) {
    refreshAfter(context, paymentHash);
    return;
  }
  const refusal = toLightningError('cancel_hold_invoice', reply.error);
  const hold = await lookupHold(context, paymentHash).catch(() => undefined);
  if (hold?.state !== 'CANCELED') context.tracker.unmarkCanceledByUs(paymentHash);
  if (hold === undefined) throw refusal;
  if (hold === null) throw new LightningError('UnknownHash', `no hold invoice for ${paymentHash}`);
  switch (hold.state) {
    case 'CANCELED':
      return;
    case 'SETTLED':
      throw new LightningError('AlreadySettled', `hold ${paymentHash} is settled`);
    case 'OPEN':
    case 'ACCEPTED':
      throw refusal;
  }
}
