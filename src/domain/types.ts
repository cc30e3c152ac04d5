// The vocabulary of the escrow: task states, the commands people and the node send, the events the decider
// emits, and the task record those events fold into. Pure data, no I/O. Money is always integer msat (bigint).

export const TASK_STATES = [
  'posted', // the listing is known; no invoice yet
  'offered', // a hold invoice was published; nothing received
  'funded', // the node holds the poster's HTLC (ACCEPTED)
  'claimed', // a worker took the task
  'submitted', // the worker delivered; the review window runs
  'disputed', // poster or worker asked the arbitrators
  'settling', // intent: settle the hold (approval, review silence, verdict, guardian rule)
  'settled', // the node settled the hold; the worker's payout is due or in flight
  'custody', // settled and held by the agent for a split verdict, or for a dispute that outlived the hold
  'payout_pending', // payouts failed too often; waiting for a new invoice from the recipient
  'paid', // every payout succeeded (terminal)
  'refunding', // intent: cancel the hold (cancel, timeout, verdict for the poster, guardian rule)
  'refunded', // the node cancelled a hold that had received money: the poster got it back (terminal)
  'cancelled', // the poster cancelled before paying (terminal, nothing received)
  'expired', // the invoice expired unpaid (terminal, nothing received)
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(['paid', 'refunded', 'cancelled', 'expired']);
/** States in which the node holds (or may hold) the poster's HTLC: the hold deadline matters. */
export const HOLDING_STATES: ReadonlySet<TaskState> = new Set(['funded', 'claimed', 'submitted', 'disputed']);

export type Hex32 = string; // 64 lowercase hex characters (event ids, pubkeys, payment hashes)

/** Who ends up with the money when a task is settled. */
export type Resolution =
  | { kind: 'worker' } // the worker gets amount - fee
  | { kind: 'poster' } // after custody only: the poster gets amount - fee back over Lightning
  | { kind: 'split'; workerShareBps: number } // amount - fee divided; worker gets the basis points, poster the rest
  | { kind: 'pending_verdict' }; // custody while a dispute is open (it would have outlived the hold)

export type PayoutRecipient = 'worker' | 'poster';
export type PayoutState = 'due' | 'in_flight' | 'succeeded' | 'needs_invoice';

/** The fields every payout record has; the states below say which are set. */
interface PayoutFields {
  recipient: PayoutRecipient;
  amountMsat: bigint;
  state: PayoutState;
  /** The invoice to pay; null until the recipient gave one. */
  bolt11: string | null;
  /** Payment hash of the current attempt's invoice (never the escrow hash). */
  paymentHash: Hex32 | null;
  attempts: number;
  routingFeeMsat: bigint;
  /** Preimage the recipient's node revealed: proof of payment. */
  proofPreimage: Hex32 | null;
  /** A Lightning address (LUD-16) the recipient gave instead of an invoice: the agent fetches invoices from it. */
  address?: string | null;
}

/** Ready to be paid: the invoice is known, no attempt is running. */
export interface DuePayout extends PayoutFields {
  state: 'due';
  bolt11: string;
  paymentHash: null;
  proofPreimage: null;
}

/** Waiting for an invoice from the recipient (none given, or the last one failed too often). */
export interface NeedsInvoicePayout extends PayoutFields {
  state: 'needs_invoice';
  paymentHash: null;
  proofPreimage: null;
}

/** An attempt was committed and may be running at the node: its payment hash is known. */
export interface InFlightPayout extends PayoutFields {
  state: 'in_flight';
  bolt11: string;
  paymentHash: Hex32;
  proofPreimage: null;
}

/** Paid: the recipient's node revealed the preimage. */
export interface SucceededPayout extends PayoutFields {
  state: 'succeeded';
  bolt11: string;
  paymentHash: Hex32;
  proofPreimage: Hex32;
}

export type Payout = DuePayout | NeedsInvoicePayout | InFlightPayout | SucceededPayout;

export interface Windows {
  /** Seconds a funded task waits for a worker before it is refunded. */
  claimSeconds: number;
  /** Seconds a worker has after claiming to submit. */
  workSeconds: number;
  /** Seconds the poster has to review; silence approves. */
  reviewSeconds: number;
  /** Seconds arbitrators have to give a verdict. */
  disputeSeconds: number;
}

/** Who decides a dispute on a task, committed when it is posted (and published in its offer): never changed after. */
export interface Arbitration {
  /** The arbitrators named for this task (from the agent's active set); empty: the task takes no disputes. */
  arbitrators: Hex32[];
  /** How many verdicts must agree (k of n); 0 when there are no arbitrators. */
  threshold: number;
  /** What the rulebook does with a dispute still open as the hold deadline nears. */
  deadlineRule: 'refund' | 'custody';
  /** sha256 of the rulebook (docs/rules.md) the task runs under. */
  rulesSha256: string;
}

/** A party's statement in a dispute. */
export interface Statement {
  by: Hex32;
  text: string;
  at: number;
}

/** A verdict the agent recorded (from a named arbitrator, one per arbitrator). */
export interface RecordedVerdict {
  by: Hex32;
  resolution: Resolution;
  at: number;
  /** The verdict label's event id (null for a verdict given without one, e.g. in a unit test). */
  eventId: Hex32 | null;
}

/** The hold invoice of a task, from the moment it is offered. */
export interface Funding {
  paymentHash: Hex32;
  bolt11: string;
  /** Unix seconds after which the unpaid invoice is dead. */
  invoiceExpiresAt: number;
  /** The final CLTV delta we asked the node for. */
  finalCltvDelta: number;
  receivedMsat: bigint;
  /** Height at which the poster's HTLC expires (once accepted). */
  htlcExpiryHeight: number | null;
  /** Height at which the node fails the HTLC back by itself (LDK claim_deadline, LND expiry - auto-cancel). */
  claimDeadlineHeight: number | null;
  acceptedAt: number | null;
}

/** A funding whose HTLC the node accepted: its heights are known. */
export interface AcceptedFunding extends Funding {
  htlcExpiryHeight: number;
  claimDeadlineHeight: number;
  acceptedAt: number;
}

/**
 * Every field a task record has, as the store keeps it (each one present, null until the step that sets it).
 * `Task` below narrows it by state: what each state is sure to have is typed as set.
 */
export interface TaskRecord {
  id: Hex32; // the task listing's event id
  state: TaskState;
  poster: Hex32;
  worker: Hex32 | null;
  amountMsat: bigint;
  feeMsat: bigint;
  title: string;
  windows: Windows;
  postedAt: number;
  funding: Funding | null;
  fundedAt: number | null;
  claimedAt: number | null;
  submittedAt: number | null;
  disputedAt: number | null;
  disputedBy: Hex32 | null;
  /** Who decides a dispute (committed at posting). */
  arbitration: Arbitration;
  /** Dispute statements, at most one per party, in the order given. */
  statements: Statement[];
  /** Verdicts recorded, one per arbitrator, agreeing or not (a dissent stays on record). */
  verdicts: RecordedVerdict[];
  /** When the money went into the agent's custody (unix seconds), for the custody time bound. */
  custodySince: number | null;
  /** Why the task is settling or refunding, or how it ended (for the public log and metrics). */
  reason: SettleReason | RefundReason | null;
  resolution: Resolution | null;
  /** The worker's payout invoice given at submission (validated by the agent before use). */
  workerInvoice: string | null;
  payouts: Payout[];
  ledger: Ledger;
  /** Number of events folded into this task (the audit chain's length). */
  version: number;
}

/** The listing is known; no invoice yet. */
export interface PostedTask extends TaskRecord {
  state: 'posted';
  worker: null;
  funding: null;
  reason: null;
}

/** A hold invoice was published; nothing received. */
export interface OfferedTask extends TaskRecord {
  state: 'offered';
  worker: null;
  funding: Funding;
  reason: null;
}

/** The node holds the poster's HTLC. */
export interface FundedTask extends TaskRecord {
  state: 'funded';
  worker: null;
  funding: AcceptedFunding;
  fundedAt: number;
  reason: null;
}

/** A worker took the task. */
export interface ClaimedTask extends TaskRecord {
  state: 'claimed';
  worker: Hex32;
  funding: AcceptedFunding;
  fundedAt: number;
  claimedAt: number;
  reason: null;
}

/** The worker delivered; the review window runs. */
export interface SubmittedTask extends TaskRecord {
  state: 'submitted';
  worker: Hex32;
  funding: AcceptedFunding;
  fundedAt: number;
  claimedAt: number;
  submittedAt: number;
  reason: null;
}

/** The poster or the worker asked the arbitrators (after a claim, with or without a submission). */
export interface DisputedTask extends TaskRecord {
  state: 'disputed';
  worker: Hex32;
  funding: AcceptedFunding;
  fundedAt: number;
  claimedAt: number;
  disputedAt: number;
  disputedBy: Hex32;
  reason: null;
}

/** Settling (the intent) and every state after the node settled: the worker and the resolution are known. */
export interface SettledTask<S extends SettledState = SettledState> extends TaskRecord {
  state: S;
  worker: Hex32;
  funding: AcceptedFunding;
  fundedAt: number;
  claimedAt: number;
  reason: SettleReason;
  resolution: Resolution;
}
export type SettledState = 'settling' | 'settled' | 'custody' | 'payout_pending' | 'paid';
export type SettlingTask = SettledTask<'settling'>;

/** The intent to cancel the hold. The funding may or may not have been accepted (a payment can race it). */
export interface RefundingTask extends TaskRecord {
  state: 'refunding';
  funding: Funding;
  reason: RefundReason;
}

/** The node cancelled a hold that had received money (terminal). */
export interface RefundedTask extends TaskRecord {
  state: 'refunded';
  funding: Funding;
  reason: RefundReason;
}

/** The poster cancelled before paying: before any invoice (no funding) or while it was unpaid (terminal). */
export interface CancelledTask extends TaskRecord {
  state: 'cancelled';
  funding: Funding | null;
  reason: 'poster_cancelled';
}

/** The invoice was cancelled unpaid for another reason than the poster's (terminal, nothing received). */
export interface ExpiredTask extends TaskRecord {
  state: 'expired';
  funding: Funding;
  reason: RefundReason;
}

/** A task, narrowed by its state: `task.state === 'claimed'` makes `task.worker` a Hex32. */
export type Task =
  | PostedTask
  | OfferedTask
  | FundedTask
  | ClaimedTask
  | SubmittedTask
  | DisputedTask
  | SettledTask<'settling'>
  | SettledTask<'settled'>
  | SettledTask<'custody'>
  | SettledTask<'payout_pending'>
  | SettledTask<'paid'>
  | RefundingTask
  | RefundedTask
  | CancelledTask
  | ExpiredTask;

/** The task in one of the given states. */
export type TaskIn<S extends TaskState> = Extract<Task, { state: S }>;

/**
 * Where every msat of a task is. Invariant (conservation):
 * receivedMsat = paidToWorkerMsat + paidToPosterMsat + refundedMsat + feeMsat + heldMsat
 * where feeMsat is counted only once the hold settled.
 */
export interface Ledger {
  receivedMsat: bigint;
  heldMsat: bigint; // in the HTLC, or settled and not yet paid out (custody)
  paidToWorkerMsat: bigint;
  paidToPosterMsat: bigint;
  refundedMsat: bigint; // returned by cancelling the hold
  feeMsat: bigint; // the agent's fee, earned at settlement
  routingFeeMsat: bigint; // paid by the agent out of its fee to route payouts
}

export interface FeeRule {
  baseMsat: bigint;
  ppm: number; // parts per million of the amount
}

/** The per-pubkey rate gate of the intake: `burst` events at once, refilled at `perMinute`. */
export interface RateLimit {
  perMinute: number;
  burst: number;
}

/** The rate gate's default (policy.rate_per_minute, policy.rate_burst), published when a policy names none. */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimit> = { perMinute: 60, burst: 30 };

export interface Policy {
  minAmountMsat: bigint;
  maxAmountMsat: bigint;
  fee: FeeRule;
  windows: Windows;
  /** Blocks before the node's claim deadline at which the guardian acts. */
  safetyMarginBlocks: number;
  /** Blocks the backend cancels a held invoice before the HTLC expires by itself (LND 18, LDK 21 via claim_deadline). */
  backendAutoCancelBlocks: number;
  /** Largest final CLTV delta the backend (and payers) can honour. */
  maxFinalCltvDelta: number;
  /** Invoice expiry in seconds for the hold invoice (unpaid). */
  invoiceExpirySeconds: number;
  /** The active arbitrators: a task names some of them (default: all, any one decides). */
  arbitrators: Hex32[];
  /** Names and fees of the active arbitrators, announced in the policy (absent: none announced). */
  arbitratorProfiles?: ArbitratorProfile[];
  /** What the guardian does with a dispute about to outlive the hold. */
  disputeDeadlineRule: 'refund' | 'custody';
  /** Longest time money may sit in a hold (all of a task's windows together), in seconds. */
  maxHoldSeconds: number;
  /** Longest dispute statement, in characters. */
  maxStatementLength: number;
  /** Seconds money may stay in custody before the operator is alerted. */
  custodyMaxSeconds: number;
  maxPayoutAttempts: number;
  maxTitleLength: number;
  /** The per-pubkey rate limit the intake enforces and the announcement publishes (absent: DEFAULT_RATE_LIMIT). */
  rateLimit?: RateLimit;
  /** The agent's Lightning node id (33-byte compressed pubkey, hex), announced so that anyone can check that a hold
   * invoice in an offer was signed by the agent's node (absent: not announced). */
  lightningNodeId?: string;
  /** False while the operator has paused the agent (maintenance mode): new listings are refused (NotAcceptingTasks)
   * and the announcement says so; tasks already posted are served as usual. Absent: accepting. */
  acceptingTasks?: boolean;
}

export interface ArbitratorProfile {
  pubkey: Hex32;
  name: string;
  /** The arbitrator's fee in the policy's terms (announced; see docs/rules.md). */
  feeBaseMsat: bigint;
  feePpm: number;
}

export interface DecideContext {
  now: number; // unix seconds
  height: number; // current block height at the node
  policy: Policy;
}

// ---- Commands: what someone asks for. `by` is the verified pubkey of the signer. ----
export type Command =
  | {
      type: 'post';
      taskId: Hex32;
      by: Hex32;
      amountMsat: bigint;
      title: string;
      windows?: Partial<Windows>;
      /** An unfinished task at the same listing address (30402:<poster>:<d>), as the store knows it: an edited
       * listing is then refused (the post-task handler looks it up; the decider stays pure). */
      openTaskAtAddress?: Hex32 | null;
      /** Arbitrators the listing names (absent: every active arbitrator). */
      arbitrators?: Hex32[];
      /** How many of them must agree (absent: 1). */
      threshold?: number;
    }
  | { type: 'offer'; paymentHash: Hex32; bolt11: string; invoiceExpiresAt: number; finalCltvDelta: number }
  | {
      type: 'hold_accepted';
      paymentHash: Hex32;
      amountMsat: bigint;
      htlcExpiryHeight: number;
      claimDeadlineHeight: number;
    }
  | { type: 'claim'; by: Hex32 }
  | { type: 'submit'; by: Hex32; payoutInvoice: string | null }
  | { type: 'approve'; by: Hex32 }
  | { type: 'cancel'; by: Hex32 }
  | { type: 'dispute'; by: Hex32; reason: string }
  | {
      type: 'verdict';
      by: Hex32;
      outcome: 'worker' | 'poster' | 'split';
      workerShareBps?: number;
      /** The verdict label's event id, kept with the verdict (the transition that acts on it cites it). */
      eventId?: Hex32 | null;
    }
  | { type: 'tick' }
  | { type: 'hold_settled'; paymentHash: Hex32 }
  | { type: 'hold_cancelled'; paymentHash: Hex32 }
  | {
      type: 'payout_start';
      recipient: PayoutRecipient;
      bolt11: string;
      paymentHash: Hex32;
      amountMsat: bigint;
    }
  | { type: 'payout_succeeded'; recipient: PayoutRecipient; routingFeeMsat: bigint; preimage: Hex32 }
  | {
      type: 'payout_failed';
      recipient: PayoutRecipient;
      reason: string;
      /** The invoice itself can never be paid (expired, wrong amount...): ask for a new one at once. */
      invoiceUnusable?: boolean;
    }
  | { type: 'payout_invoice'; by: Hex32; recipient: PayoutRecipient; bolt11: string }
  /** The recipient gives a Lightning address instead of an invoice; the agent fetches invoices from it. */
  | { type: 'payout_address'; by: Hex32; recipient: PayoutRecipient; address: string }
  /** The agent fetched an invoice from the recipient's Lightning address (checked before it is used). */
  | { type: 'payout_address_invoice'; recipient: PayoutRecipient; bolt11: string }
  /** Fetching from the Lightning address failed; `giveUp` forgets the address and asks the recipient again. */
  | { type: 'payout_address_failed'; recipient: PayoutRecipient; reason: string; giveUp: boolean };
export type CommandType = Command['type'];

// ---- Events: what happened. The task is the fold of its events. ----
export type TaskEvent =
  | {
      type: 'task_posted';
      at: number;
      taskId: Hex32;
      poster: Hex32;
      amountMsat: bigint;
      feeMsat: bigint;
      title: string;
      windows: Windows;
      /** Absent in logs written before arbitration was committed per task (read as no arbitrators). */
      arbitration?: Arbitration;
    }
  | {
      type: 'offered';
      at: number;
      paymentHash: Hex32;
      bolt11: string;
      invoiceExpiresAt: number;
      finalCltvDelta: number;
    }
  | {
      type: 'funded';
      at: number;
      amountMsat: bigint;
      htlcExpiryHeight: number;
      claimDeadlineHeight: number;
    }
  | { type: 'claimed'; at: number; worker: Hex32 }
  | { type: 'submitted'; at: number; payoutInvoice: string | null }
  | { type: 'disputed'; at: number; by: Hex32; reason: string }
  | { type: 'statement_added'; at: number; by: Hex32; text: string }
  | { type: 'verdict_recorded'; at: number; by: Hex32; resolution: Resolution; eventId: Hex32 | null }
  | { type: 'settle_requested'; at: number; reason: SettleReason; resolution: Resolution }
  | { type: 'refund_requested'; at: number; reason: RefundReason }
  | { type: 'task_cancelled'; at: number } // cancelled before any invoice existed
  | { type: 'hold_settled'; at: number }
  | { type: 'hold_cancelled'; at: number }
  | { type: 'verdict_given'; at: number; by: Hex32; resolution: Resolution }
  | {
      type: 'payout_started';
      at: number;
      recipient: PayoutRecipient;
      bolt11: string;
      paymentHash: Hex32;
      amountMsat: bigint;
    }
  | {
      type: 'payout_succeeded';
      at: number;
      recipient: PayoutRecipient;
      routingFeeMsat: bigint;
      preimage: Hex32;
    }
  | {
      type: 'payout_failed';
      at: number;
      recipient: PayoutRecipient;
      reason: string;
      needsInvoice: boolean;
      /** The attempts on invoices from the recipient's Lightning address are spent: forget the address. */
      forgetAddress?: boolean;
    }
  | {
      type: 'payout_invoice_given';
      at: number;
      recipient: PayoutRecipient;
      bolt11: string;
      /** Fetched by the agent from the recipient's Lightning address: the attempts budget carries on. */
      fromAddress?: boolean;
    }
  | { type: 'payout_address_given'; at: number; recipient: PayoutRecipient; address: string }
  | {
      type: 'payout_address_failed';
      at: number;
      recipient: PayoutRecipient;
      reason: string;
      giveUp: boolean;
    };
export type TaskEventType = TaskEvent['type'];

export type SettleReason = 'approved' | 'review_timeout' | 'verdict' | 'hold_deadline';
export type RefundReason =
  | 'poster_cancelled'
  | 'invoice_expired'
  | 'claim_timeout'
  | 'work_timeout'
  | 'verdict'
  | 'hold_deadline'
  | 'amount_mismatch' // the node accepted an HTLC for another amount than the task's
  | 'node_cancelled'; // the node cancelled the hold without our intent (must never happen; recorded as it is)
