// LDK events on the receiving side: a payment became claimable (the hold is ACCEPTED), or a claim completed
// (SETTLED). Both may arrive twice (LDK replays events handled before a crash) and must be idempotent.
import * as ldk from 'lightningdevkit';
import type { BackendContext } from './backend-context.ts';
import { toHex } from './bytes.ts';

/** LDK fails a held HTLC back this many blocks before it expires: claim_deadline = expiry - 21. */
export const LDK_FAIL_BACK_BUFFER_BLOCKS = 21;

export function onPaymentClaimable(context: BackendContext, event: ldk.Event_PaymentClaimable): void {
  const { node, invoices } = context;
  const paymentHash = toHex(event.payment_hash);
  const record = invoices.get(paymentHash);
  const refuse = (why: string) => {
    context.log({ node: node.name, level: 'info', message: `refusing a payment of ${paymentHash}: ${why}` });
    node.manager.fail_htlc_backwards(event.payment_hash);
    node.kick();
  };
  if (!record) {
    refuse('no invoice of ours has this hash (keysend and unknown hashes are refused)');
    return;
  }

  if (record.kind === 'regular') {
    const preimage =
      event.purpose instanceof ldk.PaymentPurpose_Bolt11InvoicePayment
        ? event.purpose.payment_preimage
        : null;
    // SETTLED too is claimed (again): the same replay reasoning as for holds below.
    if (record.state === 'CANCELED' || !(preimage instanceof ldk.Option_ThirtyTwoBytesZ_Some)) {
      refuse(`regular invoice is ${record.state}`);
      return;
    }
    node.manager.claim_funds(preimage.some);
    node.kick();
    return;
  }

  switch (record.state) {
    case 'OPEN': {
      if (context.nowSeconds() > record.expiresAt) {
        invoices.update(paymentHash, { state: 'CANCELED', cancelReason: 'expired' });
        context.changed();
        context.emit({ type: 'hold_cancelled', paymentHash, reason: 'expired' });
        refuse('the invoice expired before it was paid');
        return;
      }
      // LDK checks the amount against the payment secret already; a second look costs nothing.
      if (event.amount_msat < record.amountMsat) {
        refuse(`${event.amount_msat} msat is less than the ${record.amountMsat} msat asked`);
        return;
      }
      if (!(event.claim_deadline instanceof ldk.Option_u32Z_Some)) {
        refuse('LDK gave no claim deadline, so the hold could not be guarded');
        return;
      }
      const claimDeadlineHeight = event.claim_deadline.some;
      const htlcExpiryHeight =
        earliestInboundExpiry(node.manager, event.payment_hash) ??
        claimDeadlineHeight + LDK_FAIL_BACK_BUFFER_BLOCKS;
      // Durable before acknowledged: LDK will not tell us about this payment again after a restart.
      invoices.update(paymentHash, {
        state: 'ACCEPTED',
        receivedMsat: event.amount_msat,
        claimDeadlineHeight,
        htlcExpiryHeight,
      });
      context.changed();
      context.emit({
        type: 'hold_accepted',
        paymentHash,
        amountMsat: event.amount_msat,
        htlcExpiryHeight,
        claimDeadlineHeight,
      });
      return;
    }
    case 'ACCEPTED':
      // The same payment, replayed after a restart: already recorded.
      return;
    case 'SETTLED':
      // We decided to take this hash's money and told LDK so. A claimable event now is most likely a replay
      // of the one we settled (LDK restarted from a manager written before the claim); failing it back could
      // leave us SETTLED with nothing received, which is the worse error. Claim it again.
      if (record.preimage) {
        node.manager.claim_funds(Buffer.from(record.preimage, 'hex'));
        node.kick();
        return;
      }
      refuse('the invoice is already settled');
      return;
    case 'CANCELED':
      refuse(`the hold was canceled (${record.cancelReason ?? 'requested'})`);
      return;
  }
}

export function onPaymentClaimed(context: BackendContext, event: ldk.Event_PaymentClaimed): void {
  const { node, invoices } = context;
  const paymentHash = toHex(event.payment_hash);
  const record = invoices.get(paymentHash);
  if (!record) {
    context.log({
      node: node.name,
      level: 'error',
      message: `LDK claimed ${paymentHash}, which we have no record of`,
    });
    return;
  }
  if (record.state === 'SETTLED') return;
  if (record.state === 'CANCELED') {
    // Cannot happen through this adapter (settle refuses CANCELED); if it does, the node's word wins.
    context.log({
      node: node.name,
      level: 'error',
      message: `LDK claimed ${paymentHash}, which we had canceled`,
    });
  }
  invoices.update(paymentHash, { state: 'SETTLED', receivedMsat: event.amount_msat, cancelReason: null });
  context.changed();
  if (record.kind === 'hold')
    context.emit({ type: 'hold_settled', paymentHash, amountMsat: event.amount_msat });
}

/** The earliest CLTV expiry among the inbound HTLCs paying this hash, or null if none is in a channel. */
export function earliestInboundExpiry(manager: ldk.ChannelManager, paymentHash: Uint8Array): number | null {
  const hash = toHex(paymentHash);
  let earliest: number | null = null;
  for (const channel of manager.list_channels()) {
    for (const htlc of channel.get_pending_inbound_htlcs()) {
      if (toHex(htlc.get_payment_hash()) !== hash) continue;
      const expiry = htlc.get_cltv_expiry();
      if (earliest === null || expiry < earliest) earliest = expiry;
    }
  }
  return earliest;
}
