// STAND-IN LND (test double, not LND): the agent's node in the stand-in network. It holds what LND's
// database holds (StandinStore: invoices, payments), answers HTLCs for its invoices (StandinInvoices), sends
// payments (StandinPayments), and runs LND's expiry watcher on every block and on a timer. It is built from
// its file at start, so a restart (a new StandinLndNode over the same file) keeps exactly what LND would.
import { join } from 'node:path';
import { StandinInvoices } from './standin-invoices.ts';
import type { NodeKey } from './standin-keys.ts';
import type { IncomingHtlc, NetworkNode, PaymentOutcome, StandinNetwork } from './standin-network.ts';
import { StandinPayments } from './standin-payments.ts';
import { StandinStore } from './standin-store.ts';

export interface StandinNodeOptions {
  directory: string;
  network: StandinNetwork;
  nodeKey: NodeKey;
  /** LND's invoices.holdexpirydelta. */
  holdExpiryDelta: number;
}

export class StandinLndNode implements NetworkNode {
  readonly invoices: StandinInvoices;
  readonly payments: StandinPayments;
  readonly nodeKey: NodeKey;
  /** What GetInfo reports as synced_to_chain (tests turn it off). */
  syncedToChain = true;
  private readonly expiryTimer: NodeJS.Timeout;

  constructor(private readonly options: StandinNodeOptions) {
    const store = new StandinStore(join(options.directory, 'standin-lnd.json'));
    this.nodeKey = options.nodeKey;
    this.invoices = new StandinInvoices(store, {
      height: () => options.network.height,
      resolveHtlc: (htlcId, preimage) => options.network.resolve(htlcId, preimage),
      holdExpiryDelta: options.holdExpiryDelta,
      nodeKey: options.nodeKey,
    });
    this.payments = new StandinPayments(store, options.network);
    // LND's expiry watcher at start-up: held invoices past their deadline and expired open ones go at once.
    this.invoices.onBlock(options.network.height);
    this.invoices.expireByTime();
    this.expiryTimer = setInterval(() => this.invoices.expireByTime(), 100);
    this.expiryTimer.unref();
    options.network.attach('agent', this);
  }

  get network(): StandinNetwork {
    return this.options.network;
  }

  stop(): void {
    clearInterval(this.expiryTimer);
    this.options.network.detach('agent');
  }

  receiveHtlc(htlc: IncomingHtlc): void {
    this.invoices.receiveHtlc(htlc);
  }

  outgoingResolved(paymentHash: string, outcome: PaymentOutcome): void {
    this.payments.resolved(paymentHash, outcome);
  }

  onBlock(height: number): void {
    this.invoices.onBlock(height);
  }
}
