// Money-safety rule 5: a payout invoice is checked when it is given, so the worker hears at once what is wrong
// with it; it is checked again right before it is paid (src/agent/jobs/pay-out.ts).

import { netPayableMsat, splitShares } from '../domain/money.ts';
import type { Payout, PayoutRecipient, Task } from '../domain/types.ts';
import type { Cause } from '../engine/cause.ts';
import type { AgentContext } from '../engine/context.ts';
import type { IntakeOutcome } from '../engine/outcome.ts';
import { rejectInTransaction } from '../engine/refuse.ts';
import { checkPayoutInvoice, tryDecodeBolt11 } from '../ldk/bolt11/index.ts';
import type { ReasonCode } from '../protocol/reasons.ts';

/** What a recipient will be owed, as far as it is known before settlement (the worker's full share by default). */
export function expectedPayoutMsat(task: Task, recipient: PayoutRecipient): bigint {
  const existing: Payout | undefined = task.payouts.find((payout) => payout.recipient === recipient);
  if (existing) return existing.amountMsat;
  const net = netPayableMsat(task.amountMsat, task.feeMsat);
  if (task.resolution?.kind === 'split') return splitShares(net, task.resolution.workerShareBps)[recipient];
  return net;
}

export interface PayoutInvoiceProblem {
  /** `AmountMismatch` for an invoice for another amount than the payout, or none; `MalformedAction` otherwise. */
  code: Extract<ReasonCode, 'AmountMismatch' | 'MalformedAction'>;
  /** `invalid: …`, ready to be sent to the invoice's author. */
  reason: string;
}

export function payoutInvoiceProblem(
  ctx: AgentContext,
  task: Task,
  recipient: PayoutRecipient,
  bolt11: string,
): PayoutInvoiceProblem | null {
  const expected = expectedPayoutMsat(task, recipient);
  const check = checkPayoutInvoice(bolt11, {
    expectedAmountMsat: expected,
    network: ctx.node.network,
    nowSeconds: ctx.now(),
    ownNodeId: ctx.node.id,
    escrowPaymentHash: task.funding?.paymentHash ?? '0'.repeat(64),
  });
  if (check.ok) return null;
  const share =
    task.resolution?.kind === 'split' ? `the ${recipient}'s share of amount - fee` : 'amount - fee';
  if (check.code === 'AmountMissing') {
    // An amount-less invoice lets the payer choose: the agent pays only one that names what is owed.
    return {
      code: 'AmountMismatch',
      reason: `invalid: the invoice has no amount; it must be for exactly ${expected} msat (${share})`,
    };
  }
  if (check.code === 'AmountMismatch') {
    const decoded = tryDecodeBolt11(bolt11);
    const asked = decoded.ok ? decoded.invoice.amountMsat : null;
    return {
      code: 'AmountMismatch',
      reason: `invalid: the invoice is for ${asked} msat; it must be for exactly ${expected} msat (${share})`,
    };
  }
  return { code: 'MalformedAction', reason: check.reason };
}

/** Answers the invoice's author with the problem, and records the event as refused (one transaction). */
export async function refusePayoutInvoice(
  ctx: AgentContext,
  cause: Cause,
  problem: PayoutInvoiceProblem,
  task: Task,
): Promise<IntakeOutcome> {
  await ctx.store.transaction((tx) =>
    rejectInTransaction(ctx, tx, cause, problem.code, problem.reason, task.id),
  );
  return { status: 'refused', code: problem.code, reason: problem.reason };
}
