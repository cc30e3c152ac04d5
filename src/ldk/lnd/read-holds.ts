// lookup(hash) with LookupInvoice and list(state) with ListInvoices, seen through hold-invoice-view.ts. LND
// answers NotFound for a hash it has no invoice for: that is null, not an error. list() pages through every
// invoice LND has (OPEN and ACCEPTED ones with pending_only), including invoices other software created on a
// shared node: the agent acts only on hashes it knows.
import { getInvoice, getInvoices } from 'lightning';
import { checkPaymentHash } from '../check-port-arguments.ts';
import { LightningError } from '../lightning-error.ts';
import type { HoldInvoice, HoldState } from '../port.ts';
import { type LndInvoice, lndHoldState, needsHeight, toHoldInvoice } from './hold-invoice-view.ts';
import type { LndContext } from './lnd-context.ts';
import { describeLndError, isInvoiceNotFound, toLightningError } from './lnd-errors.ts';

const PAGE_SIZE = 100;

export async function lookupHold(context: LndContext, paymentHash: string): Promise<HoldInvoice | null> {
  const invoice = await readInvoice(context, paymentHash);
  return invoice ? viewInvoice(context, invoice) : null;
}

export async function readInvoice(context: LndContext, paymentHash: string): Promise<LndInvoice | null> {
  checkPaymentHash(paymentHash);
  try {
    return await context.call('lookup', () => getInvoice({ lnd: context.lnd, id: paymentHash }));
  } catch (error) {
    if (!(error instanceof LightningError) && isInvoiceNotFound(describeLndError(error))) return null;
    throw toLightningError('lookup', error);
  }
}

export async function listHolds(context: LndContext, state?: HoldState): Promise<HoldInvoice[]> {
  const pendingOnly = state === 'OPEN' || state === 'ACCEPTED';
  const found: LndInvoice[] = [];
  let token: string | undefined;
  do {
    const page = await context.request('lookup', () =>
      getInvoices(
        token === undefined
          ? { lnd: context.lnd, limit: PAGE_SIZE, is_unconfirmed: pendingOnly }
          : { lnd: context.lnd, token, is_unconfirmed: pendingOnly },
      ),
    );
    for (const invoice of page.invoices) {
      // Keysend and AMP pushes have no payment request: they are not holds this port issued.
      if (invoice.is_push || !invoice.request) continue;
      if (state === undefined || lndHoldState(invoice) === state) found.push(invoice);
    }
    token = page.next;
  } while (token !== undefined);
  // One fresh height for the whole list, if any invoice needs it.
  const height = found.some((invoice) => needsHeight(invoice, context.canceledByUs.has(invoice.id)))
    ? await context.height()
    : context.lastHeight;
  const views = found.map((invoice) => toView(context, invoice, height));
  return views.sort((a, b) => a.createdAt - b.createdAt || a.paymentHash.localeCompare(b.paymentHash));
}

export async function viewInvoice(context: LndContext, invoice: LndInvoice): Promise<HoldInvoice> {
  // Only a CANCELED invoice that held HTLCs needs the height, and then a fresh one: a stale height could
  // call LND's own deadline cancel a requested one.
  const fresh = needsHeight(invoice, context.canceledByUs.has(invoice.id));
  return toView(context, invoice, fresh ? await context.height() : context.lastHeight);
}

function toView(context: LndContext, invoice: LndInvoice, height: number | null): HoldInvoice {
  return toHoldInvoice(invoice, {
    holdExpiryDelta: context.settings.holdExpiryDelta,
    canceledByUs: context.canceledByUs.has(invoice.id),
    now: Math.floor(Date.now() / 1000),
    height,
  });
}
