// The outcome of a payout payment, as the node reports it: recorded on the task and on the payout's row in one
// transaction. A failed attempt leaves its error and the time of the next attempt on its row (the store, not
// this process, remembers the backoff: a restart or another replica honours it).
import type { Payout } from '../domain/types.ts';
import { apply } from '../engine/apply.ts';
import type { AgentContext } from '../engine/context.ts';
import type { PaymentResult } from '../ldk/port.ts';

/** Seconds to wait before the next attempt after `attempts` failed ones. */
export function payoutBackoffSeconds(attempts: number): number {
  return Math.min(300, 2 ** attempts);
}

export async function handlePaymentResult(
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
    return;
  }
  ctx.metrics.lightningFailures.inc({ operation: 'pay' });
  ctx.log.warn(
    { taskId, recipient: payout.recipient, reason: result.reason, detail: result.detail },
    'payout failed',
  );
  const reason = `${result.reason}: ${result.detail}`.slice(0, 300);
  const attempts = payout.attempts + 1;
  await apply(
    ctx,
    taskId,
    {
      type: 'payout_failed',
      recipient: payout.recipient,
      reason,
      invoiceUnusable: result.reason === 'invoice_expired',
    },
    async (tx) => {
      if (record) {
        await tx.payouts.finish(record.id, 'failed', {
          error: reason,
          nextAttemptAt: ctx.now() + payoutBackoffSeconds(attempts),
        });
      }
    },
  );
}
