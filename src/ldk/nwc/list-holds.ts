// list(state) over NWC: list_transactions of incoming invoices, unpaid included, page by page. Without
// list_transactions (a connection not allowed it) the list covers only the holds this adapter follows.
import type { HoldInvoice, HoldState } from '../port.ts';
import { lookupHold } from './lookup-transaction.ts';
import { toHoldInvoice } from './map-transaction.ts';
import { toLightningError } from './map-wallet-error.ts';
import { listTransactionsSchema } from './nip47-schemas.ts';
import type { NwcContext } from './nwc-context.ts';

/** NIP-44 (as wallets implement it) encrypts at most 64 KiB: 20 transactions of up to ~2 KiB each fit. */
const PAGE = 20;

export async function listHolds(context: NwcContext, state?: HoldState): Promise<HoldInvoice[]> {
  const holds = context.wallet.methods.includes('list_transactions')
    ? await listFromWallet(context)
    : await listFollowed(context);
  return holds
    .filter((hold) => state === undefined || hold.state === state)
    .sort((left, right) => left.createdAt - right.createdAt);
}

async function listFromWallet(context: NwcContext): Promise<HoldInvoice[]> {
  const holds = new Map<string, HoldInvoice>();
  for (let offset = 0; ; offset += PAGE) {
    const reply = await context.client.request(
      'list_transactions',
      { type: 'incoming', unpaid: true, limit: PAGE, offset },
      (result) => {
        const parsed = listTransactionsSchema.safeParse(result);
        return parsed.success ? parsed.data.transactions : undefined;
      },
      context.requestTimeoutMs,
    );
    if (!reply.ok) throw toLightningError('list_transactions', reply.error);
    for (const transaction of reply.result) {
      const hold = toHoldInvoice(transaction, context.tracker);
      if (hold) holds.set(hold.paymentHash, hold);
    }
    if (reply.result.length < PAGE) return [...holds.values()];
  }
}

async function listFollowed(context: NwcContext): Promise<HoldInvoice[]> {
  const holds: HoldInvoice[] = [];
  for (const paymentHash of context.tracker.followedHashes()) {
    const hold = await lookupHold(context, paymentHash);
    if (hold) holds.push(hold);
  }
  return holds;
}
