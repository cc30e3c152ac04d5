// The Lightning port: the one narrow interface the agent uses to hold, settle, cancel and pay. It is shaped
// like the hold-invoice primitive (LND's hodl invoices, NIP-47's hold methods, LDK's claimable payments) so
// that every adapter (sandbox LDK, NWC, LND) can implement it without leaking its SDK.
//
// Conventions: hashes, preimages and node ids are 64 (or 66) lowercase hex characters; amounts are integer
// msat as bigint; heights are block heights; times are unix seconds.
//
// Idempotency follows LND: settle twice is fine, cancel twice is fine, settle after cancel throws
// AlreadyCanceled, cancel after settle throws AlreadySettled. Every refusal is a LightningError with a stable
// code and leaves the state unchanged.

/** 64 lowercase hex characters. */
export type Hex32 = string;

export type HoldState = 'OPEN' | 'ACCEPTED' | 'SETTLED' | 'CANCELED';

export const HOLD_STATES: readonly HoldState[] = ['OPEN', 'ACCEPTED', 'SETTLED', 'CANCELED'];

export interface CreateHoldInvoiceRequest {
  /** sha256 of a preimage only the caller knows. A hash used before (in any state) is refused: HashReused. */
  paymentHash: Hex32;
  /** > 0, and at most what the node can receive right now. */
  amountMsat: bigint;
  description: string;
  /** How long the invoice can be paid. It does not bound how long a paid invoice is held: the CLTV does. */
  expirySeconds: number;
  /** The final CLTV delta to ask payers for; it sizes the hold (LDK writes it + 3 into the invoice). */
  finalCltvDelta: number;
}

export interface CreatedHoldInvoice {
  bolt11: string;
  paymentHash: Hex32;
  /** Unix seconds after which the invoice can no longer be paid (invoice timestamp + expiry). */
  expiresAt: number;
}

/** Why a hold ended CANCELED: asked for, the node's own deadline, or never paid before it expired. */
export type CancelReason = 'requested' | 'deadline' | 'expired' | 'htlc_gone';

export interface HoldInvoice {
  paymentHash: Hex32;
  state: HoldState;
  amountMsat: bigint;
  /** What the held HTLCs carry (0 while OPEN); payers may overpay. */
  receivedMsat: bigint;
  /** The earliest expiry height of the held HTLCs, once ACCEPTED. */
  htlcExpiryHeight: number | null;
  /** The height at which the node fails the HTLCs back by itself, once ACCEPTED. Act before it. */
  claimDeadlineHeight: number | null;
  bolt11: string;
  description: string;
  createdAt: number;
  expiresAt: number;
  cancelReason: CancelReason | null;
}

/** An ACCEPTED hold, with the heights every adapter reports with ACCEPTED. */
export type AcceptedHold = HoldInvoice & {
  state: 'ACCEPTED';
  htlcExpiryHeight: number;
  claimDeadlineHeight: number;
};

/** True for an ACCEPTED hold whose heights are known (the port's contract: ACCEPTED comes with them). */
export function isAcceptedHold(hold: HoldInvoice): hold is AcceptedHold {
  return hold.state === 'ACCEPTED' && hold.htlcExpiryHeight !== null && hold.claimDeadlineHeight !== null;
}

export interface PayRequest {
  bolt11: string;
  /** The most the route may cost; a route that costs more is not tried. */
  maxFeeMsat: bigint;
  /** How long pay() waits for an outcome. An HTLC still in flight at that point is NOT a failure: 'pending'. */
  timeoutSeconds: number;
}

export type PayFailureReason =
  | 'no_route'
  | 'insufficient_balance'
  | 'invoice_expired'
  | 'timeout'
  | 'rejected'
  | 'error';

/**
 * The outcome of a payment. 'pending' means an HTLC may still be in flight: it can still succeed, so it must
 * never be treated as a failure (paying again could pay twice). Ask paymentStatus() later.
 */
export type PaymentResult =
  | { status: 'succeeded'; paymentHash: Hex32; preimage: Hex32; amountMsat: bigint; feeMsat: bigint }
  | { status: 'failed'; paymentHash: Hex32; reason: PayFailureReason; detail: string }
  | { status: 'pending'; paymentHash: Hex32 };

export type Network = 'bitcoin' | 'testnet' | 'signet' | 'regtest';

export interface ChannelInfo {
  channelId: string;
  peerNodeId: string;
  capacitySat: bigint;
  /** What this node can send over the channel now (excludes reserve, fees and pending HTLCs). */
  localBalanceMsat: bigint;
  /** What this node can receive over the channel now. */
  remoteBalanceMsat: bigint;
  usable: boolean;
  pendingHtlcs: number;
}

export interface NodeInfo {
  nodeId: string;
  network: Network;
  blockHeight: number;
  /** Sum over channels of what can be sent now. */
  localBalanceMsat: bigint;
  /** Sum over channels of what can be received now. */
  remoteBalanceMsat: bigint;
  channels: ChannelInfo[];
}

/**
 * Events are hints, delivered at least once, possibly late, possibly never: the caller's store is the truth
 * and its reconciler polls lookup() / paymentStatus() as a backstop. On subscribe, every hold that is
 * ACCEPTED at that moment is reported again (a node restart does not re-announce held payments).
 */
export type LightningEvent =
  | {
      type: 'hold_accepted';
      paymentHash: Hex32;
      amountMsat: bigint;
      htlcExpiryHeight: number;
      claimDeadlineHeight: number;
    }
  | { type: 'hold_settled'; paymentHash: Hex32; amountMsat: bigint }
  | { type: 'hold_cancelled'; paymentHash: Hex32; reason: CancelReason }
  | { type: 'payment_succeeded'; paymentHash: Hex32; preimage: Hex32; feeMsat: bigint }
  | { type: 'payment_failed'; paymentHash: Hex32; reason: PayFailureReason }
  | { type: 'block'; height: number };

export type LightningListener = (event: LightningEvent) => void;

export interface HoldInvoiceBackend {
  createHoldInvoice(request: CreateHoldInvoiceRequest): Promise<CreatedHoldInvoice>;
  /**
   * Claims the held HTLCs. Resolves once the node has recorded the claim (SETTLED). Pass the payment hash you
   * expect to get WrongPreimage instead of UnknownHash when the preimage does not match it.
   */
  settle(preimage: Hex32, expectedPaymentHash?: Hex32): Promise<void>;
  /** Fails the held HTLCs back (or refuses any future payment of an OPEN invoice). */
  cancel(paymentHash: Hex32): Promise<void>;
  lookup(paymentHash: Hex32): Promise<HoldInvoice | null>;
  list(state?: HoldState): Promise<HoldInvoice[]>;
  pay(request: PayRequest): Promise<PaymentResult>;
  /** The last known outcome of a payment this node sent, or null if it never tried to pay that hash. */
  paymentStatus(paymentHash: Hex32): Promise<PaymentResult | null>;
  getInfo(): Promise<NodeInfo>;
  /** Returns an unsubscribe function. */
  subscribe(listener: LightningListener): () => void;
}
