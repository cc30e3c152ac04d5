// The worker's submission, with the invoice the agent will pay (amount - fee) once the poster approves.

import { type IntakeOutcome, refuse } from '../agent/intake.ts';
import type { Cause } from '../engine/apply-command.ts';
import type { AgentContext } from '../engine/context.ts';
import type { ParsedAction } from '../protocol/parse-action.ts';
import { applyAction } from './apply-action.ts';
import { payoutInvoiceProblem } from './check-payout-invoice.ts';

export async function handleSubmit(
  ctx: AgentContext,
  action: ParsedAction,
  cause: Cause,
): Promise<IntakeOutcome> {
  const { command } = action;
  if (command.type !== 'submit') throw new Error('handleSubmit: not a submit');
  const task = await ctx.store.read((reader) => reader.tasks.get(action.taskId));
  // Only the claiming worker's invoice is worth checking: anyone else is refused by the decider.
  if (task && command.payoutInvoice && command.by === task.worker) {
    const problem = payoutInvoiceProblem(ctx, task, 'worker', command.payoutInvoice);
    if (problem) return refuse(ctx, cause, 'MalformedAction', problem, task.id);
  }
  return applyAction(ctx, action, cause);
}
