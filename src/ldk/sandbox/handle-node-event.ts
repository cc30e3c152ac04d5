// Routes each LDK event to its handler. Every handler is idempotent: LDK delivers events at least once.
// Throwing here makes LDK replay the event later (ldk-node.ts), which is what a failed disk write wants.
import * as ldk from 'lightningdevkit';
import type { BackendContext } from './backend-context.ts';
import { onPaymentFailed, onPaymentSent } from './handle-payment-outcome.ts';
import { onPaymentClaimable, onPaymentClaimed } from './handle-received-payment.ts';

export interface ChannelHooks {
  /** LDK wants a funding transaction for a channel this node opens. */
  onFundingReady(event: ldk.Event_FundingGenerationReady): void;
}

export function handleNodeEvent(context: BackendContext, hooks: ChannelHooks, event: ldk.Event): void {
  const { node } = context;
  if (event instanceof ldk.Event_PaymentClaimable) {
    onPaymentClaimable(context, event);
    return;
  }
  if (event instanceof ldk.Event_PaymentClaimed) {
    onPaymentClaimed(context, event);
    return;
  }
  if (event instanceof ldk.Event_PaymentSent) {
    onPaymentSent(context, event);
    return;
  }
  if (event instanceof ldk.Event_PaymentFailed) {
    onPaymentFailed(context, event);
    return;
  }
  if (event instanceof ldk.Event_PendingHTLCsForwardable) {
    // LDK suggests a random delay to blur timing; in the sandbox latency matters more than that privacy.
    setImmediate(() => {
      if (node.isStopped) return;
      node.change((manager) => manager.process_pending_htlc_forwards());
    });
    return;
  }
  if (event instanceof ldk.Event_FundingGenerationReady) {
    hooks.onFundingReady(event);
    return;
  }
  if (event instanceof ldk.Event_ChannelClosed) {
    context.log({
      node: node.name,
      level: 'warn',
      message: `channel closed: ${event.reason.constructor.name}`,
    });
    context.changed();
    return;
  }
  if (event instanceof ldk.Event_ChannelReady || event instanceof ldk.Event_ChannelPending) {
    context.changed();
    return;
  }
  if (event instanceof ldk.Event_HTLCHandlingFailed) {
    // A hint only: a duplicate payment of a held hash is failed with the same event while the first stays
    // held, so state changes come from blocks and our own calls, not from this.
    context.log({
      node: node.name,
      level: 'debug',
      message: `HTLC failed: ${event.failed_next_destination.constructor.name}`,
    });
    return;
  }
  if (event instanceof ldk.Event_SpendableOutputs) {
    // After a force close: the outputs stay on the synthetic chain; nothing to sweep them to.
    context.log({
      node: node.name,
      level: 'info',
      message: `${event.outputs.length} spendable output(s) left unswept`,
    });
    return;
  }
  context.log({ node: node.name, level: 'debug', message: `event ignored: ${event.constructor.name}` });
}
