// The rulebook (docs/rules.md): what happens to a task when nobody decides, from facts anyone can read on the
// relays (the task's transitions, its windows and the node's block heights) and nothing else. Pure, so a
// verifier can re-run it over a task's history and check that the agent did what the rules say.
//
// The text of the rules is docs/rules.md; its sha256 is RULEBOOK_SHA256, committed in every offer. A test
// (test/docs/rules.test.ts) fails when the text and the constant part ways: change the rules, change the
// version, the text and the hash together.
import { guardianHeight } from './deadlines.ts';
import type { DecideContext, Task, TaskEvent } from './types.ts';

/** The rulebook's version: goes up with every change that affects money or deadlines (announced as rules_version). */
export const RULEBOOK_VERSION = 3;
/** sha256 of docs/rules.md, as committed in offers (`["rules", <sha256>, <version>]`). */
export const RULEBOOK_SHA256 = '68079104c7fefca824dcb292aef042a6d92f0374b7aed5cc3ea9eb13f1d02f88';

/** The height at which the guardian acts on this task (a safety margin before the node's claim deadline). */
export function guardianDue(
  task: Task,
  { height, policy }: Pick<DecideContext, 'height' | 'policy'>,
): boolean {
  const at = task.funding ? guardianHeight(task.funding, policy.safetyMarginBlocks) : null;
  return at !== null && height >= at;
}

/**
 * The rulebook's decision for a task nobody acted on, at this time and height: the events it calls for, or
 * null when no rule applies yet. The hold-deadline rule comes first in every state: it is the last line before
 * the node would give the HTLC back by itself.
 *
 * 1. offered, the invoice expired unpaid -> refund (nothing was received: expired).
 * 2. funded, no claim within the claim window -> refund.
 * 3. claimed, nothing submitted within the work window -> refund.
 * 4. submitted, the poster silent for the review window -> pay the worker (silence approves).
 * 5. disputed, no verdict as the hold deadline nears -> the task's deadline rule: refund, or custody.
 * 6. the hold deadline in funded or claimed -> refund; in submitted -> pay the worker.
 */
export function rulebook(task: Task, context: DecideContext): TaskEvent[] | null {
  const { now } = context;
  const at = now;
  const guardian = guardianDue(task, context);
  switch (task.state) {
    case 'offered':
      if (now >= task.funding.invoiceExpiresAt)
        return [{ type: 'refund_requested', at, reason: 'invoice_expired' }];
      return null;
    case 'funded':
      if (guardian) return [{ type: 'refund_requested', at, reason: 'hold_deadline' }];
      if (now >= task.fundedAt + task.windows.claimSeconds) {
        return [{ type: 'refund_requested', at, reason: 'claim_timeout' }];
      }
      return null;
    case 'claimed':
      if (guardian) return [{ type: 'refund_requested', at, reason: 'hold_deadline' }];
      if (now >= task.claimedAt + task.windows.workSeconds) {
        return [{ type: 'refund_requested', at, reason: 'work_timeout' }];
      }
      return null;
    case 'submitted':
      if (guardian) {
        return [{ type: 'settle_requested', at, reason: 'hold_deadline', resolution: { kind: 'worker' } }];
      }
      if (now >= task.submittedAt + task.windows.reviewSeconds) {
        return [{ type: 'settle_requested', at, reason: 'review_timeout', resolution: { kind: 'worker' } }];
      }
      return null;
    case 'disputed':
      if (!guardian) return null;
      return task.arbitration.deadlineRule === 'custody'
        ? [{ type: 'settle_requested', at, reason: 'hold_deadline', resolution: { kind: 'pending_verdict' } }]
        : [{ type: 'refund_requested', at, reason: 'hold_deadline' }];
    default:
      return null;
  }
}
