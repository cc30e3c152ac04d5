// The LND adapter of the Lightning port: hodl invoices through alexbosworth's `lightning` package (LND's
// gRPC API). Each port method lives in its own file; this class wires them to one connection, keeps the
// event watcher running while someone listens, and refuses use after close().
//
//   const backend = await LndBackend.connect(lndConfigFromEnv());   // checks everything first
//   ... backend.close();
import { LightningError } from '../lightning-error.ts';
import type {
  CreatedHoldInvoice,
  CreateHoldInvoiceRequest,
  HoldInvoice,
  HoldInvoiceBackend,
  HoldState,
  LightningListener,
  NodeInfo,
  PaymentResult,
  PayRequest,
} from '../port.ts';
import { cancelHold } from './cancel-hold.ts';
import { connectLnd } from './connect-lnd.ts';
import { createHold } from './create-hold.ts';
import type { LndConfig, LndSettings } from './lnd-config.ts';
import type { LndContext } from './lnd-context.ts';
import { payInvoice, paymentStatus } from './pay-invoice.ts';
import { listHolds, lookupHold } from './read-holds.ts';
import { readNodeInfo } from './read-node-info.ts';
import { settleHold } from './settle-hold.ts';
import { NodeWatcher } from './watch-node.ts';

export class LndBackend implements HoldInvoiceBackend {
  private readonly watcher: NodeWatcher;

  private constructor(private readonly context: LndContext) {
    this.watcher = new NodeWatcher(context);
  }

  /** Connects and runs the start-up checks; throws LndConnectionError (or LndConfigError) naming what is wrong. */
  static async connect(config: LndConfig): Promise<LndBackend> {
    return new LndBackend(await connectLnd(config));
  }

  get nodeId(): string {
    return this.context.nodeId;
  }

  get settings(): LndSettings {
    return this.context.settings;
  }

  async createHoldInvoice(request: CreateHoldInvoiceRequest): Promise<CreatedHoldInvoice> {
    const created = await createHold(this.context, request);
    this.watcher.watch(created.paymentHash);
    return created;
  }

  async settle(preimage: string, expectedPaymentHash?: string): Promise<void> {
    const paymentHash = await settleHold(this.context, preimage, expectedPaymentHash);
    await this.reportNow(paymentHash);
  }

  async cancel(paymentHash: string): Promise<void> {
    await cancelHold(this.context, paymentHash);
    await this.reportNow(paymentHash);
  }

  lookup(paymentHash: string): Promise<HoldInvoice | null> {
    return lookupHold(this.context, paymentHash);
  }

  list(state?: HoldState): Promise<HoldInvoice[]> {
    return listHolds(this.context, state);
  }

  pay(request: PayRequest): Promise<PaymentResult> {
    return payInvoice(this.context, request);
  }

  paymentStatus(paymentHash: string): Promise<PaymentResult | null> {
    return paymentStatus(this.context, paymentHash);
  }

  getInfo(): Promise<NodeInfo> {
    return readNodeInfo(this.context);
  }

  subscribe(listener: LightningListener): () => void {
    if (this.context.isClosed) throw new LightningError('NodeUnavailable', 'the LND backend is closed');
    const remove = this.context.addListener(listener);
    this.watcher.start();
    // A new listener hears every hold held right now first: LND announces nothing after its restarts.
    listHolds(this.context, 'ACCEPTED')
      .then((held) => this.watcher.replayAccepted(listener, held))
      .catch(() => {});
    return () => {
      remove();
      if (!this.context.hasListeners) this.watcher.stop();
    };
  }

  /** Stops the watcher and refuses further calls. The gRPC channel closes when the process lets it go. */
  close(): void {
    this.watcher.stop();
    this.context.close();
  }

  /** Settle and cancel report their transition at once; the stream would say it too, a little later. */
  private async reportNow(paymentHash: string): Promise<void> {
    if (!this.context.hasListeners) return;
    const hold = await lookupHold(this.context, paymentHash).catch(() => null);
    if (hold) this.watcher.observe(hold);
  }
}
