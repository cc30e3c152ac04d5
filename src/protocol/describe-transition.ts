// Which public transition a change of task state is, and what it must say (docs/protocol.md, "Transitions").
// One transition per change of state; the label is the new state.

import { sameResolution } from '../domain/decide.ts';
import { RULEBOOK_SHA256, RULEBOOK_VERSION } from '../domain/rulebook.ts';
import { expectPayout, payoutIn } from '../domain/task-guards.ts';
import type {
  Hex32,
  Payout,
  Policy,
  RecordedVerdict,
  Resolution,
  SettledTask,
  Task,
  TaskEvent,
} from '../domain/types.ts';
import type { NostrEvent } from './schemas.ts';
import type { Settlement, Transition, VerdictRef } from './transition-types.ts';

export interface TransitionFacts {
  policy: Policy;
  height: number;
  /** The listing event, needed by `offered`. */
  listing: () => NostrEvent;
  /** The escrow preimage, revealed only by the transition that follows the node's SETTLED report. */
  preimage: () => Promise<Hex32>;
}

type Body = Omit<Transition, 'taskId' | 'prev' | 'cause' | 'poster' | 'worker'>;

/** The transition body for `after`, reached from `before` by `event`; null when the state did not change. */
export async function describeTransition(
  before: Task | null,
  after: Task,
  event: TaskEvent,
  facts: TransitionFacts,
): Promise<Body | null> {
  // One transition per change of state; a verdict on money in custody is published even when the state stays.
  if ((before?.state === after.state && event.type !== 'verdict_given') || after.state === 'posted')
    return null;
  switch (after.state) {
    case 'offered':
      return {
        state: after.state,
        details: {
          listing: facts.listing(),
          bolt11: after.funding.bolt11,
          paymentHash: after.funding.paymentHash,
          amountMsat: after.amountMsat,
          feeMsat: after.feeMsat,
          expiresAt: after.funding.invoiceExpiresAt,
          finalCltvDelta: after.funding.finalCltvDelta,
          arbitration: {
            arbitrators: after.arbitration.arbitrators,
            threshold: after.arbitration.threshold,
            deadlineRule: after.arbitration.deadlineRule,
            rulesSha256: after.arbitration.rulesSha256 || RULEBOOK_SHA256,
            rulesVersion: RULEBOOK_VERSION,
          },
        },
      };
    case 'funded':
      return {
        state: after.state,
        details: {
          amountMsat: after.funding.receivedMsat,
          htlcExpiryHeight: after.funding.htlcExpiryHeight,
          claimDeadlineHeight: after.funding.claimDeadlineHeight,
          holdDeadlineHeight: after.funding.claimDeadlineHeight - facts.policy.safetyMarginBlocks,
          windowEndsAt: after.fundedAt + after.windows.claimSeconds,
        },
      };
    case 'claimed':
      return { state: after.state, details: { windowEndsAt: after.claimedAt + after.windows.workSeconds } };
    case 'submitted':
      return {
        state: after.state,
        details: { windowEndsAt: after.submittedAt + after.windows.reviewSeconds },
      };
    case 'disputed':
      return {
        state: after.state,
        details: {
          windowEndsAt: after.disputedAt + after.windows.disputeSeconds,
          arbitrators: after.arbitration.arbitrators,
          openedBy: after.disputedBy === after.poster ? 'poster' : 'worker',
        },
      };
    case 'settling':
      return {
        state: after.state,
        details: {
          reason: after.reason,
          resolution: after.resolution,
          verdicts: verdictRefs(before, after, event),
        },
      };
    case 'settled':
      return {
        state: after.state,
        details: {
          settlement: await settlementOf(after, event, facts),
          verdicts: verdictRefs(before, after, event),
        },
      };
    case 'custody':
      return {
        state: after.state,
        details: {
          heldMsat: after.ledger.heldMsat,
          resolution: after.resolution,
          settlement: await settlementOf(after, event, facts),
          verdicts: verdictRefs(before, after, event),
        },
      };
    case 'payout_pending': {
      const waiting = after.payouts.filter((payout) => payout.state === 'needs_invoice');
      const failed =
        event.type === 'payout_failed' ? waiting.find((p) => p.recipient === event.recipient) : undefined;
      const first = failed ?? waiting[0] ?? payoutIn(after, 'needs_invoice');
      const ordered = [first, ...waiting.filter((payout) => payout !== first)];
      return {
        state: after.state,
        details: {
          recipient: first.recipient,
          recipients: ordered.map((payout) => payout.recipient),
          reason:
            event.type === 'payout_failed'
              ? event.reason
              : `no payout invoice from the ${ordered.map((payout) => payout.recipient).join(' and the ')} yet`,
          attempts: first.attempts,
          settlement: await settlementOf(after, event, facts),
          verdicts: verdictRefs(before, after, event),
        },
      };
    }
    case 'paid':
      return {
        state: after.state,
        details: { payouts: after.payouts.map(paidPayout), routingFeeMsat: after.ledger.routingFeeMsat },
      };
    case 'refunding':
      return {
        state: after.state,
        details: { reason: after.reason, verdicts: verdictRefs(before, after, event) },
      };
    case 'refunded':
      return {
        state: after.state,
        details: {
          paymentHash: after.funding.paymentHash,
          amountMsat: after.ledger.refundedMsat,
          reason: after.reason,
          height: facts.height,
        },
      };
    case 'cancelled':
      return { state: after.state, details: { paymentHash: after.funding?.paymentHash ?? null } };
    case 'expired':
      return { state: after.state, details: { paymentHash: after.funding.paymentHash } };
    default:
      return assertNever(after);
  }
}

