// STAND-IN LND (test double, not LND): the stand-in's invoice registry, with LND's documented hold-invoice
// semantics (lnrpc/invoicesrpc and invoices/ in LND's source), the messages quoted from LND:
//   AddHoldInvoice: a payment hash used before, in any state -> "invoice with payment hash already exists";
//     final CLTV below routing.MinCLTVDelta (24 since LND 0.21) or above 65535 refused; memo at most 1024 bytes.
//   An HTLC is held (ACCEPTED, HTLC state ACCEPTED with its expiry height) when the invoice is OPEN, the
//     payment secret matches, it pays the full amount, and its expiry is at least height + 19
//     (DefaultFinalCltvRejectDelta) and height + the invoice's final CLTV; otherwise it is failed back.
//   SettleInvoice: OPEN -> "invoice still open", CANCELED -> "invoice already canceled", SETTLED -> success
//     (invoicesrpc ignores ErrInvoiceAlreadySettled), unknown -> "unable to locate invoice".
//   CancelInvoice: CANCELED -> success, SETTLED -> "invoice already settled", unknown -> "unable to locate
//     invoice"; held HTLCs are failed back.
//   Expiry watcher: a held invoice is canceled when height + holdExpiryDelta >= its lowest HTLC expiry; an
//     OPEN invoice is canceled once its expiry time has passed (an ACCEPTED one is not).
// Not modelled: multi-part payments (a part below the amount is failed at once instead of waiting for the
// rest), AMP and keysend, description hashes, route hints, invoice garbage collection.
import { createHash } from 'node:crypto';
import { LndRpcError } from './standin-errors.ts';
import { mintInvoice, type NodeKey } from './standin-keys.ts';
import type { IncomingHtlc } from './standin-network.ts';
import type { InvoiceRecord } from './standin-records.ts';
import type { StandinStore } from './standin-store.ts';

export const MIN_CLTV_DELTA = 24;
export const FINAL_CLTV_REJECT_DELTA = 19;
const MAX_MEMO_BYTES = 1024;
const MAX_EXPIRY_SECONDS = 365 * 24 * 3600;

export interface RegistryHooks {
  height(): number;
  /** Settle (preimage) or fail (null) an HTLC in the network. */
  resolveHtlc(htlcId: string, preimage: string | null): void;
  holdExpiryDelta: number;
  nodeKey: NodeKey;
}

type InvoiceListener = (invoice: InvoiceRecord) => void;

export class StandinInvoices {
  private readonly listeners = new Map<string, Set<InvoiceListener>>();

  constructor(
    private readonly store: StandinStore,
    private readonly hooks: RegistryHooks,
  ) {}

  add(request: { hash: Buffer; memo: string; valueMsat: bigint; expiry: number; cltvExpiry: number }) {
    const hash = request.hash.toString('hex');
    if (request.hash.length !== 32) throw new LndRpcError(2, 'payment hash must be exactly 32 bytes');
    if (Buffer.byteLength(request.memo) > MAX_MEMO_BYTES) {
      throw new LndRpcError(
        2,
        `memo too large: ${Buffer.byteLength(request.memo)} bytes (maxsize=${MAX_MEMO_BYTES})`,
      );
    }
    if (request.valueMsat < 0n)
      throw new LndRpcError(2, `payments of negative value are not allowed, value is ${request.valueMsat}`);
    if (request.expiry > MAX_EXPIRY_SECONDS) {
      throw new LndRpcError(
        2,
        `expiry of ${request.expiry} seconds greater than max expiry of ${MAX_EXPIRY_SECONDS} seconds`,
      );
    }
    if (request.cltvExpiry > 65535) {
      throw new LndRpcError(2, `CLTV delta of ${request.cltvExpiry} is too large, max accepted is: 65535`);
    }
    const cltvExpiry = request.cltvExpiry === 0 ? 80 : request.cltvExpiry;
    if (cltvExpiry < MIN_CLTV_DELTA) {
      throw new LndRpcError(
        2,
        `CLTV delta of ${cltvExpiry} must be greater than minimum of ${MIN_CLTV_DELTA}`,
      );
    }
    if (this.store.state.invoices[hash]) throw new LndRpcError(2, 'invoice with payment hash already exists');
    const creationDate = Math.floor(Date.now() / 1000);
    const expiry = request.expiry > 0 ? request.expiry : 86_400;
    const { bolt11, paymentSecret } = mintInvoice(this.hooks.nodeKey, {
      paymentHash: hash,
      amountMsat: request.valueMsat,
      description: request.memo,
      timestamp: creationDate,
      expirySeconds: expiry,
      finalCltvDelta: cltvExpiry,
    });
    const record: InvoiceRecord = {
      hash,
      preimage: null,
      paymentAddr: paymentSecret,
      bolt11,
      memo: request.memo,
      valueMsat: request.valueMsat.toString(),
      cltvExpiry,
      creationDate,
      expiry,
      addIndex: ++this.store.state.lastAddIndex,
      settleIndex: 0,
      settleDate: 0,
      state: 'OPEN',
      htlcs: [],
    };
    this.store.state.invoices[hash] = record;
    this.store.save();
    return record;
  }

  lookup(hash: string): InvoiceRecord {
    this.expireByTime();
    const record = this.store.state.invoices[hash];
    if (!record) throw new LndRpcError(5, 'unable to locate invoice');
    return record;
  }

