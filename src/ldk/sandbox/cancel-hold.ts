// cancel(hash): fail the held HTLCs back, or make an OPEN invoice refuse any payment. LND's rules: canceling
// twice is fine, canceling a settled hold (or one whose settle has begun) is an error.
import { checkPaymentHash } from '../check-port-arguments.ts';
import { LightningError } from '../lightning-error.ts';
import type { BackendContext } from './backend-context.ts';
import { fromHex } from './bytes.ts';

export function cancelHold(context: BackendContext, paymentHash: string): void {
  checkPaymentHash(paymentHash);
  const record = context.invoices.get(paymentHash);
  if (record?.kind !== 'hold') throw new LightningError('UnknownHash', `no hold invoice for ${paymentHash}`);
  if (record.state === 'CANCELED') return;
  if (record.state === 'SETTLED' || record.preimage !== null) {
    throw new LightningError('AlreadySettled', `hold ${paymentHash} is settled (or being settled)`);
  }
  // Intent first: once CANCELED is on disk, a payment arriving later is refused even if we crash right here,
  // and start-up fails back any HTLC still held for a CANCELED hash.
  context.invoices.update(paymentHash, { state: 'CANCELED', cancelReason: 'requested' });
  context.changed();
  if (record.state === 'ACCEPTED') {
    context.node.change((manager) => manager.fail_htlc_backwards(fromHex(paymentHash)));
  }
  context.emit({ type: 'hold_cancelled', paymentHash, reason: 'requested' });
}
