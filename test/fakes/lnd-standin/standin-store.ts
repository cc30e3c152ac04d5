// STAND-IN LND (test double, not LND): the stand-in's "channel.db": every invoice and payment it knows,
// written to one JSON file after each change (write to a temporary file, then rename), and read back when
// the stand-in restarts. A restart therefore keeps exactly what LND's database would keep; everything in
// memory (streams, subscriptions) is lost, as it is when LND restarts.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { InvoiceRecord, PaymentRecord } from './standin-records.ts';

export interface StandinState {
  invoices: Record<string, InvoiceRecord>;
  payments: Record<string, PaymentRecord>;
  lastAddIndex: number;
  lastSettleIndex: number;
  lastPaymentIndex: number;
}

export class StandinStore {
  readonly state: StandinState;

  constructor(private readonly file: string) {
    this.state = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as StandinState)
      : { invoices: {}, payments: {}, lastAddIndex: 0, lastSettleIndex: 0, lastPaymentIndex: 0 };
  }

  save(): void {
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.state));
    renameSync(temporary, this.file);
  }
}
