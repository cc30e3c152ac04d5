// settle(preimage) over NWC: settle_hold_invoice. LND's rules hold whatever the wallet does: when the wallet
// refuses, the hash is looked up and the refusal is read from the hold's state: SETTLED means the settle
// already happened (fine), CANCELED is AlreadyCanceled, OPEN is NotAccepted, unknown is UnknownHash.
import { checkSettleArguments } from '../check-port-arguments.ts';
import { LightningError } from '../lightning-error.ts';
import { lookupHold } from './lookup-transaction.ts';
import { toLightningError } from './map-wallet-error.ts';
import { emptyResultSchema } from './nip47-schemas.ts';
import type { NwcContext } from './nwc-context.ts';

export async function settleHold(
  context: NwcContext,
  preimage: string,
  expectedPaymentHash?: string,
): Promise<void> {
  const paymentHash = checkSettleArguments(preimage, expectedPaymentHash);
  const reply = await context.client.request(
    'settle_hold_invoice',
    { preimage },
    (result) => (emptyResultSchema.safeParse(result).success ? {} : undefined),
    context.requestTimeoutMs,
  );
  if (reply.ok) {
    refreshAfter(context, paymentHash);
    return;
  }
  const refusal = toLightningError('settle_hold_invoice', reply.error);
  const hold = await lookupHold(context, paymentHash).catch(() => undefined);
  if (hold === undefined) throw refusal;
  if (hold === null)
    throw new LightningError('UnknownHash', `no hold invoice has the hash of this preimage (${paymentHash})`);
  switch (hold.state) {
    case 'SETTLED':
      return;
    case 'CANCELED':
      throw new LightningError('AlreadyCanceled', `hold ${paymentHash} was canceled (${hold.cancelReason})`);
    case 'OPEN':
      throw new LightningError('NotAccepted', `hold ${paymentHash} holds no payment yet`);
    case 'ACCEPTED':
      throw refusal;
  }
}

/** The hold's new state reaches subscribers (hold_settled / hold_cancelled) without delaying the caller. */
export function refreshAfter(context: NwcContext, paymentHash: string): void {
  lookupHold(context, paymentHash).catch((error) =>
    context.log.debug(
      { paymentHash, err: String(error) },
      'NWC: lookup after a change failed; the poll will catch up',
    ),
  );
}
