// The agent's transitions as typed values: what buildTransition takes and parseTransition gives back.
import type { Hex32, PayoutRecipient, RefundReason, Resolution, SettleReason } from '../domain/types.ts';
import type { TransitionState } from './constants.ts';
import type { NostrEvent } from './schemas.ts';

/**
 * Proof that the hold was settled: on exactly one transition of a task, the one right after `settling`
 * (`settled`, `custody` or `payout_pending`), published only once the node reported SETTLED.
 */
export interface Settlement {
  paymentHash: Hex32;
  /** sha256(preimage) = paymentHash: anyone can check it. */
  preimage: Hex32;
  /** What the node received and settled. */
  amountMsat: bigint;
  /** The agent's fee, kept out of `amountMsat`. */
  feeMsat: bigint;
  /** Block height when the node reported the settlement. */
  height: number;
}

export interface PaidPayout {
  recipient: PayoutRecipient;
  amountMsat: bigint;
  /** Payment hash of the recipient's invoice (never the escrow hash). */
  paymentHash: Hex32;
  /** Preimage the recipient's node revealed when it was paid: proof of payment. */
  preimage: Hex32;
}

export interface TransitionDetails {
  offered: {
    /** The exact listing event, embedded so the task stays verifiable after the listing is edited or deleted. */
    listing: NostrEvent;
    /** Who decides a dispute, how many must agree, and under which rules: fixed before the money is in. */
    arbitration: OfferedArbitration;
    bolt11: string;
    paymentHash: Hex32;
    /** What the poster pays: the task amount. */
    amountMsat: bigint;
    /** The agent's fee, taken out of the amount at settlement. */
    feeMsat: bigint;
    /** Unix seconds after which the unpaid invoice is dead. */
    expiresAt: number;
    finalCltvDelta: number;
  };
  funded: {
    /** What the node holds. */
    amountMsat: bigint;
    htlcExpiryHeight: number;
    /** Height at which the node fails the HTLC back by itself. */
    claimDeadlineHeight: number;
    /** Height at which the agent's guardian acts (claim deadline - safety margin). */
    holdDeadlineHeight: number;
    /** When the claim window ends (unix seconds). */
    windowEndsAt: number;
  };
  claimed: { windowEndsAt: number };
  submitted: { windowEndsAt: number };
  /** openedBy: which party opened the dispute (the author of the `e:cause` action). */
  disputed: { windowEndsAt: number; arbitrators: Hex32[]; openedBy: PayoutRecipient };
  settling: { reason: SettleReason; resolution: Resolution; verdicts: VerdictRef[] };
  settled: { settlement: Settlement | null; verdicts: VerdictRef[] };
  custody: {
    heldMsat: bigint;
    resolution: Resolution;
    settlement: Settlement | null;
    verdicts: VerdictRef[];
  };
  payout_pending: {
    /** The recipient the reason and attempts are about. */
    recipient: PayoutRecipient;
    /** Every recipient whose payout waits for an invoice, `recipient` first. */
    recipients: PayoutRecipient[];
    reason: string;
    attempts: number;
    settlement: Settlement | null;
    verdicts: VerdictRef[];
  };
  paid: { payouts: PaidPayout[]; routingFeeMsat: bigint };
  refunding: { reason: RefundReason; verdicts: VerdictRef[] };
  refunded: { paymentHash: Hex32; amountMsat: bigint; reason: RefundReason; height: number };
  /** paymentHash: the invoice that will never be paid, or null when the task was cancelled before any. */
  cancelled: { paymentHash: Hex32 | null };
  expired: { paymentHash: Hex32 };
}

/** The arbitration an offer commits to (docs/protocol.md §5.2, `offered`). */
export interface OfferedArbitration {
  arbitrators: Hex32[];
  /** k of n; 0 when there are no arbitrators. */
  threshold: number;
  deadlineRule: 'refund' | 'custody';
  /** sha256 of the rulebook (docs/rules.md) and its version. */
  rulesSha256: Hex32;
  rulesVersion: number;
}

/** A verdict a transition acts on (agrees) or keeps on record as a dissent: the verdict label's event id. */
export interface VerdictRef {
  eventId: Hex32;
  /** The arbitrator who signed it (NIP-10's author element of the e tag). */
  by: Hex32;
  agrees: boolean;
}

export interface TransitionCommon {
  /** The listing's event id. */
  taskId: Hex32;
  /** The previous transition of this task; null only on the first (offered, or cancelled before any offer). */
  prev: Hex32 | null;
  /** The action event that caused this transition; null for timeouts and node events. */
  cause: Hex32 | null;
  poster: Hex32;
  worker: Hex32 | null;
}

export type Transition = {
  [S in TransitionState]: TransitionCommon & { state: S; details: TransitionDetails[S] };
}[TransitionState];

export type TransitionOf<S extends TransitionState> = Extract<Transition, { state: S }>;

export type TransitionInput = Transition & {
  /** Unix seconds: the agent's clock (ctx.now()). */
  createdAt: number;
  /** Relay where the listing can be found; "" when unknown. */
  relayHint?: string;
};
