// The `refunding` intent, finished at the node: cancel the hold, and record the refund only once the node shows
// it CANCELED.
import type { RefundingTask } from '../../domain/types.ts';
import { apply } from '../../engine/apply.ts';
import type { AgentContext } from '../../engine/context.ts';
import { markFunding } from '../../engine/mark-funding.ts';
import { isLightningError } from '../../ldk/lightning-error.ts';

export async function cancelHold(ctx: AgentContext, task: RefundingTask): Promise<void> {
  const { paymentHash } = task.funding;
  try {
    await ctx.lightning.cancel(paymentHash);
  } catch (error) {
    ctx.metrics.lightningFailures.inc({ operation: 'cancel' });
    if (isLightningError(error, 'AlreadySettled')) {
      ctx.log.error(
        { taskId: task.id },
        'cancel refused: the node had already settled the hold: operator attention needed',
      );
      return;
    }
    throw error;
  }
  const hold = await ctx.lightning.lookup(paymentHash);
  if (hold?.state !== 'CANCELED') return;
  await apply(ctx, task.id, { type: 'hold_cancelled', paymentHash }, markFunding(paymentHash, 'cancelled'));
}
