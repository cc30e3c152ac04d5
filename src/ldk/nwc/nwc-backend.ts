// The NWC adapter of the Lightning port: the agent's node reached over Nostr Wallet Connect (NIP-47 with the
// hold-invoice methods), e.g. Alby Hub with LDK or LND inside, or our sandbox wallet service.
//
//   const lightning = await NwcBackend.connect({ uri: 'nostr+walletconnect://...' });
//
// connect() refuses to start (NwcStartupError, naming what is missing) unless the wallet's info event and its
// get_info for this connection list every method and notification the agent needs (nip47.ts). Each port
// method lives in its own file; this class wires them to one connection. Notifications are hints: while
// anyone is subscribed, the adapter also polls the block height and the holds it follows (poll-wallet.ts).
import { LightningError } from '../lightning-error.ts';
import type {
  CreatedHoldInvoice,
  CreateHoldInvoiceRequest,
  HoldInvoice,
  HoldInvoiceBackend,
  HoldState,
  LightningEvent,
  LightningListener,
  NodeInfo,
  PaymentResult,
  PayRequest,
} from '../port.ts';
import { cancelHold } from './cancel-hold.ts';
import { createHold } from './create-hold.ts';
import { isHex32 } from './hex.ts';
import { HoldTracker } from './hold-tracker.ts';
import { listHolds } from './list-holds.ts';
import { lookupHold, lookupPayment } from './lookup-transaction.ts';
import { toHoldInvoice, toPaymentResult } from './map-transaction.ts';
import { Nip47Client, type Nip47Notification } from './nip47-client.ts';
import { transactionSchema } from './nip47-schemas.ts';
import type { NwcContext, WalletDescription } from './nwc-context.ts';
import { type NwcLogger, silentLogger } from './nwc-log.ts';
import { parseNwcUri } from './nwc-uri.ts';
import { payInvoice } from './pay-invoice.ts';
import { type Poller, startPolling } from './poll-wallet.ts';
import { readNodeInfo } from './read-wallet-info.ts';
import { settleHold } from './settle-hold.ts';
import { checkWallet } from './start-checks.ts';

export interface NwcBackendOptions {
  /** nostr+walletconnect://<wallet pubkey>?relay=...&secret=... (never logged). */
  uri: string;
  /** How long a request waits for the wallet's answer before failing with Timeout (pay adds its own timeout). */
  requestTimeoutMs?: number;
  /** While anyone is subscribed: how often the block height and the followed holds are polled. */
  pollIntervalMs?: number;
  /** Start-up: how long to wait for a relay, the info event and get_info. */
  startupTimeoutMs?: number;
  log?: NwcLogger;
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_POLL_INTERVAL_MS = 15_000;
const DEFAULT_STARTUP_TIMEOUT_MS = 15_000;
const POLL_REQUEST_TIMEOUT_MS = 10_000;

export class NwcBackend implements HoldInvoiceBackend {
  private readonly listeners = new Set<LightningListener>();
  private readonly context: NwcContext;
  private readonly poller: Poller;
  private closed = false;

  private constructor(
    private readonly client: Nip47Client,
    readonly wallet: WalletDescription,
    blockHeight: number,
    options: NwcBackendOptions,
  ) {
    const log = options.log ?? silentLogger;
    const tracker = new HoldTracker(log);
    tracker.noteHeight(blockHeight);
    this.context = {
      client,
      wallet,
      tracker,
      log,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      emit: (event) => this.emit(event),
      paying: new Map(),
    };
    client.onNotification((notification) => this.onNotification(notification));
    this.poller = startPolling(this.context, {
      intervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      timeoutMs: Math.min(POLL_REQUEST_TIMEOUT_MS, this.context.requestTimeoutMs),
      active: () => this.listeners.size > 0,
    });
  }

  /** Connects, checks the wallet offers what the agent needs, and starts following it. */
  static async connect(options: NwcBackendOptions): Promise<NwcBackend> {
    const connection = parseNwcUri(options.uri);
    const log = options.log ?? silentLogger;
    const client = new Nip47Client({
      connection,
      log,
      ...(options.reconnectInitialMs !== undefined ? { reconnectInitialMs: options.reconnectInitialMs } : {}),
      ...(options.reconnectMaxMs !== undefined ? { reconnectMaxMs: options.reconnectMaxMs } : {}),
    });
    try {
      const { wallet, blockHeight } = await checkWallet(
        client,
        options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS,
        log,
      );
      log.info(
        {
          wallet: wallet.walletPubkey,
          node: wallet.nodeId,
          network: wallet.network,
          encryption: wallet.encryption,
          blockHeight,
        },
        'NWC wallet service ready',
      );
      return new NwcBackend(client, wallet, blockHeight, options);
    } catch (error) {
      client.close();
      throw error;
    }
  }

