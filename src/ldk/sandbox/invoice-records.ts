// The adapter's own record of every invoice it issued. LDK keeps no invoice state (its payment secrets are
// derived, not stored) and does not re-announce held payments after a restart, so this record is what makes
// ACCEPTED survive a crash, and what refuses a reused payment hash.
import type { CancelReason, HoldInvoice, HoldState } from '../port.ts';
import { RecordStore } from './record-store.ts';

export interface InvoiceRecord {
  /** 'hold' waits for settle(); 'regular' is claimed as soon as it is paid (the payee side in tests). */
  kind: 'hold' | 'regular';
  paymentHash: string;
  state: HoldState;
  amountMsat: bigint;
  receivedMsat: bigint;
  htlcExpiryHeight: number | null;
  claimDeadlineHeight: number | null;
  bolt11: string;
  description: string;
  createdAt: number;
  expiresAt: number;
  cancelReason: CancelReason | null;
  /**
   * Written when settle() is asked, before LDK is told: a crash between the two is finished at restart.
   * It is no secret by then (the payer learns it from the claim).
   */
  preimage: string | null;
  updatedAt: number;
}

export class InvoiceRecords {
  private readonly store: RecordStore<InvoiceRecord>;

  constructor(directory: string) {
    this.store = new RecordStore<InvoiceRecord>(directory, ['amountMsat', 'receivedMsat']);
  }

  get(paymentHash: string): InvoiceRecord | undefined {
    return this.store.get(paymentHash);
  }

  has(paymentHash: string): boolean {
    return this.store.has(paymentHash);
  }

  all(): InvoiceRecord[] {
    return this.store.values();
  }

  inState(state: HoldState): InvoiceRecord[] {
    return this.store.values().filter((record) => record.state === state);
  }

  save(record: InvoiceRecord): void {
    this.store.put(record.paymentHash, { ...record, updatedAt: Math.floor(Date.now() / 1000) });
  }

  /** Returns the updated record; the caller has checked the transition is allowed. */
  update(paymentHash: string, change: Partial<InvoiceRecord>): InvoiceRecord {
    const current = this.store.get(paymentHash);
    if (!current) throw new Error(`no invoice record for ${paymentHash}`);
    const next = { ...current, ...change };
    this.save(next);
    return next;
  }
}

export function toHoldInvoice(record: InvoiceRecord): HoldInvoice {
  return {
    paymentHash: record.paymentHash,
    state: record.state,
    amountMsat: record.amountMsat,
    receivedMsat: record.receivedMsat,
    htlcExpiryHeight: record.htlcExpiryHeight,
    claimDeadlineHeight: record.claimDeadlineHeight,
    bolt11: record.bolt11,
    description: record.description,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    cancelReason: record.cancelReason,
  };
}
