// A new invoice from a recipient whose payout is pending (or the poster's share of a split).

import type { Cause } from '../engine/cause.ts';
import type { AgentContext } from '../engine/context.ts';
import type { IntakeOutcome } from '../engine/outcome.ts';
import type { ActionOf } from './action-of.ts';
import { applyAction } from './apply-action.ts';
import { payoutInvoiceProblem, refusePayoutInvoice } from './check-payout-invoice.ts';

export async function handlePayoutInvoice(
  ctx: AgentContext,
  action: ActionOf<'payout_invoice'>,
  cause: Cause,
): Promise<IntakeOutcome> {
  const { command } = action;
  const task = await ctx.store.read((reader) => reader.tasks.get(action.taskId));
  const recipientKey = command.recipient === 'worker' ? task?.worker : task?.poster;
  if (task && command.by === recipientKey) {
    const problem = payoutInvoiceProblem(ctx, task, command.recipient, command.bolt11);
    if (problem) return refusePayoutInvoice(ctx, cause, problem, task);
  }
  return applyAction(ctx, action, cause);
}