/**
 * The verdicts on record when a transition ends a dispute (by k verdicts, or by the rulebook at the hold deadline)
 * or a verdict moves money in custody: those that agree with the resolution taken, and the dissents. Only verdicts
 * that came as labels have an event id to cite.
 */
function verdictRefs(before: Task | null, task: Task, event: TaskEvent): VerdictRef[] {
  // An open dispute ends: from `disputed`, or (the node cancelling the hold) while settling into custody.
  const open =
    before?.state === 'disputed' ||
    (before?.state === 'settling' && before.resolution.kind === 'pending_verdict');
  const endsDispute = open && (event.type === 'settle_requested' || event.type === 'refund_requested');
  if (!endsDispute && event.type !== 'verdict_given') return [];
  const taken: Resolution =
    event.type === 'settle_requested' || event.type === 'verdict_given'
      ? event.resolution
      : { kind: 'poster' };
  return task.verdicts
    .filter((verdict): verdict is RecordedVerdict & { eventId: Hex32 } => verdict.eventId !== null)
    .map((verdict) => ({
      eventId: verdict.eventId,
      by: verdict.by,
      agrees: sameResolution(verdict.resolution, taken),
    }));
}

/** The settlement, told only by the transition that follows the node's SETTLED report. */
async function settlementOf(
  task: SettledTask,
  event: TaskEvent,
  facts: TransitionFacts,
): Promise<Settlement | null> {
  if (event.type !== 'hold_settled') return null;
  return {
    paymentHash: task.funding.paymentHash,
    preimage: await facts.preimage(),
    amountMsat: task.ledger.receivedMsat,
    feeMsat: task.feeMsat,
    height: facts.height,
  };
}

function paidPayout(payout: Payout) {
  const paid = expectPayout(payout, 'succeeded');
  return {
    recipient: paid.recipient,
    amountMsat: paid.amountMsat,
    paymentHash: paid.paymentHash,
    preimage: paid.proofPreimage,
  };
}

function assertNever(task: never): never {
  throw new Error(`describeTransition: unhandled state ${(task as Task).state}`);
}
