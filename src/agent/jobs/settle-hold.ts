// The `settling` intent, finished at the node: settle with the preimage, and record `settled` only once the node
// shows the hold SETTLED for the full amount.
import type { SettlingTask } from '../../domain/types.ts';
import { apply } from '../../engine/apply.ts';
import type { AgentContext } from '../../engine/context.ts';
import { markFunding } from '../../engine/mark-funding.ts';
import { isLightningError } from '../../ldk/lightning-error.ts';

export async function settleHold(ctx: AgentContext, task: SettlingTask): Promise<void> {
  const { paymentHash } = task.funding;
  const preimage = await ctx.store.transaction((tx) => tx.fundings.revealPreimage(paymentHash));
  // The settle was decided (an approval, a verdict, review silence, the guardian) by the task's latest transition.
  const decidedAt = (await ctx.store.read((reader) => reader.tasks.history(task.id))).at(-1)?.createdAt;
  try {
    await ctx.lightning.settle(Buffer.from(preimage).toString('hex'), paymentHash);
  } catch (error) {
    if (isLightningError(error, 'AlreadyCanceled')) {
      ctx.log.error({ taskId: task.id }, 'settle refused: the node had already cancelled the hold');
      await apply(
        ctx,
        task.id,
        { type: 'hold_cancelled', paymentHash },
        markFunding(paymentHash, 'cancelled'),
      );
      return;
    }
    ctx.metrics.lightningFailures.inc({ operation: 'settle' });
    throw error;
  }
  // Pay only once the node shows the hold SETTLED for the full amount.
  const hold = await ctx.lightning.lookup(paymentHash);
  if (hold?.state !== 'SETTLED' || hold.receivedMsat < task.ledger.receivedMsat) {
    ctx.log.warn(
      { taskId: task.id, state: hold?.state },
      'settle returned but the node does not show SETTLED yet',
    );
    return;
  }
  if (decidedAt !== undefined)
    ctx.metrics.settlementDuration.observe(Math.max(0, Date.now() / 1000 - decidedAt));
  await apply(ctx, task.id, { type: 'hold_settled', paymentHash }, markFunding(paymentHash, 'settled'));
}
