// The adapter's record of every payment it sent, keyed by payment hash (LDK's payment id is the hash too).
// Written as 'pending' BEFORE LDK is asked to send: a crash after that can only leave a pending record for a
// payment that may be in flight, never an untracked one. That is what "never pay twice" rests on.
import type { PayFailureReason, PaymentResult } from '../port.ts';
import { RecordStore } from './record-store.ts';

export interface PaymentRecord {
  paymentHash: string;
  status: 'pending' | 'succeeded' | 'failed';
  bolt11: string;
  amountMsat: bigint;
  maxFeeMsat: bigint;
  feeMsat: bigint;
  preimage: string | null;
  reason: PayFailureReason | null;
  detail: string;
  attempts: number;
  createdAt: number;
  updatedAt: number;
}

export class PaymentRecords {
  private readonly store: RecordStore<PaymentRecord>;

  constructor(directory: string) {
    this.store = new RecordStore<PaymentRecord>(directory, ['amountMsat', 'maxFeeMsat', 'feeMsat']);
  }

  get(paymentHash: string): PaymentRecord | undefined {
    return this.store.get(paymentHash);
  }

  pending(): PaymentRecord[] {
    return this.store.values().filter((record) => record.status === 'pending');
  }

  save(record: PaymentRecord): void {
    this.store.put(record.paymentHash, { ...record, updatedAt: Math.floor(Date.now() / 1000) });
  }
}

export function toPaymentResult(record: PaymentRecord): PaymentResult {
  switch (record.status) {
    case 'succeeded':
      return {
        status: 'succeeded',
        paymentHash: record.paymentHash,
        preimage: record.preimage ?? '',
        amountMsat: record.amountMsat,
        feeMsat: record.feeMsat,
      };
    case 'failed':
      return {
        status: 'failed',
        paymentHash: record.paymentHash,
        reason: record.reason ?? 'error',
        detail: record.detail,
      };
    case 'pending':
      return { status: 'pending', paymentHash: record.paymentHash };
  }
}
