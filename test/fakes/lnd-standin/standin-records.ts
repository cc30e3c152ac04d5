// STAND-IN LND (test double, not LND): the records the stand-in keeps in its "channel.db" (standin-store.ts),
// one per invoice and one per payment, as plain JSON (64-bit numbers as strings). The invoice registry
// (standin-invoices.ts) and the router (standin-payments.ts) write them; standin-messages.ts turns them into
// LND's gRPC messages.

export type InvoiceState = 'OPEN' | 'ACCEPTED' | 'SETTLED' | 'CANCELED';

export interface HtlcRecord {
  htlcId: string;
  chanId: string;
  htlcIndex: number;
  amtMsat: string;
  acceptHeight: number;
  acceptTime: number;
  resolveTime: number;
  expiryHeight: number;
  state: 'ACCEPTED' | 'SETTLED' | 'CANCELED';
}

export interface InvoiceRecord {
  hash: string;
  /** Known once settled (LND reports an empty r_preimage for a hold invoice until then). */
  preimage: string | null;
  paymentAddr: string;
  bolt11: string;
  memo: string;
  valueMsat: string;
  cltvExpiry: number;
  creationDate: number;
  expiry: number;
  addIndex: number;
  settleIndex: number;
  settleDate: number;
  state: InvoiceState;
  htlcs: HtlcRecord[];
}

export type PaymentStatus = 'IN_FLIGHT' | 'SUCCEEDED' | 'FAILED';

export interface RouteRecord {
  totalTimeLock: number;
  totalFeesMsat: string;
  totalAmtMsat: string;
  hops: {
    chanId: string;
    chanCapacity: string;
    amtToForwardMsat: string;
    feeMsat: string;
    expiry: number;
    pubKey: string;
  }[];
}

export interface PaymentRecord {
  hash: string;
  bolt11: string;
  valueMsat: string;
  feeMsat: string;
  status: PaymentStatus;
  failureReason: string;
  preimage: string;
  creationTimeNs: string;
  paymentIndex: number;
  attempt: {
    attemptId: number;
    status: PaymentStatus;
    route: RouteRecord;
    attemptTimeNs: string;
    resolveTimeNs: string;
  } | null;
}
