// The public projection of a task: the fields of its record that the public log (the agent's signed transitions,
// the listing embedded in the offer and the people's actions they cite) determines, and nothing else. No
// timestamps (the log dates transitions, not the agent's clock at each step), no attempt counts or failed payouts
// (never published), no audit data, no preimage of a hold that was not settled. A database rebuilt from relays
// (escrow-agent reconcile-from-nostr) and the live one have the same public projection hash exactly when they
// agree on everything the log can say. Pure.
import { canonicalJson, sha256Hex } from './canonical.ts';
import type {
  Arbitration,
  Hex32,
  Ledger,
  PayoutRecipient,
  RefundReason,
  Resolution,
  SettleReason,
  Task,
  TaskState,
  Windows,
} from './types.ts';

export interface PublicFunding {
  paymentHash: Hex32;
  bolt11: string;
  invoiceExpiresAt: number;
  finalCltvDelta: number;
  receivedMsat: bigint;
  htlcExpiryHeight: number | null;
  claimDeadlineHeight: number | null;
}

/** A payout as the log tells it: `paid` lists each payout with its payment hash and proof; anything short of that
 * (due, in flight, waiting for an invoice) is one state, `not_succeeded`. */
export type PublicPayout =
  | { recipient: PayoutRecipient; amountMsat: bigint; state: 'not_succeeded' }
  | {
      recipient: PayoutRecipient;
      amountMsat: bigint;
      state: 'succeeded';
      paymentHash: Hex32;
      proofPreimage: Hex32;
      bolt11: string;
    };

export interface PublicTaskProjection {
  id: Hex32;
  state: TaskState;
  poster: Hex32;
  worker: Hex32 | null;
  amountMsat: bigint;
  feeMsat: bigint;
  title: string;
  windows: Windows;
  arbitration: Arbitration;
  funding: PublicFunding | null;
  reason: SettleReason | RefundReason | null;
  resolution: Resolution | null;
  disputedBy: Hex32 | null;
  workerInvoice: string | null;
  payouts: PublicPayout[];
  ledger: Ledger;
}

export function publicProjection(task: Task): PublicTaskProjection {
  const { funding } = task;
  return {
    id: task.id,
    state: task.state,
    poster: task.poster,
    worker: task.worker,
    amountMsat: task.amountMsat,
    feeMsat: task.feeMsat,
    title: task.title,
    windows: {
      claimSeconds: task.windows.claimSeconds,
      workSeconds: task.windows.workSeconds,
      reviewSeconds: task.windows.reviewSeconds,
      disputeSeconds: task.windows.disputeSeconds,
    },
    arbitration: {
      arbitrators: [...task.arbitration.arbitrators],
      threshold: task.arbitration.threshold,
      deadlineRule: task.arbitration.deadlineRule,
      rulesSha256: task.arbitration.rulesSha256,
    },
    funding:
      funding === null
        ? null
        : {
            paymentHash: funding.paymentHash,
            bolt11: funding.bolt11,
            invoiceExpiresAt: funding.invoiceExpiresAt,
            finalCltvDelta: funding.finalCltvDelta,
            receivedMsat: funding.receivedMsat,
            htlcExpiryHeight: funding.htlcExpiryHeight,
            claimDeadlineHeight: funding.claimDeadlineHeight,
          },
    reason: task.reason,
    resolution: task.resolution === null ? null : { ...task.resolution },
    disputedBy: task.disputedBy,
    workerInvoice: task.workerInvoice,
    payouts: task.payouts.map(
      (payout): PublicPayout =>
        payout.state === 'succeeded'
          ? {
              recipient: payout.recipient,
              amountMsat: payout.amountMsat,
              state: 'succeeded',
              paymentHash: payout.paymentHash,
              proofPreimage: payout.proofPreimage,
              bolt11: payout.bolt11,
            }
          : { recipient: payout.recipient, amountMsat: payout.amountMsat, state: 'not_succeeded' },
    ),
    ledger: {
      receivedMsat: task.ledger.receivedMsat,
      heldMsat: task.ledger.heldMsat,
      paidToWorkerMsat: task.ledger.paidToWorkerMsat,
      paidToPosterMsat: task.ledger.paidToPosterMsat,
      refundedMsat: task.ledger.refundedMsat,
      feeMsat: task.ledger.feeMsat,
      routingFeeMsat: task.ledger.routingFeeMsat,
    },
  };
}

/** The canonical JSON of one task's public projection (what its hash is computed over). */
export function publicProjectionJson(task: Task): string {
  return canonicalJson(publicProjection(task));
}

/** sha256 of the canonical JSON of every task's public projection, sorted by task id (code units). */
export function publicProjectionHash(tasks: readonly Task[]): string {
  const projections = tasks
    .map(publicProjection)
    .sort((left, right) => (left.id < right.id ? -1 : left.id > right.id ? 1 : 0));
  return sha256Hex(canonicalJson(projections));
}

/** The hash of one task's public projection: to list which tasks differ between two stores. */
export function publicTaskHash(task: Task): string {
  return sha256Hex(publicProjectionJson(task));
}
