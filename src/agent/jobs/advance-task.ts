// The effect runner's one step for one task: whatever the task's committed state calls for at the Lightning
// node, done now. Node events only wake this up; it always asks the node itself (events are hints, the store is
// the truth), so running it twice, late, or after a crash does the right thing.
import { createHash, randomBytes } from 'node:crypto';
import { requiredFinalCltv } from '../../domain/deadlines.ts';
import type { Command, Task } from '../../domain/types.ts';
import { TERMINAL_STATES } from '../../domain/types.ts';
import { type ApplyResult, applyCommand } from '../../engine/apply-command.ts';
import type { AgentContext } from '../../engine/context.ts';
import { isLightningError } from '../../ldk/lightning-error.ts';
import { payOut } from './pay-out.ts';

export async function advanceTask(ctx: AgentContext, taskId: string): Promise<void> {
  const task = await ctx.store.read((reader) => reader.tasks.get(taskId));
  if (task === null || TERMINAL_STATES.has(task.state)) return;
  switch (task.state) {
    case 'posted':
      return offerTask(ctx, task);
    case 'offered':
    case 'funded':
    case 'claimed':
    case 'submitted':
    case 'disputed':
      await syncHold(ctx, task);
      await tick(ctx, taskId);
      return;
    case 'settling':
      return settleHold(ctx, task);
    case 'refunding':
      return cancelHold(ctx, task);
    case 'settled':
    case 'custody':
    case 'payout_pending':
      return payOut(ctx, task);
    default:
      return;
  }
}

/** Creates the hold invoice, then commits the funding (encrypted preimage) and the `offered` transition together. */
async function offerTask(ctx: AgentContext, task: Task): Promise<void> {
  const preimage = randomBytes(32);
  const paymentHash = createHash('sha256').update(preimage).digest('hex');
  const finalCltvDelta = requiredFinalCltv(task.windows, ctx.policy);
  const invoice = await ctx.lightning.createHoldInvoice({
    paymentHash,
    amountMsat: task.amountMsat,
    description: `escrow ${task.id.slice(0, 12)}: ${task.title}`.slice(0, 200),
    expirySeconds: ctx.policy.invoiceExpirySeconds,
    finalCltvDelta,
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

/** Brings the task in line with the node: a payment it accepted, or a hold it cancelled by itself. */
async function syncHold(ctx: AgentContext, task: Task): Promise<void> {
  const funding = task.funding;
  if (!funding) return;
  const hold = await ctx.lightning.lookup(funding.paymentHash);
  if (hold === null) {
    ctx.log.error(
      { taskId: task.id, paymentHash: funding.paymentHash },
      'the node does not know this task’s hold invoice',
    );
    return;
  }
  if (hold.state === 'ACCEPTED' && funding.receivedMsat === 0n) {
    await apply(
      ctx,
      task.id,
      {
        type: 'hold_accepted',
        paymentHash: funding.paymentHash,
        amountMsat: hold.receivedMsat,
        htlcExpiryHeight: hold.htlcExpiryHeight!,
        claimDeadlineHeight: hold.claimDeadlineHeight!,
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

async function tick(ctx: AgentContext, taskId: string): Promise<void> {
  await apply(ctx, taskId, { type: 'tick' });
}

async function settleHold(ctx: AgentContext, task: Task): Promise<void> {
  const { paymentHash } = task.funding!;
  const preimage = await ctx.store.transaction((tx) => tx.fundings.revealPreimage(paymentHash));
  const started = Date.now();
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
  ctx.metrics.settlementDuration.observe((Date.now() - started) / 1000);
  await apply(ctx, task.id, { type: 'hold_settled', paymentHash }, markFunding(paymentHash, 'settled'));
}

async function cancelHold(ctx: AgentContext, task: Task): Promise<void> {
  const { paymentHash } = task.funding!;
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

function markFunding(paymentHash: string, to: 'settled' | 'cancelled') {
  return async (tx: Parameters<NonNullable<Parameters<typeof applyCommand>[1]['alsoWrite']>>[0]) => {
    // A funding settles only from accepted; it is cancelled from open (never paid) or accepted.
    await tx.fundings.transition(paymentHash, to === 'settled' ? ['accepted'] : ['open', 'accepted'], to);
  };
}

export async function apply(
  ctx: AgentContext,
  taskId: string,
  command: Command,
  alsoWrite?: Parameters<typeof applyCommand>[1]['alsoWrite'],
): Promise<ApplyResult> {
  const result = await applyCommand(ctx, { taskId, command, alsoWrite });
  if (!result.ok && result.rejection.code !== 'NothingToDo') {
    ctx.log.debug({ taskId, command: command.type, reason: result.rejection.message }, 'no change');
  }
  return result;
}
