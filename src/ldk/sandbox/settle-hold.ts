// settle(preimage): claim the held HTLCs. LND's rules: settling twice is fine, settling a canceled hold is an
// error, settling an OPEN hold (nothing held yet) is an error. Refusals change nothing.
import { checkSettleArguments } from '../check-port-arguments.ts';
import { LightningError } from '../lightning-error.ts';
import type { BackendContext } from './backend-context.ts';
import { fromHex } from './bytes.ts';

/** PaymentClaimed comes within one loop turn of claim_funds (monitors are written synchronously). */
const CLAIM_CONFIRMATION_TIMEOUT_MS = 10_000;

export async function settleHold(
  context: BackendContext,
  preimage: string,
  expectedPaymentHash?: string,
): Promise<void> {
  const paymentHash = checkSettleArguments(preimage, expectedPaymentHash);
  const preimageBytes = fromHex(preimage);
  const record = context.invoices.get(paymentHash);
  if (record?.kind !== 'hold') {
    throw new LightningError('UnknownHash', `no hold invoice has the hash of this preimage (${paymentHash})`);
  }
  switch (record.state) {
    case 'SETTLED':
      return;
    case 'CANCELED':
      throw new LightningError(
        'AlreadyCanceled',
        `hold ${paymentHash} was canceled (${record.cancelReason})`,
      );
    case 'OPEN':
      throw new LightningError('NotAccepted', `hold ${paymentHash} holds no payment yet`);
    case 'ACCEPTED':
      break;
  }
  if (record.preimage === null) {
    // Intent first: if we crash after claim_funds but before PaymentClaimed, start-up finishes the claim.
    context.invoices.update(paymentHash, { preimage });
  }
  context.node.change((manager) => manager.claim_funds(preimageBytes));
  const state = await context.waitFor(() => {
    const current = context.invoices.get(paymentHash)?.state;
    return current === 'SETTLED' || current === 'CANCELED' ? current : undefined;
  }, CLAIM_CONFIRMATION_TIMEOUT_MS);
  if (state === 'SETTLED') return;
  if (state === 'CANCELED') throw new LightningError('AlreadyCanceled', `hold ${paymentHash} was canceled`);
  throw new LightningError(
    'Timeout',
    `LDK did not confirm the claim of ${paymentHash}; settle again or look it up`,
  );
}
