// The sandbox adapter of the Lightning port: one real LDK node (ldk-node.ts) plus the adapter's own records.
// Each port method lives in its own file; this class wires them to one node and guards against use after stop.
import { join } from 'node:path';
import type * as ldk from 'lightningdevkit';
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
import { BackendContext } from './backend-context.ts';
import { cancelHold } from './cancel-hold.ts';
import { type CreateInvoiceRequest, createHoldInvoice, createRegularInvoice } from './create-invoice.ts';
import { type ChannelHooks, handleNodeEvent } from './handle-node-event.ts';
import { InvoiceRecords, toHoldInvoice } from './invoice-records.ts';
import { LdkNode } from './ldk-node.ts';
import type { LdkNodeOptions } from './node-options.ts';
import { payInvoice, paymentStatus } from './pay-invoice.ts';
import { PaymentRecords } from './payment-records.ts';
import { readNodeInfo } from './read-node-info.ts';
import { expireOpenInvoices, reconcileAfterBlock, reconcileAtStartup } from './reconcile-holds.ts';
import { settleHold } from './settle-hold.ts';

export class SandboxBackend implements HoldInvoiceBackend {
  readonly node: LdkNode;
  private readonly context: BackendContext;

  private constructor(options: LdkNodeOptions, hooks: ChannelHooks) {
    this.node = LdkNode.open(options);
    this.context = new BackendContext(
      this.node,
      new InvoiceRecords(join(options.directory, 'invoices')),
      new PaymentRecords(join(options.directory, 'payments')),
      options.log,
    );
    this.node.start((event: ldk.Event) => handleNodeEvent(this.context, hooks, event));
    reconcileAtStartup(this.context);
  }

  static open(options: LdkNodeOptions, hooks: ChannelHooks): SandboxBackend {
    return new SandboxBackend(options, hooks);
  }

  get name(): string {
    return this.node.name;
  }

  get nodeId(): string {
    return this.node.nodeId;
  }

  async createHoldInvoice(request: CreateHoldInvoiceRequest): Promise<CreatedHoldInvoice> {
    this.assertRunning();
    return createHoldInvoice(this.context, request);
  }

  /** Not part of the port: a plain invoice, claimed on payment (the payee side of payouts in tests). */
  async createInvoice(request: CreateInvoiceRequest): Promise<CreatedHoldInvoice> {
    this.assertRunning();
    return createRegularInvoice(this.context, request);
  }

  async settle(preimage: string, expectedPaymentHash?: string): Promise<void> {
    this.assertRunning();
    await settleHold(this.context, preimage, expectedPaymentHash);
  }

  async cancel(paymentHash: string): Promise<void> {
    this.assertRunning();
    cancelHold(this.context, paymentHash);
  }

  async lookup(paymentHash: string): Promise<HoldInvoice | null> {
    this.assertRunning();
    expireOpenInvoices(this.context);
    const record = this.context.invoices.get(paymentHash);
    return record?.kind === 'hold' ? toHoldInvoice(record) : null;
  }

  async list(state?: HoldState): Promise<HoldInvoice[]> {
    this.assertRunning();
    expireOpenInvoices(this.context);
    return this.context.invoices
      .all()
      .filter((record) => record.kind === 'hold' && (state === undefined || record.state === state))
      .sort((left, right) => left.createdAt - right.createdAt)
      .map(toHoldInvoice);
  }

  async pay(request: PayRequest): Promise<PaymentResult> {
    this.assertRunning();
    return payInvoice(this.context, request);
  }

  async paymentStatus(paymentHash: string): Promise<PaymentResult | null> {
    this.assertRunning();
    return paymentStatus(this.context, paymentHash);
  }

  async getInfo(): Promise<NodeInfo> {
    this.assertRunning();
    return readNodeInfo(this.node);
  }

  subscribe(listener: LightningListener): () => void {
    const unsubscribe = this.context.subscribe(listener);
    // A restart does not re-announce held payments (LDK does not re-emit PaymentClaimable): every subscriber
    // learns the ACCEPTED holds when it subscribes.
    for (const record of this.context.invoices.inState('ACCEPTED')) {
      if (record.kind !== 'hold' || record.claimDeadlineHeight === null || record.htlcExpiryHeight === null)
        continue;
      this.context.deliver(listener, {
        type: 'hold_accepted',
        paymentHash: record.paymentHash,
        amountMsat: record.receivedMsat,
        htlcExpiryHeight: record.htlcExpiryHeight,
        claimDeadlineHeight: record.claimDeadlineHeight,
      });
    }
    return unsubscribe;
  }

  /** Called by the sandbox after it connected a block to this node. */
  afterBlock(): void {
    if (this.node.isStopped) return;
    reconcileAfterBlock(this.context);
    this.context.emit({ type: 'block', height: this.node.blockHeight() });
  }

  /** Resolves when check() holds after some change on this node (channel ready, record written, ...). */
  waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
    return this.context
      .waitFor(() => (check() ? true : undefined), timeoutMs)
      .then((value) => value === true);
  }

  /** Resolves with check()'s first defined value, or undefined after timeoutMs. */
  waitFor<T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    return this.context.waitFor(check, timeoutMs);
  }

  stop(graceful: boolean): void {
    this.node.stop(graceful);
    this.context.close();
  }

  private assertRunning(): void {
    if (this.node.isStopped) throw new LightningError('NodeUnavailable', `${this.node.name} is stopped`);
  }
}
