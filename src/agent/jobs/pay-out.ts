// Payouts, at most once: the intent (payout_started + a payouts row that the database lets exist only once per
// task and recipient) is committed before the Lightning call; an outcome the node cannot tell yet stays in flight
// and is asked again later, and a new payout is never sent while an earlier one is in flight or unknown.
import type { Payout, Task } from '../../domain/types.ts';
import type { AgentContext } from '../../engine/context.ts';
import { checkPayoutInvoice } from '../../ldk/bolt11/index.ts';
import type { PaymentResult } from '../../ldk/port.ts';
import { apply } from './advance-task.ts';

/** Backoff between failed payout attempts of one task, in seconds (kept in memory; a restart retries at once). */
const retryNotBefore = new Map<string, number>();

export async function payOut(ctx: AgentContext, task: Task): Promise<void> {
  const inFlight = task.payouts.find((payout) => payout.state === 'in_flight');
  if (inFlight) return resumePayout(ctx, task, inFlight);
  const due = task.payouts.find((payout) => payout.state === 'due');
  if (!due?.bolt11) return;
  const key = `${task.id}:${due.recipient}`;
  if ((retryNotBefore.get(key) ?? 0) > ctx.now()) return;

  const check = checkPayoutInvoice(due.bolt11, {
    expectedAmountMsat: due.amountMsat,
    network: ctx.node.network,
    nowSeconds: ctx.now(),
    minRemainingSeconds: 60,
    ownNodeId: ctx.node.id,
    escrowPaymentHash: task.funding!.paymentHash,
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
        bolt11: due.bolt11!,
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
  await recordOutcome(ctx, task.id, due, result);
}

/** A payout whose outcome was not known: ask the node, and only ever re-send the SAME invoice. */
async function resumePayout(ctx: AgentContext, task: Task, payout: Payout): Promise<void> {
  const status = await ctx.lightning.paymentStatus(payout.paymentHash!);
  if (status === null) {
    // The node never saw the payment (a crash between the intent and the call): sending the same invoice cannot
    // pay twice, since the recipient's node takes one payment per payment hash.
    const result = await ctx.lightning.pay({
      bolt11: payout.bolt11!,
      maxFeeMsat: maxRoutingFee(ctx, payout.amountMsat),
      timeoutSeconds: ctx.payTimeoutSeconds,
    });
    return recordOutcome(ctx, task.id, payout, result);
  }
  return recordOutcome(ctx, task.id, payout, status);
}

async function recordOutcome(
  ctx: AgentContext,
  taskId: string,
  payout: Payout,
  result: PaymentResult,
): Promise<void> {
  if (result.status === 'pending') return;
  const record = await ctx.store.read(async (reader) =>
    (await reader.payouts.forTask(taskId)).find(
      (row) => row.recipient === payout.recipient && row.state === 'in_flight',
    ),
  );
  if (result.status === 'succeeded') {
    await apply(
      ctx,
      taskId,
      {
        type: 'payout_succeeded',
        recipient: payout.recipient,
        routingFeeMsat: result.feeMsat,
        preimage: result.preimage,
      },
      async (tx) => {
        if (record) await tx.payouts.finish(record.id, 'succeeded', { routingFeeMsat: result.feeMsat });
      },
    );
    retryNotBefore.delete(`${taskId}:${payout.recipient}`);
    return;
  }
  ctx.metrics.lightningFailures.inc({ operation: 'pay' });
  ctx.log.warn(
    { taskId, recipient: payout.recipient, reason: result.reason, detail: result.detail },
    'payout failed',
  );
  await apply(
    ctx,
    taskId,
    {
      type: 'payout_failed',
      recipient: payout.recipient,
      reason: `${result.reason}: ${result.detail}`.slice(0, 300),
      invoiceUnusable: result.reason === 'invoice_expired',
    },
    async (tx) => {
      if (record) await tx.payouts.finish(record.id, 'failed');
    },
  );
  const attempts = payout.attempts + 1;
  retryNotBefore.set(`${taskId}:${payout.recipient}`, ctx.now() + Math.min(300, 2 ** attempts));
}

/** The most a payout's route may cost: ppm of the payout, at least 1 sat, paid by the agent out of its fee. */
function maxRoutingFee(ctx: AgentContext, amountMsat: bigint): bigint {
  const proportional = (amountMsat * BigInt(ctx.maxRoutingFeePpm)) / 1_000_000n;
  return proportional > 1000n ? proportional : 1000n;
}
