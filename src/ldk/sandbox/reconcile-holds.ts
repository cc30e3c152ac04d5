// Keeping the records true to the node when no event says so: on every block (LDK fails a held HTLC back at
// its claim deadline without a dedicated event) and once at start-up (finishing what a crash interrupted).
import type { BackendContext } from './backend-context.ts';
import { toHex } from './bytes.ts';
import { recentPaymentId } from './pay-invoice.ts';

/** Run after each block is connected: holds past their deadline, invoices past their expiry. */
export function reconcileAfterBlock(context: BackendContext): void {
  const height = context.node.blockHeight();
  for (const record of context.invoices.inState('ACCEPTED')) {
    // A settle already asked for is LDK's to finish (PaymentClaimed will come): never call it canceled.
    if (record.preimage !== null || record.claimDeadlineHeight === null) continue;
    if (height < record.claimDeadlineHeight) continue;
    // LDK failed the HTLC back in the same best_block_updated call that brought this height.
    context.invoices.update(record.paymentHash, { state: 'CANCELED', cancelReason: 'deadline' });
    context.changed();
    context.emit({ type: 'hold_cancelled', paymentHash: record.paymentHash, reason: 'deadline' });
  }
  expireOpenInvoices(context);
}

/** An OPEN invoice past its expiry can no longer be paid: it is CANCELED, as LND reports it. */
export function expireOpenInvoices(context: BackendContext): void {
  const now = context.nowSeconds();
  for (const record of context.invoices.inState('OPEN')) {
    if (now <= record.expiresAt) continue;
    context.invoices.update(record.paymentHash, { state: 'CANCELED', cancelReason: 'expired' });
    context.changed();
    if (record.kind === 'hold') {
      context.emit({ type: 'hold_cancelled', paymentHash: record.paymentHash, reason: 'expired' });
    }
  }
}

/**
 * After a restart: finish settles and cancels that a crash cut between our record and LDK's call (both are
 * idempotent in LDK), notice holds whose HTLC no longer exists (LDK force-closed the channel because its
 * saved manager was older than a monitor; the HTLC then resolves on chain, back to the payer), and fail the
 * payments LDK never heard of (a crash between our 'pending' record and send_payment: nothing was sent).
 */
export function reconcileAtStartup(context: BackendContext): void {
  const { node, invoices, payments } = context;
  reconcileAfterBlock(context);
  const held = new Set<string>();
  for (const channel of node.manager.list_channels()) {
    for (const htlc of channel.get_pending_inbound_htlcs()) held.add(toHex(htlc.get_payment_hash()));
  }
  for (const record of invoices.inState('ACCEPTED')) {
    const { preimage } = record;
    if (preimage !== null) {
      node.change((manager) => manager.claim_funds(Buffer.from(preimage, 'hex')));
      continue;
    }
    if (held.has(record.paymentHash)) continue;
    context.log({
      node: node.name,
      level: 'error',
      message: `hold ${record.paymentHash} was ACCEPTED but no channel holds its HTLC any more`,
    });
    invoices.update(record.paymentHash, { state: 'CANCELED', cancelReason: 'htlc_gone' });
    context.emit({ type: 'hold_cancelled', paymentHash: record.paymentHash, reason: 'htlc_gone' });
  }
  for (const record of invoices.inState('CANCELED')) {
    if (!held.has(record.paymentHash)) continue;
    node.change((manager) => manager.fail_htlc_backwards(Buffer.from(record.paymentHash, 'hex')));
  }
  const known = new Set(node.manager.list_recent_payments().map(recentPaymentId));
  for (const record of payments.pending()) {
    if (known.has(record.paymentHash)) continue;
    payments.save({
      ...record,
      status: 'failed',
      reason: 'error',
      detail: 'never sent: interrupted before LDK had it',
    });
    context.emit({ type: 'payment_failed', paymentHash: record.paymentHash, reason: 'error' });
  }
  context.changed();
  node.kick();
}
