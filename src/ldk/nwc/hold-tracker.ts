// The holds the adapter follows (those it created, looked up or was told about while OPEN or ACCEPTED), the
// holds it asked to cancel, and the highest block height it has seen. From each new sighting of a hold it
// derives the port events the change calls for, so that a notification that never came is made up for by
// the next lookup, and one that comes after a lookup was already reported is not reported again.
import type { HoldInvoice, LightningEvent } from '../port.ts';
import type { MappingContext } from './map-transaction.ts';
import type { NwcLogger } from './nwc-log.ts';

const CANCELED_MEMORY = 10_000;

export class HoldTracker implements MappingContext {
  height: number | null = null;
  private readonly followed = new Map<string, HoldInvoice>();
  private readonly canceled = new Set<string>();

  constructor(private readonly log: NwcLogger) {}

  canceledByUs(paymentHash: string): boolean {
    return this.canceled.has(paymentHash);
  }

  /** Intent first: recorded before the cancel is sent, so a poll that sees CANCELED reads 'requested'. */
  markCanceledByUs(paymentHash: string): void {
    this.canceled.add(paymentHash);
    if (this.canceled.size > CANCELED_MEMORY)
      this.canceled.delete(this.canceled.values().next().value as string);
  }

  /** The cancel was refused (the hold is settled, or was never ours to cancel): not a cancel we asked for. */
  unmarkCanceledByUs(paymentHash: string): void {
    this.canceled.delete(paymentHash);
  }

  /** True when `height` is higher than any seen before. */
  noteHeight(height: number): boolean {
    if (this.height !== null && height <= this.height) return false;
    this.height = height;
    return true;
  }

  followedHashes(): string[] {
    return [...this.followed.keys()];
  }

  forget(paymentHash: string): void {
    this.followed.delete(paymentHash);
  }

  /**
   * Records a sighting and returns the events it calls for: a change from the state last seen, or, with
   * `announce` (a notification, a replay on subscribe), any state worth telling about on first sight.
   */
  observe(hold: HoldInvoice, announce: boolean): LightningEvent[] {
    const previous = this.followed.get(hold.paymentHash);
    if (hold.state === 'OPEN' || hold.state === 'ACCEPTED') this.followed.set(hold.paymentHash, hold);
    else this.followed.delete(hold.paymentHash);
    if (previous?.state === hold.state || (previous === undefined && !announce)) return [];
    switch (hold.state) {
      case 'OPEN':
        return [];
      case 'ACCEPTED':
        if (hold.claimDeadlineHeight === null || hold.htlcExpiryHeight === null) {
          this.log.error(
            { paymentHash: hold.paymentHash },
            'the NWC wallet reports a held payment without settle_deadline: its deadline cannot be guarded',
          );
          return [];
        }
        return [
          {
            type: 'hold_accepted',
            paymentHash: hold.paymentHash,
            amountMsat: hold.receivedMsat,
            htlcExpiryHeight: hold.htlcExpiryHeight,
            claimDeadlineHeight: hold.claimDeadlineHeight,
          },
        ];
      case 'SETTLED':
        return [{ type: 'hold_settled', paymentHash: hold.paymentHash, amountMsat: hold.receivedMsat }];
      case 'CANCELED':
        return [
          { type: 'hold_cancelled', paymentHash: hold.paymentHash, reason: hold.cancelReason ?? 'requested' },
        ];
    }
  }
}
