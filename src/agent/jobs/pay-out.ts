// Payouts, at most once: the intent (payout_started + a payouts row that the database lets exist only once per
// task and recipient) is committed before the Lightning call; an outcome the node cannot tell yet stays in flight
// and is asked again later, and a new payout is never sent while an earlier one is in flight or unknown.
import type { InFlightPayout, PayoutRecipient, TaskIn } from '../../domain/types.ts';
import { apply } from '../../engine/apply.ts';
import type { AgentContext } from '../../engine/context.ts';
import { confirmLease } from '../../engine/lease-scope.ts';
import { handlePaymentResult } from '../../handlers/payment-result.ts';
import { checkPayoutInvoice } from '../../ldk/bolt11/index.ts';

export async function payOut(
  ctx: AgentContext,
  task: TaskIn<'settled' | 'custody' | 'payout_pending'>,
): Promise<void> {
  const inFlight = task.payouts.find((payout) => payout.state === 'in_flight');
  if (inFlight) return resumePayout(ctx, task, inFlight);
  const due = task.payouts.find((payout) => payout.state === 'due');
  if (!due) {
    const fromAddress = task.payouts.find((payout) => payout.state === 'needs_invoice' && payout.address);
    if (fromAddress?.address)
      await invoiceFromAddress(ctx, task, fromAddress.recipient, fromAddress.address, fromAddress.amountMsat);
    return;
  }
  // The backoff after a failed attempt is in the store (next_attempt_at), so a restart or a replica honours it.
  const last = await ctx.store.read((reader) => reader.payouts.latestAttempt(task.id, due.recipient));
  if (last?.state === 'failed' && (last.nextAttemptAt ?? 0) > ctx.now()) return;

  const check = checkPayoutInvoice(due.bolt11, {
    expectedAmountMsat: due.amountMsat,
    network: ctx.node.network,
    nowSeconds: ctx.now(),
    minRemainingSeconds: 60,
    ownNodeId: ctx.node.id,
    escrowPaymentHash: task.funding.paymentHash,
  });
  if (!check.ok) {
    await apply(ctx, task.id, {
      type: 'payout_failed',
      recipient: due.recipient,
      reason: check.reason,
      invoiceUnusable: true,
    });
    return;
  }
  const paymentHash = check.invoice.paymentHash;
  // Intent first: a crash after pay() must find this payout in flight, not pay it again with a new attempt.
  const started = await apply(
    ctx,
    task.id,
    {
      type: 'payout_start',
      recipient: due.recipient,
      bolt11: due.bolt11,
      paymentHash,
      amountMsat: due.amountMsat,
    },
    async (tx) => {
      await tx.payouts.start({
        taskId: task.id,
        recipient: due.recipient,
        bolt11: due.bolt11,
        paymentHash,
        amountMsat: due.amountMsat,
      });
    },
  );
  if (!started.ok) return;
  const result = await ctx.lightning.pay({
    bolt11: due.bolt11,
    maxFeeMsat: maxRoutingFee(ctx, due.amountMsat),
    timeoutSeconds: ctx.payTimeoutSeconds,
  });
  await handlePaymentResult(ctx, task.id, due, result);
}

/** Retryable look-up failures per payout, and when the next look-up may run (in memory: a restart forgives). */
const addressRetries = new Map<string, { failures: number; notBefore: number }>();
const ADDRESS_RETRY_BASE_SECONDS = 30;
const ADDRESS_RETRY_MAX_SECONDS = 600;

/**
 * The recipient gave a Lightning address: fetch an invoice for exactly what they are owed, checked by the look-up
 * (amount, network, description hash) and again by the payout check before it is paid. A failure that may pass
 * (a timeout, a 5xx) is retried with a doubling pause, up to max_payout_attempts look-ups; any other failure, or
 * too many, forgets the address and asks the recipient again (a private notice says why).
 */
async function invoiceFromAddress(
  ctx: AgentContext,
  task: TaskIn<'settled' | 'custody' | 'payout_pending'>,
  recipient: PayoutRecipient,
  address: string,
  amountMsat: bigint,
): Promise<void> {
  const key = `${task.id}:${recipient}`;
  const retry = addressRetries.get(key);
  if (retry && retry.notBefore > ctx.now()) return;
  const result = await ctx.fetchAddressInvoice(address, amountMsat);
  if (result.ok) {
    addressRetries.delete(key);
    await apply(ctx, task.id, { type: 'payout_address_invoice', recipient, bolt11: result.bolt11 });
    return;
  }
  const failures = (retry?.failures ?? 0) + 1;
  const giveUp = !result.retryable || failures >= ctx.policy.maxPayoutAttempts;
  ctx.log.warn(
    { taskId: task.id, recipient, failures, giveUp, reason: result.reason },
    'no invoice from the Lightning address',
  );
  if (giveUp) {
    addressRetries.delete(key);
    await apply(ctx, task.id, {
      type: 'payout_address_failed',
      recipient,
      reason: result.reason,
      giveUp: true,
    });
    return;
  }
  const pause = Math.min(ADDRESS_RETRY_MAX_SECONDS, ADDRESS_RETRY_BASE_SECONDS * 2 ** (failures - 1));
  addressRetries.set(key, { failures, notBefore: ctx.now() + pause });
}

/** A payout whose outcome was not known: ask the node, and only ever re-send the SAME invoice. */
async function resumePayout(
  ctx: AgentContext,
  task: TaskIn<'settled' | 'custody' | 'payout_pending'>,
  payout: InFlightPayout,
): Promise<void> {
  const status = await ctx.lightning.paymentStatus(payout.paymentHash);
  if (status === null) {
    // The node never saw the payment (a crash between the intent and the call): sending the same invoice cannot
    // pay twice, since the recipient's node takes one payment per payment hash. Still, only under a lease held.
    await confirmLease(ctx.store, task.id);
    const result = await ctx.lightning.pay({
      bolt11: payout.bolt11,
      maxFeeMsat: maxRoutingFee(ctx, payout.amountMsat),
      timeoutSeconds: ctx.payTimeoutSeconds,
    });
    return handlePaymentResult(ctx, task.id, payout, result);
  }
  return handlePaymentResult(ctx, task.id, payout, status);
}

/** The most a payout's route may cost: ppm of the payout, at least 1 sat, paid by the agent out of its fee. */
function maxRoutingFee(ctx: AgentContext, amountMsat: bigint): bigint {
  const proportional = (amountMsat * BigInt(ctx.maxRoutingFeePpm)) / 1_000_000n;
  return proportional > 1000n ? proportional : 1000n;
}
