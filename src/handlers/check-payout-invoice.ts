// Money-safety rule 5: a payout invoice is checked when it is given, so the worker hears at once what is wrong
// with it; it is checked again right before it is paid (src/agent/jobs/pay-out.ts).

import { netPayableMsat, splitShares } from '../domain/money.ts';
import type { Payout, PayoutRecipient, Task } from '../domain/types.ts';
import type { AgentContext } from '../engine/context.ts';
import { checkPayoutInvoice } from '../ldk/bolt11/index.ts';

/** What a recipient will be owed, as far as it is known before settlement (the worker's full share by default). */
export function expectedPayoutMsat(task: Task, recipient: PayoutRecipient): bigint {
  const existing: Payout | undefined = task.payouts.find((payout) => payout.recipient === recipient);
  if (existing) return existing.amountMsat;
  const net = netPayableMsat(task.amountMsat, task.feeMsat);
  if (task.resolution?.kind === 'split') return splitShares(net, task.resolution.workerShareBps)[recipient];
  return net;
}

export function payoutInvoiceProblem(
  ctx: AgentContext,
  task: Task,
  recipient: PayoutRecipient,
  bolt11: string,
): string | null {
  const check = checkPayoutInvoice(bolt11, {
    expectedAmountMsat: expectedPayoutMsat(task, recipient),
    network: ctx.node.network,
    nowSeconds: ctx.now(),
    ownNodeId: ctx.node.id,
    escrowPaymentHash: task.funding?.paymentHash ?? '0'.repeat(64),
  });
  return check.ok ? null : check.reason;
}
