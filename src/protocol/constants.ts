// The fixed vocabulary of the wire protocol (docs/protocol.md). Changing any value here is a protocol change:
// bump PROTOCOL_VERSION, and use a new LABEL_NAMESPACE if old clients would misread the new events.
import {
  type PayoutRecipient,
  type RefundReason,
  type Resolution,
  type SettleReason,
  TASK_STATES,
  type TaskState,
  type Windows,
} from '../domain/types.ts';

/** NIP-32 namespace of every action, transition and rejection. Versioned: a breaking change gets a new one. */
export const LABEL_NAMESPACE = 'nostr-escrow/v1';
export const PROTOCOL_VERSION = 1;

export const KINDS = {
  profile: 0, // NIP-01 metadata of the agent
  giftWrap: 1059, // NIP-59, optional private notices
  label: 1985, // NIP-32: actions, transitions, rejections
  jobFeedback: 7000, // NIP-90: payment prompt mirror
  relayList: 10002, // NIP-65
  trustedAssertion: 30382, // NIP-85 reputation aggregates (not implemented yet)
  listing: 30402, // NIP-99 task listing
  handler: 31990, // NIP-89 handler announcement carrying the policy
} as const;

/** Kinds other projects already use for escrow-like flows; we never publish or interpret them. */
export const FOREIGN_KIND_RANGES: ReadonlyArray<readonly [number, number, string]> = [
  [3400, 3407, 'draft escrow NIP'],
  [8383, 8383, 'Mostro / NIP-69'],
  [32765, 32768, 'SatShoot'],
  [37300, 37300, 'taken'],
  [38383, 38386, 'Mostro / NIP-69'],
];

export const ACTION_NAMES = [
  'claim',
  'submit',
  'approve',
  'cancel',
  'dispute',
  'verdict',
  'payout_invoice',
] as const;
export type ActionName = (typeof ACTION_NAMES)[number];

/** Every task state except `posted` is published: the listing itself is the `posted` record. */
export const TRANSITION_STATES = TASK_STATES.filter(
  (state): state is Exclude<TaskState, 'posted'> => state !== 'posted',
);
export type TransitionState = Exclude<TaskState, 'posted'>;

export const REJECTED_LABEL = 'rejected';
/** The agent's chain heads (src/protocol/heads.ts): the last transition of each task, every N transitions. */
export const HEADS_LABEL = 'heads';
/** Labels only agents publish besides the transition states: never an action, from anyone (screenInput). */
export const AGENT_ONLY_LABELS: readonly string[] = [REJECTED_LABEL, HEADS_LABEL];

/** Markers in the 4th element of our `e` tags (NIP-10 style). */
export const E_MARKERS = ['task', 'prev', 'cause', 'reply', 'verdict', 'dissent'] as const;
/** Roles in the 4th element of the `p` tags of transitions (NIP-53 style). */
export const P_ROLES = ['poster', 'worker', 'arbitrator'] as const;

export const LIMITS = {
  /** Raw JSON of one event, checked before anything is parsed. */
  eventBytes: 65_536,
  /** A listing must be small enough to be embedded whole in the `offered` transition. */
  listingBytes: 32_768,
  contentChars: 32_768,
  tags: 100,
  tagElements: 16,
  tagElementChars: 4_096,
  titleChars: 1_000,
  /** Delivery note, dispute reason, any action content. */
  actionContentChars: 8_192,
  relayHintChars: 512,
  /** Largest amount: 21 million bitcoin in msat. */
  maxMsat: 2_100_000_000_000_000_000n,
  maxWindowSeconds: 365 * 24 * 3600,
  /** Seconds an event's created_at may be ahead of the agent's clock. */
  futureSkewSeconds: 300,
} as const;

// Runtime lists of the domain's string unions. `satisfies` catches a value the domain does not have; the
// `Exhaustive` checks below catch a value the domain added and the protocol does not list yet.
export const SETTLE_REASONS = [
  'approved',
  'review_timeout',
  'verdict',
  'hold_deadline',
] as const satisfies readonly SettleReason[];
export const REFUND_REASONS = [
  'poster_cancelled',
  'invoice_expired',
  'claim_timeout',
  'work_timeout',
  'verdict',
  'hold_deadline',
  'amount_mismatch',
  'node_cancelled',
] as const satisfies readonly RefundReason[];
export const RESOLUTION_KINDS = [
  'worker',
  'poster',
  'split',
  'pending_verdict',
] as const satisfies readonly Resolution['kind'][];
export const PAYOUT_RECIPIENTS = ['worker', 'poster'] as const satisfies readonly PayoutRecipient[];
export const VERDICT_OUTCOMES = ['worker', 'poster', 'split'] as const;
/** Window names as they appear on the wire, and the field of the domain's Windows they map to. */
export const WINDOW_FIELDS = {
  claim: 'claimSeconds',
  work: 'workSeconds',
  review: 'reviewSeconds',
  dispute: 'disputeSeconds',
} as const satisfies Record<string, keyof Windows>;
export type WindowName = keyof typeof WINDOW_FIELDS;
export const WINDOW_NAMES = Object.keys(WINDOW_FIELDS) as WindowName[];

type Exhaustive<All extends string, Listed extends readonly string[]> = [
  Exclude<All, Listed[number]>,
] extends [never]
  ? true
  : never;
export const LISTS_ARE_EXHAUSTIVE: [
  Exhaustive<SettleReason, typeof SETTLE_REASONS>,
  Exhaustive<RefundReason, typeof REFUND_REASONS>,
  Exhaustive<Resolution['kind'], typeof RESOLUTION_KINDS>,
  Exhaustive<PayoutRecipient, typeof PAYOUT_RECIPIENTS>,
  Exhaustive<keyof Windows, (typeof WINDOW_FIELDS)[WindowName][]>,
] = [true, true, true, true, true];
