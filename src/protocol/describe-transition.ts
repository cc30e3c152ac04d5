// Which public transition a change of task state is, and what it must say (docs/protocol.md, "Transitions").
// One transition per change of state; the label is the new state.
import type { Hex32, Payout, Policy, Task, TaskEvent } from '../domain/types.ts';
import type { TransitionState } from './constants.ts';
import type { NostrEvent } from './schemas.ts';
import type { Settlement, Transition } from './transition-types.ts';

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
  if (before?.state === after.state || after.state === 'posted') return null;
  const state = after.state as TransitionState;
  const settlement = event.type === 'hold_settled' ? await settlementOf(after, facts) : null;
  switch (state) {
    case 'offered': {
      const funding = after.funding!;
      return {
        state,
        details: {
          listing: facts.listing(),
          bolt11: funding.bolt11,
          paymentHash: funding.paymentHash,
          amountMsat: after.amountMsat,
          feeMsat: after.feeMsat,
          expiresAt: funding.invoiceExpiresAt,
          finalCltvDelta: funding.finalCltvDelta,
        },
      };
    }
    case 'funded': {
      const funding = after.funding!;
      return {
        state,
        details: {
          amountMsat: funding.receivedMsat,
          htlcExpiryHeight: funding.htlcExpiryHeight!,
          claimDeadlineHeight: funding.claimDeadlineHeight!,
          holdDeadlineHeight: funding.claimDeadlineHeight! - facts.policy.safetyMarginBlocks,
          windowEndsAt: after.fundedAt! + after.windows.claimSeconds,
        },
      };
    }
    case 'claimed':
      return { state, details: { windowEndsAt: after.claimedAt! + after.windows.workSeconds } };
    case 'submitted':
      return { state, details: { windowEndsAt: after.submittedAt! + after.windows.reviewSeconds } };
    case 'disputed':
      return {
        state,
        details: {
          windowEndsAt: after.disputedAt! + after.windows.disputeSeconds,
          arbitrators: facts.policy.arbitrators,
        },
      };
    case 'settling':
      return { state, details: { reason: after.reason as never, resolution: after.resolution! } };
    case 'settled':
      return { state, details: { settlement } };
    case 'custody':
      return {
        state,
        details: { heldMsat: after.ledger.heldMsat, resolution: after.resolution!, settlement },
      };
    case 'payout_pending': {
      const waiting = after.payouts.find((payout) => payout.state === 'needs_invoice')!;
      return {
        state,
        details: {
          recipient: waiting.recipient,
          reason:
            event.type === 'payout_failed'
              ? event.reason
              : `no payout invoice from the ${waiting.recipient} yet`,
          attempts: waiting.attempts,
          settlement,
        },
      };
    }
    case 'paid':
      return {
        state,
        details: { payouts: after.payouts.map(paidPayout), routingFeeMsat: after.ledger.routingFeeMsat },
      };
    case 'refunding':
      return { state, details: { reason: after.reason as never } };
    case 'refunded':
      return {
        state,
        details: {
          paymentHash: after.funding!.paymentHash,
          amountMsat: after.ledger.refundedMsat,
          reason: after.reason as never,
          height: facts.height,
        },
      };
    case 'cancelled':
      return { state, details: { paymentHash: after.funding?.paymentHash ?? null } };
    case 'expired':
      return { state, details: { paymentHash: after.funding!.paymentHash } };
    default:
      return assertNever(state);
  }
}

async function settlementOf(task: Task, facts: TransitionFacts): Promise<Settlement> {
  return {
    paymentHash: task.funding!.paymentHash,
    preimage: await facts.preimage(),
    amountMsat: task.ledger.receivedMsat,
    feeMsat: task.feeMsat,
    height: facts.height,
  };
}

function paidPayout(payout: Payout) {
  return {
    recipient: payout.recipient,
    amountMsat: payout.amountMsat,
    paymentHash: payout.paymentHash!,
    preimage: payout.proofPreimage!,
  };
}

function assertNever(value: never): never {
  throw new Error(`describeTransition: unhandled state ${String(value)}`);
}