  /** ListInvoices as `lightning` calls it: reversed, paged below index_offset. */
  list(options: { pendingOnly: boolean; indexOffset: number; max: number; reversed: boolean }) {
    this.expireByTime();
    let invoices = Object.values(this.store.state.invoices).sort((a, b) => a.addIndex - b.addIndex);
    if (options.pendingOnly)
      invoices = invoices.filter((invoice) => invoice.state === 'OPEN' || invoice.state === 'ACCEPTED');
    if (options.reversed) {
      const below =
        options.indexOffset > 0
          ? invoices.filter((invoice) => invoice.addIndex < options.indexOffset)
          : invoices;
      invoices = below.slice(Math.max(0, below.length - options.max));
    } else {
      invoices = invoices.filter((invoice) => invoice.addIndex > options.indexOffset).slice(0, options.max);
    }
    return invoices;
  }

  settle(preimage: Buffer): void {
    if (preimage.length !== 32) throw new LndRpcError(2, 'invalid preimage length');
    this.expireByTime();
    const hash = createHash('sha256').update(preimage).digest('hex');
    const record = this.store.state.invoices[hash];
    if (!record) throw new LndRpcError(2, 'unable to locate invoice');
    if (record.state === 'OPEN') throw new LndRpcError(2, 'invoice still open');
    if (record.state === 'CANCELED') throw new LndRpcError(2, 'invoice already canceled');
    if (record.state === 'SETTLED') return;
    const now = Math.floor(Date.now() / 1000);
    record.state = 'SETTLED';
    record.preimage = preimage.toString('hex');
    record.settleIndex = ++this.store.state.lastSettleIndex;
    record.settleDate = now;
    const settled = record.htlcs.filter((htlc) => htlc.state === 'ACCEPTED');
    for (const htlc of settled) Object.assign(htlc, { state: 'SETTLED', resolveTime: now });
    this.store.save();
    for (const htlc of settled) this.hooks.resolveHtlc(htlc.htlcId, record.preimage);
    this.notify(record);
  }

  cancel(hash: string): void {
    this.expireByTime();
    const record = this.store.state.invoices[hash];
    if (!record) throw new LndRpcError(2, 'unable to locate invoice');
    if (record.state === 'SETTLED') throw new LndRpcError(2, 'invoice already settled');
    if (record.state === 'CANCELED') return;
    this.cancelRecord(record);
  }

  subscribe(hash: string, listener: InvoiceListener): () => void {
    const set = this.listeners.get(hash) ?? new Set();
    set.add(listener);
    this.listeners.set(hash, set);
    const record = this.store.state.invoices[hash];
    if (record) listener(record);
    return () => set.delete(listener);
  }

  /** An HTLC for which this node is the final hop. Returns whether it is held. */
  receiveHtlc(htlc: IncomingHtlc): boolean {
    this.expireByTime();
    const record = this.store.state.invoices[htlc.paymentHash];
    const height = this.hooks.height();
    const refused =
      record?.state !== 'OPEN' ||
      record.paymentAddr !== htlc.paymentSecret ||
      htlc.amountMsat < BigInt(record.valueMsat) ||
      htlc.expiryHeight < height + FINAL_CLTV_REJECT_DELTA ||
      htlc.expiryHeight < height + record.cltvExpiry;
    if (refused) {
      this.hooks.resolveHtlc(htlc.htlcId, null);
      return false;
    }
    record.htlcs.push({
      htlcId: htlc.htlcId,
      chanId: htlc.channelId,
      htlcIndex: htlc.htlcIndex,
      amtMsat: htlc.amountMsat.toString(),
      acceptHeight: height,
      acceptTime: Math.floor(Date.now() / 1000),
      resolveTime: 0,
      expiryHeight: htlc.expiryHeight,
      state: 'ACCEPTED',
    });
    record.state = 'ACCEPTED';
    this.store.save();
    this.notify(record);
    // The expiry watcher looks at a newly held invoice at once.
    this.onBlock(height);
    return true;
  }

  /** LND's expiry watcher, height-based part: cancel held invoices holdExpiryDelta blocks before expiry. */
  onBlock(height: number): void {
    for (const record of Object.values(this.store.state.invoices)) {
      if (record.state !== 'ACCEPTED') continue;
      const held = record.htlcs.filter((htlc) => htlc.state === 'ACCEPTED');
      if (held.length === 0) continue;
      const lowest = Math.min(...held.map((htlc) => htlc.expiryHeight));
      if (height + this.hooks.holdExpiryDelta >= lowest) this.cancelRecord(record);
    }
  }

  /** LND's expiry watcher, time-based part: OPEN invoices past their expiry are canceled. */
  expireByTime(): void {
    const now = Date.now();
    for (const record of Object.values(this.store.state.invoices)) {
      if (record.state === 'OPEN' && (record.creationDate + record.expiry) * 1000 < now)
        this.cancelRecord(record);
    }
  }

  private cancelRecord(record: InvoiceRecord): void {
    const now = Math.floor(Date.now() / 1000);
    record.state = 'CANCELED';
    const failed = record.htlcs.filter((htlc) => htlc.state === 'ACCEPTED');
    for (const htlc of failed) Object.assign(htlc, { state: 'CANCELED', resolveTime: now });
    this.store.save();
    for (const htlc of failed) this.hooks.resolveHtlc(htlc.htlcId, null);
    this.notify(record);
  }

  private notify(record: InvoiceRecord): void {
    for (const listener of [...(this.listeners.get(record.hash) ?? [])]) listener(record);
  }
}
