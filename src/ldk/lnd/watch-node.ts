// Events while someone listens: `block` from polling GetInfo (info:read only; LND's block stream would need
// onchain:read), and hold transitions from one SubscribeSingleInvoice stream per open or held invoice
// (LND's SubscribeInvoices stream does not report ACCEPTED or CANCELED). Streams die when LND restarts:
// when polling recovers, every OPEN and ACCEPTED invoice is found again with ListInvoices and watched anew.
// Events are hints (at least once, possibly late); the agent's reconciler polls lookup() as the backstop.
import { getInvoices, getWalletInfo, subscribeToInvoice } from 'lightning';
import { type HoldInvoice, type HoldState, isAcceptedHold, type LightningListener } from '../port.ts';
import type { LndInvoice } from './hold-invoice-view.ts';
import type { LndContext } from './lnd-context.ts';
import { viewInvoice } from './read-holds.ts';

interface InvoiceStream {
  on(event: 'invoice_updated', listener: (invoice: LndInvoice) => void): unknown;
  on(event: 'error' | 'end', listener: (value?: unknown) => void): unknown;
  removeAllListeners(): unknown;
}

const TERMINAL: ReadonlySet<HoldState> = new Set(['SETTLED', 'CANCELED']);
const RETRY_STREAM_MS = 1000;
/** Reported states kept; older terminal ones are forgotten (they only guard against re-watching). */
const MAX_REPORTED = 10_000;

export class NodeWatcher {
  private running = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private reportedHeight: number | null = null;
  private reachable = true;
  private readonly streams = new Map<string, InvoiceStream>();
  /** The last state reported per hash: a transition is announced once per watcher, whatever its source. */
  private readonly reported = new Map<string, HoldState>();
  /** Updates of one hash are handled in order. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(private readonly context: LndContext) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.reportedHeight = null;
    void this.poll();
    void this.watchPending();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.pollTimer);
    for (const stream of this.streams.values()) stream.removeAllListeners();
    this.streams.clear();
  }

  /** Starts following one hash (a hold just created, or found open). */
  watch(paymentHash: string): void {
    const known = this.reported.get(paymentHash);
    if (!this.running || this.streams.has(paymentHash) || (known && TERMINAL.has(known))) return;
    let stream: InvoiceStream;
    try {
      stream = subscribeToInvoice({ lnd: this.context.lnd, id: paymentHash });
    } catch {
      return;
    }
    this.streams.set(paymentHash, stream);
    const dropped = () => {
      stream.removeAllListeners();
      if (this.streams.get(paymentHash) !== stream) return;
      this.streams.delete(paymentHash);
      // Still open or held: follow it again. While LND is unreachable the poller re-finds every open
      // invoice when it answers again, so one retry per invoice per second is not needed then.
      if (!this.reachable) return;
      const timer = setTimeout(() => this.watch(paymentHash), RETRY_STREAM_MS);
      timer.unref();
    };
    stream.on('invoice_updated', (invoice) => this.enqueue(paymentHash, () => this.observeInvoice(invoice)));
    stream.on('error', dropped);
    stream.on('end', dropped);
  }

  /** Reports a hold's state if it changed since last reported (also used right after settle or cancel). */
  observe(hold: HoldInvoice): void {
    const previous = this.reported.get(hold.paymentHash);
    if (previous === hold.state) return;
    this.reported.delete(hold.paymentHash);
    this.reported.set(hold.paymentHash, hold.state);
    if (TERMINAL.has(hold.state)) this.unwatch(hold.paymentHash);
    if (this.reported.size > MAX_REPORTED) this.forgetOldTerminal();
    this.announce(hold, (event) => this.context.emit(event));
  }

  /** What a new listener must hear first: every hold ACCEPTED right now (LND's restarts announce nothing). */
  async replayAccepted(listener: LightningListener, held: HoldInvoice[]): Promise<void> {
    for (const hold of held) if (hold.state === 'ACCEPTED') this.announce(hold, listener);
  }

  private announce(hold: HoldInvoice, send: LightningListener): void {
    switch (hold.state) {
      case 'ACCEPTED':
        // The view gives an ACCEPTED hold its heights (or throws): a hold without them is never announced.
        if (!isAcceptedHold(hold)) return;
        send({
          type: 'hold_accepted',
          paymentHash: hold.paymentHash,
          amountMsat: hold.receivedMsat,
          htlcExpiryHeight: hold.htlcExpiryHeight,
          claimDeadlineHeight: hold.claimDeadlineHeight,
        });
        return;
      case 'SETTLED':
        send({ type: 'hold_settled', paymentHash: hold.paymentHash, amountMsat: hold.receivedMsat });
        return;
      case 'CANCELED':
        send({
          type: 'hold_cancelled',
          paymentHash: hold.paymentHash,
          reason: hold.cancelReason ?? 'requested',
        });
        return;
      case 'OPEN':
        return;
    }
  }

  private async observeInvoice(invoice: LndInvoice): Promise<void> {
    if (!this.running) return;
    try {
      this.observe(await viewInvoice(this.context, invoice));
    } catch {
      // A failed height lookup: the next update or the reconciler's lookup reports it.
    }
  }

  private forgetOldTerminal(): void {
    for (const [paymentHash, state] of this.reported) {
      if (this.reported.size <= MAX_REPORTED / 2) return;
      if (TERMINAL.has(state)) this.reported.delete(paymentHash);
    }
  }

  private unwatch(paymentHash: string): void {
    const stream = this.streams.get(paymentHash);
    if (!stream) return;
    this.streams.delete(paymentHash);
    stream.removeAllListeners();
  }

  private enqueue(paymentHash: string, task: () => Promise<void>): void {
    const next = (this.queues.get(paymentHash) ?? Promise.resolve()).then(task);
    this.queues.set(paymentHash, next);
    void next.then(() => {
      if (this.queues.get(paymentHash) === next) this.queues.delete(paymentHash);
    });
  }

  private async watchPending(): Promise<void> {
    let token: string | undefined;
    try {
      do {
        const page = await this.context.call('lookup', () =>
          getInvoices(
            token === undefined
              ? { lnd: this.context.lnd, limit: 100, is_unconfirmed: true }
              : { lnd: this.context.lnd, token, is_unconfirmed: true },
          ),
        );
        for (const invoice of page.invoices) if (invoice.request && !invoice.is_push) this.watch(invoice.id);
        token = page.next;
      } while (token !== undefined && this.running);
    } catch {
      // LND unreachable: the poller calls this again when it answers.
    }
  }

  private async poll(): Promise<void> {
    if (!this.running) return;
    try {
      const info = await this.context.call('info', () => getWalletInfo({ lnd: this.context.lnd }));
      const height = info.current_block_height;
      this.context.lastHeight = height;
      if (!this.reachable) {
        this.reachable = true;
        void this.watchPending();
      }
      const from = this.reportedHeight === null ? height : this.reportedHeight + 1;
      for (let next = from; next <= height && this.running; next += 1) {
        this.context.emit({ type: 'block', height: next });
      }
      if (this.reportedHeight === null || height > this.reportedHeight) this.reportedHeight = height;
    } catch {
      this.reachable = false;
    }
    if (!this.running) return;
    this.pollTimer = setTimeout(() => void this.poll(), this.context.settings.pollIntervalMs);
    this.pollTimer.unref();
  }
}
