// A posted task gets its hold invoice.
import { createHash, randomBytes } from 'node:crypto';
import { requiredFinalCltv } from '../../domain/deadlines.ts';
import type { Task } from '../../domain/types.ts';
import { applyCommand } from '../../engine/apply-command.ts';
import type { AgentContext } from '../../engine/context.ts';

/** Creates the hold invoice, then commits the funding (encrypted preimage) and the `offered` transition together. */
export async function offerTask(ctx: AgentContext, task: Task): Promise<void> {
  const preimage = randomBytes(32);
  const paymentHash = createHash('sha256').update(preimage).digest('hex');
  const finalCltvDelta = requiredFinalCltv(task.windows, ctx.policy);
  const invoice = await ctx.lightning
    .createHoldInvoice({
      paymentHash,
      amountMsat: task.amountMsat,
      description: `escrow ${task.id.slice(0, 12)}: ${task.title}`.slice(0, 200),
      expirySeconds: ctx.policy.invoiceExpirySeconds,
      finalCltvDelta,
    })
    .catch((error: unknown) => {
      // Retried by the reconciler; counted for the HighInvoiceFailureRate alert.
      ctx.metrics.lightningFailures.inc({ operation: 'create_invoice' });
      throw error;
    });
  // The preimage is stored in the same transaction that publishes the invoice: never one without the other.
  // A crash before this commit leaves an unpublished invoice nobody can pay; it expires at the node.
  const result = await applyCommand(ctx, {
    taskId: task.id,
    command: {
      type: 'offer',
      paymentHash,
      bolt11: invoice.bolt11,
      invoiceExpiresAt: invoice.expiresAt,
      finalCltvDelta,
    },
    alsoWrite: (tx) =>
      tx.fundings.insert({
        taskId: task.id,
        paymentHash,
        preimage,
        bolt11: invoice.bolt11,
        amountMsat: task.amountMsat,
      }),
  });
  if (!result.ok) {
    // Someone else offered or cancelled first: this invoice will never be published.
    await ctx.lightning.cancel(paymentHash).catch(() => undefined);
  }
}
