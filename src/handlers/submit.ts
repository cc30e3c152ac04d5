// The worker's submission, with the invoice the agent will pay (amount - fee) once the poster approves.

import type { Cause } from '../engine/cause.ts';
import type { AgentContext } from '../engine/context.ts';
import type { IntakeOutcome } from '../engine/outcome.ts';
import type { ActionOf } from './action-of.ts';
import { applyAction } from './apply-action.ts';
import { payoutInvoiceProblem, refusePayoutInvoice } from './check-payout-invoice.ts';

export async function handleSubmit(
  ctx: AgentContext,
  action: ActionOf<'submit'>,
  cause: Cause,
): Promise<IntakeOutcome> {
  const { command } = action;
  const task = await ctx.store.read((reader) => reader.tasks.get(action.taskId));
  // Only the claiming worker's invoice is worth checking: anyone else is refused by the decider.
  if (task && command.payoutInvoice && command.by === task.worker) {
    const problem = payoutInvoiceProblem(ctx, task, 'worker', command.payoutInvoice);
    if (problem) return refusePayoutInvoice(ctx, cause, problem, task);
  }
  return applyAction(ctx, action, cause);
}
