// The node's word on a task's hold invoice: a payment it accepted, or a hold it cancelled by itself. Node events
// only say "look again"; this asks the node for the hold's state and brings the task in line with it.
import type { Task } from '../domain/types.ts';
import { apply } from '../engine/apply.ts';
import type { AgentContext } from '../engine/context.ts';
import { markFunding } from '../engine/mark-funding.ts';
import { type HoldInvoice, isAcceptedHold } from '../ldk/port.ts';

/**
 * Brings the task in line with the node: a payment it accepted, or a hold it cancelled by itself. `listed` is a
 * reconcile round's listing of the node's OPEN and ACCEPTED holds: a hash found there is not looked up again.
 */
export async function handleHoldAccepted(
  ctx: AgentContext,
  task: Task,
  listed?: ReadonlyMap<string, HoldInvoice> | null,
): Promise<void> {
  const funding = task.funding;
  if (!funding) return;
  const hold = listed?.get(funding.paymentHash) ?? (await ctx.lightning.lookup(funding.paymentHash));
  if (hold === null) {
    ctx.log.error(
      { taskId: task.id, paymentHash: funding.paymentHash },
      'the node does not know this task’s hold invoice',
    );
    return;
  }
  if (isAcceptedHold(hold) && funding.receivedMsat === 0n) {
    await apply(
      ctx,
      task.id,
      {
        type: 'hold_accepted',
        paymentHash: funding.paymentHash,
        amountMsat: hold.receivedMsat,
        htlcExpiryHeight: hold.htlcExpiryHeight,
        claimDeadlineHeight: hold.claimDeadlineHeight,
      },
      (tx) =>
        tx.fundings
          .transition(funding.paymentHash, ['open'], 'accepted', {
            receivedMsat: hold.receivedMsat,
            htlcExpiryHeight: hold.htlcExpiryHeight,
            claimDeadlineHeight: hold.claimDeadlineHeight,
          })
          .then(() => undefined),
    );
  } else if (hold.state === 'CANCELED') {
    ctx.log.warn(
      { taskId: task.id, reason: hold.cancelReason },
      'the node cancelled a hold without our intent',
    );
    await apply(
      ctx,
      task.id,
      { type: 'hold_cancelled', paymentHash: funding.paymentHash },
      markFunding(funding.paymentHash, 'cancelled'),
    );
  } else if (hold.state === 'SETTLED') {
    ctx.log.error(
      { taskId: task.id },
      'the node settled a hold the agent never asked to settle: operator attention needed',
    );
  }
}
