// NIP-47 (Nostr Wallet Connect) as this project uses it: event kinds, methods, notifications, encryptions and
// error codes, plus the few extension fields our sandbox wallet service adds (each optional for the client).

export const KIND_INFO = 13194;
export const KIND_REQUEST = 23194;
export const KIND_RESPONSE = 23195;
/** Notifications encrypted with NIP-04 (legacy). */
export const KIND_NOTIFICATION_NIP04 = 23196;
/** Notifications encrypted with NIP-44 v2. */
export const KIND_NOTIFICATION_NIP44 = 23197;

export type Nip47Encryption = 'nip44_v2' | 'nip04';
export const ENCRYPTIONS: readonly Nip47Encryption[] = ['nip44_v2', 'nip04'];

export function notificationKind(encryption: Nip47Encryption): number {
  return encryption === 'nip44_v2' ? KIND_NOTIFICATION_NIP44 : KIND_NOTIFICATION_NIP04;
}

export type Nip47Method =
  | 'get_info'
  | 'get_balance'
  | 'make_hold_invoice'
  | 'settle_hold_invoice'
  | 'cancel_hold_invoice'
  | 'lookup_invoice'
  | 'list_transactions'
  | 'pay_invoice'
  /** A regular invoice (no hold): served only by wallets given an invoice maker (the sandbox's payer / worker). */
  | 'make_invoice';

/** What the escrow agent cannot work without: the adapter refuses to start when one is missing. */
export const REQUIRED_METHODS: readonly Nip47Method[] = [
  'make_hold_invoice',
  'settle_hold_invoice',
  'cancel_hold_invoice',
  'lookup_invoice',
  'pay_invoice',
  'get_info',
  'get_balance',
];

/** Used when offered: list() (and the replay of ACCEPTED holds on subscribe) needs it. */
export const OPTIONAL_METHODS: readonly Nip47Method[] = ['list_transactions'];

export type Nip47NotificationType = 'hold_invoice_accepted' | 'payment_received' | 'payment_sent';

export const REQUIRED_NOTIFICATIONS: readonly Nip47NotificationType[] = ['hold_invoice_accepted'];

/**
 * NIP-47 error codes. NOT_FOUND, PAYMENT_FAILED and UNSUPPORTED_ENCRYPTION come from the method sections of
 * the NIP; BAD_REQUEST is Alby Hub's. A wallet may send any other string: it is kept as given.
 */
export type Nip47ErrorCode =
  | 'RATE_LIMITED'
  | 'NOT_IMPLEMENTED'
  | 'INSUFFICIENT_BALANCE'
  | 'QUOTA_EXCEEDED'
  | 'RESTRICTED'
  | 'UNAUTHORIZED'
  | 'INTERNAL'
  | 'OTHER'
  | 'NOT_FOUND'
  | 'PAYMENT_FAILED'
  | 'UNSUPPORTED_ENCRYPTION'
  | 'BAD_REQUEST';

export interface Nip47Error {
  code: string;
  message: string;
}

/**
 * Fields our sandbox wallet service adds beyond NIP-47 (docs/lightning-nwc.md lists them). A client must work
 * without them: other wallets (Alby Hub) do not send them, and the adapter falls back as documented there.
 */
export const EXTENSION_FIELDS = {
  /** transaction: the earliest expiry height of the held HTLCs (NIP-47 gives only settle_deadline). */
  htlcExpiryHeight: 'htlc_expiry_height',
  /** transaction: what the held HTLCs carry, msat (NIP-47's amount is the invoice's). */
  amountReceived: 'amount_received',
  /** transaction: why a hold ended canceled (requested, deadline, expired, htlc_gone). */
  cancelReason: 'cancel_reason',
  /** transaction: why an outgoing payment failed (the port's PayFailureReason). */
  failureReason: 'failure_reason',
  /** get_balance result: what the node can receive now, msat. */
  maxReceivable: 'max_receivable',
  /** pay_invoice params: the routing fee cap, msat (NIP-47 has none). */
  maxFeeMsat: 'max_fee_msat',
  /** pay_invoice params: how long the node may try before answering. */
  timeoutSeconds: 'timeout_seconds',
} as const;
