// LND's invoice, as getInvoice / getInvoices / subscribeToInvoice report it, seen through the port.
//   state: is_confirmed -> SETTLED, is_canceled -> CANCELED, is_held -> ACCEPTED, otherwise OPEN.
//   htlcExpiryHeight: the lowest `payments[].timeout` (the HTLC's CLTV expiry height) among the HTLCs that
//     belong to that state (held, settled, or canceled after being held).
//   claimDeadlineHeight: htlcExpiryHeight - holdExpiryDelta. LND's expiry watcher cancels a held invoice when
//     height + holdexpirydelta >= the lowest HTLC expiry (invoices/invoice_expiry_watcher.go), so this is the
//     first height at which LND acts on its own.
//   cancelReason: LND does not record why it canceled. A cancel this adapter asked for is 'requested'; else
//     an invoice that held HTLCs and whose deadline has passed was LND's own ('deadline'), one that never held
//     any and is past its expiry timed out ('expired'), and anything else is taken as 'requested' (someone
//     canceled it: this agent before a restart, or an operator with lncli).
import type { CancelReason, HoldInvoice, HoldState } from '../port.ts';

/** The fields of the `lightning` package's invoice that the port needs. */
export interface LndInvoice {
  id: string;
  request?: string;
  description: string;
  created_at: string;
  expires_at: string;
  /** The invoice amount in msat; `lightning` returns it, its type declarations omit it. */
  mtokens?: string;
  tokens: number;
  is_confirmed: boolean;
  is_held?: boolean;
  is_canceled?: boolean;
  is_push?: boolean;
  payments: readonly LndInvoiceHtlc[];
}

export interface LndInvoiceHtlc {
  is_held: boolean;
  is_confirmed: boolean;
  is_canceled: boolean;
  mtokens: string;
  /**
   * The HTLC's CLTV expiry height. `lightning` always returns it (htlc_as_payment.js), though some of its type
   * declarations omit it; a held HTLC without it is refused rather than reported without a deadline.
   */
  timeout?: number;
}

export interface ViewContext {
  holdExpiryDelta: number;
  /** This adapter asked LND to cancel this hash. */
  canceledByUs: boolean;
  /** Unix seconds. */
  now: number;
  /** The chain height, needed only to tell a deadline cancel from a requested one. */
  height: number | null;
}

export function lndHoldState(invoice: LndInvoice): HoldState {
  if (invoice.is_confirmed) return 'SETTLED';
  if (invoice.is_canceled) return 'CANCELED';
  if (invoice.is_held) return 'ACCEPTED';
  return 'OPEN';
}

/** The HTLCs that make up the invoice's state: none while OPEN (partial or refused sets do not count). */
export function htlcsOfState(invoice: LndInvoice): LndInvoiceHtlc[] {
  switch (lndHoldState(invoice)) {
    case 'ACCEPTED':
      return invoice.payments.filter((htlc) => htlc.is_held);
    case 'SETTLED':
      return invoice.payments.filter((htlc) => htlc.is_confirmed);
    case 'CANCELED':
      return invoice.payments.filter((htlc) => htlc.is_canceled);
    case 'OPEN':
      return [];
  }
}

/** Whether mapping a CANCELED invoice needs the chain height (to tell LND's deadline cancel apart). */
export function needsHeight(invoice: LndInvoice, canceledByUs: boolean): boolean {
  return lndHoldState(invoice) === 'CANCELED' && !canceledByUs && htlcsOfState(invoice).length > 0;
}

export function toHoldInvoice(invoice: LndInvoice, context: ViewContext): HoldInvoice {
  const state = lndHoldState(invoice);
  const htlcs = htlcsOfState(invoice);
  if (state === 'ACCEPTED' && htlcs.length === 0) {
    // LND holds an invoice only with held HTLCs; without them its deadline cannot be known.
    throw new Error(
      `LND reports hold ${invoice.id} ACCEPTED without a held HTLC; its deadline cannot be known`,
    );
  }
  const htlcExpiryHeight = htlcs.length > 0 ? Math.min(...htlcs.map(expiryHeight)) : null;
  const claimDeadlineHeight = htlcExpiryHeight === null ? null : htlcExpiryHeight - context.holdExpiryDelta;
  const expiresAt = unixSeconds(invoice.expires_at);
  return {
    paymentHash: invoice.id,
    state,
    amountMsat: invoice.mtokens === undefined ? BigInt(invoice.tokens) * 1000n : BigInt(invoice.mtokens),
    receivedMsat: htlcs.reduce((sum, htlc) => sum + BigInt(htlc.mtokens), 0n),
    htlcExpiryHeight,
    claimDeadlineHeight,
    bolt11: invoice.request ?? '',
    description: invoice.description,
    createdAt: unixSeconds(invoice.created_at),
    expiresAt,
    cancelReason: state === 'CANCELED' ? cancelReason(claimDeadlineHeight, expiresAt, context) : null,
  };
}

function cancelReason(
  claimDeadlineHeight: number | null,
  expiresAt: number,
  context: ViewContext,
): CancelReason {
  if (context.canceledByUs) return 'requested';
  if (claimDeadlineHeight !== null) {
    return context.height !== null && context.height >= claimDeadlineHeight ? 'deadline' : 'requested';
  }
  return context.now >= expiresAt ? 'expired' : 'requested';
}

function expiryHeight(htlc: LndInvoiceHtlc): number {
  const { timeout } = htlc;
  if (timeout === undefined || !Number.isInteger(timeout) || timeout <= 0) {
    throw new Error('LND reported a held HTLC without its expiry height; its deadline cannot be known');
  }
  return timeout;
}

function unixSeconds(isoDate: string): number {
  const milliseconds = Date.parse(isoDate);
  if (!Number.isFinite(milliseconds)) throw new Error(`LND reported an invalid date ${isoDate}`);
  return Math.floor(milliseconds / 1000);
}
