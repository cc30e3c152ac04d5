// A new invoice from a recipient whose payout is pending (or the poster's share of a split).

import { type IntakeOutcome, refuse } from '../agent/intake.ts';
import type { Cause } from '../engine/apply-command.ts';
import type { AgentContext } from '../engine/context.ts';
import type { ParsedAction } from '../protocol/parse-action.ts';
import { applyAction } from './apply-action.ts';
import { payoutInvoiceProblem } from './check-payout-invoice.ts';

export async function handlePayoutInvoice(
  ctx: AgentContext,
  action: ParsedAction,
  cause: Cause,
): Promise<IntakeOutcome> {
  const { command } = action;
  if (command.type !== 'payout_invoice') throw new Error('handlePayoutInvoice: not a payout_invoice');
  const task = await ctx.store.read((reader) => reader.tasks.get(action.taskId));
  const recipientKey = command.recipient === 'worker' ? task?.worker : task?.poster;
  if (task && command.by === recipientKey) {
    const problem = payoutInvoiceProblem(ctx, task, command.recipient, command.bolt11);
    if (problem) return refuse(ctx, cause, 'MalformedAction', problem, task.id);
  }
  return applyAction(ctx, action, cause);
}
