// Guards and accessors that narrow a task (or a payout) where the state alone does not tell the compiler what
// the record has: `fundingOf(task)` for code that holds a plain Task, `payoutIn(task, 'needs_invoice')` for a
// payout the state promises. A broken invariant is an InternalError('Invariant'), never a silent null.
import { InternalError } from './errors.ts';
import type { AcceptedFunding, Funding, Payout, PayoutState, Task } from './types.ts';

/** A task whose hold invoice exists (every state from `offered` on, and `cancelled` after an offer). */
export type TaskWithFunding = Task & { funding: Funding };

export function hasFunding(task: Task): task is TaskWithFunding {
  return task.funding !== null;
}

/** The task's funding; throws when the task has none (a `posted` task, or one cancelled before an offer). */
export function fundingOf(task: Task): Funding {
  if (task.funding === null) {
    throw new InternalError('Invariant', `task ${task.id} (${task.state}) has no hold invoice`);
  }
  return task.funding;
}

/** True once the node accepted the HTLC: the heights are known. */
export function isAccepted(funding: Funding): funding is AcceptedFunding {
  return (
    funding.htlcExpiryHeight !== null && funding.claimDeadlineHeight !== null && funding.acceptedAt !== null
  );
}

/** The task's accepted funding; throws when there is none, or the node has not accepted the HTLC. */
export function acceptedFundingOf(task: Task): AcceptedFunding {
  const funding = fundingOf(task);
  if (!isAccepted(funding)) {
    throw new InternalError('Invariant', `task ${task.id} (${task.state}): the hold was not accepted`);
  }
  return funding;
}

/** The payout in one of `states`, narrowed; throws when the payout is in another state. */
export function expectPayout<S extends PayoutState>(
  payout: Payout,
  ...states: readonly S[]
): Extract<Payout, { state: S }> {
  if ((states as readonly PayoutState[]).includes(payout.state))
    return payout as Extract<Payout, { state: S }>;
  throw new InternalError(
    'Invariant',
    `the ${payout.recipient} payout is ${payout.state}, not ${states.join('|')}`,
  );
}

/** The task's first payout in `state`; throws when there is none. */
export function payoutIn<S extends PayoutState>(task: Task, state: S): Extract<Payout, { state: S }> {
  const payout = task.payouts.find((candidate) => candidate.state === state);
  if (payout === undefined) {
    throw new InternalError('Invariant', `task ${task.id} (${task.state}) has no ${state} payout`);
  }
  return expectPayout(payout, state);
}