  createHoldInvoice(request: CreateHoldInvoiceRequest): Promise<CreatedHoldInvoice> {
    return createHold(this.context, request);
  }

  settle(preimage: string, expectedPaymentHash?: string): Promise<void> {
    return settleHold(this.context, preimage, expectedPaymentHash);
  }

  cancel(paymentHash: string): Promise<void> {
    return cancelHold(this.context, paymentHash);
  }

  async lookup(paymentHash: string): Promise<HoldInvoice | null> {
    if (!isHex32(paymentHash))
      throw new LightningError('InvalidArgument', 'payment hash must be 64 lowercase hex');
    return lookupHold(this.context, paymentHash);
  }

  list(state?: HoldState): Promise<HoldInvoice[]> {
    return listHolds(this.context, state);
  }

  pay(request: PayRequest): Promise<PaymentResult> {
    return payInvoice(this.context, request);
  }

  async paymentStatus(paymentHash: string): Promise<PaymentResult | null> {
    if (!isHex32(paymentHash))
      throw new LightningError('InvalidArgument', 'payment hash must be 64 lowercase hex');
    return lookupPayment(this.context, paymentHash);
  }

  getInfo(): Promise<NodeInfo> {
    return readNodeInfo(this.context);
  }

  /** Also reports, to this listener, every hold ACCEPTED at the wallet now (list_transactions). */
  subscribe(listener: LightningListener): () => void {
    this.listeners.add(listener);
    void this.replayAccepted(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Relays and the relays' connections, for status pages and tests. */
  relayStatus(): { url: string; open: boolean }[] {
    return this.client.relayStatus();
  }

  /** One poll round now: block height and followed holds (normally on a timer while anyone is subscribed). */
  pollNow(): Promise<void> {
    return this.poller.pollNow();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poller.stop();
    this.listeners.clear();
    this.client.close();
  }

  private async replayAccepted(listener: LightningListener): Promise<void> {
    try {
      for (const hold of await listHolds(this.context, 'ACCEPTED')) {
        this.context.tracker.observe(hold, false);
        const event = acceptedEvent(hold);
        if (event && this.listeners.has(listener)) this.deliver(listener, event);
      }
    } catch (error) {
      this.context.log.warn(
        { err: String(error) },
        'NWC: could not list the ACCEPTED holds for a new subscriber',
      );
    }
  }

  private onNotification(notification: Nip47Notification): void {
    const parsed = transactionSchema.safeParse(notification.payload);
    if (!parsed.success) {
      this.context.log.warn(
        { type: notification.type },
        'ignored an NWC notification whose transaction does not parse',
      );
      return;
    }
    const transaction = parsed.data;
    switch (notification.type) {
      case 'hold_invoice_accepted': {
        const hold = toHoldInvoice(
          { ...transaction, state: transaction.state ?? 'accepted' },
          this.context.tracker,
        );
        if (hold?.state !== 'ACCEPTED' || hold.claimDeadlineHeight === null) {
          // Not enough to act on: the lookup has the whole story, and reports it if it changed.
          lookupHold(this.context, transaction.payment_hash).catch(() => undefined);
          return;
        }
        for (const event of this.context.tracker.observe(hold, true)) this.emit(event);
        return;
      }
      case 'payment_received': {
        // Only for holds we follow: a plain invoice being paid is no hold event.
        const hold = toHoldInvoice(transaction, this.context.tracker);
        if (hold) for (const event of this.context.tracker.observe(hold, false)) this.emit(event);
        return;
      }
      case 'payment_sent': {
        const result = transaction.type === 'outgoing' ? toPaymentResult(transaction) : null;
        if (result?.status === 'succeeded') {
          this.emit({
            type: 'payment_succeeded',
            paymentHash: result.paymentHash,
            preimage: result.preimage,
            feeMsat: result.feeMsat,
          });
        }
        return;
      }
      default:
        return;
    }
  }

  private emit(event: LightningEvent): void {
    for (const listener of this.listeners) this.deliver(listener, event);
  }

  /** Outside the caller's stack, so a listener that throws cannot break the adapter. */
  private deliver(listener: LightningListener, event: LightningEvent): void {
    setImmediate(() => {
      try {
        listener(event);
      } catch (error) {
        this.context.log.error({ err: String(error), event: event.type }, 'a Lightning listener threw');
      }
    });
  }
}

function acceptedEvent(hold: HoldInvoice): LightningEvent | null {
  if (hold.claimDeadlineHeight === null || hold.htlcExpiryHeight === null) return null;
  return {
    type: 'hold_accepted',
    paymentHash: hold.paymentHash,
    amountMsat: hold.receivedMsat,
    htlcExpiryHeight: hold.htlcExpiryHeight,
    claimDeadlineHeight: hold.claimDeadlineHeight,
  };
}
