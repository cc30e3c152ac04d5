// One WebSocket connection to one relay for NWC traffic, on `ws` directly (NIP-01 needs five message types):
// it reconnects with backoff and jitter until closed, re-sends every subscription on each new connection,
// marks a subscription live once the relay sent its EOSE, and answers publish() with the relay's own OK.
// Events are handed on raw: the caller verifies them (a relay is not trusted to).
import type { Filter } from 'nostr-tools/filter';
import { type RawData, WebSocket } from 'ws';
import type { NwcLogger } from './nwc-log.ts';

export interface RelayLinkOptions {
  url: string;
  onEvent(subscriptionId: string, event: unknown): void;
  /** Each time a connection opens (the subscriptions have just been re-sent). */
  onOpen?(): void;
  log: NwcLogger;
  connectTimeoutMs?: number;
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** A connection that does not answer a ping within one interval is dropped and dialled again. */
  pingIntervalMs?: number;
  maxMessageBytes?: number;
}

/** The relay never took the event: it was not connected, or it answered OK false. Nothing was delivered. */
export class RelayRefusal extends Error {
  override name = 'RelayRefusal';
}

interface Subscription {
  filters: () => Filter[];
  live: boolean;
}

interface PendingOk {
  /** Everyone who published this event id and waits for the relay's OK. */
  waiters: { resolve(): void; reject(error: Error): void }[];
  timer: NodeJS.Timeout;
}

export class RelayLink {
  private socket: WebSocket | null = null;
  private open = false;
  private closed = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private answeredPing = true;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly pendingOks = new Map<string, PendingOk>();
  private readonly waiters = new Set<() => void>();

  constructor(private readonly options: RelayLinkOptions) {}

  get url(): string {
    return this.options.url;
  }

  get isOpen(): boolean {
    return this.open;
  }

  start(): void {
    if (!this.socket && !this.closed) this.connect();
  }

  /** Kept across reconnects; `filters` is called again for each (re)send, so `since` can move on. */
  subscribe(id: string, filters: () => Filter[]): void {
    this.subscriptions.set(id, { filters, live: false });
    if (this.open) this.sendRequest(id);
  }

  unsubscribe(id: string): void {
    if (this.subscriptions.delete(id) && this.open) this.send(['CLOSE', id]);
  }

  /** The relay has sent this subscription's EOSE on the current connection: new events will reach us. */
  isLive(id: string): boolean {
    return this.open && this.subscriptions.get(id)?.live === true;
  }

  /** Resolves on the relay's OK true; rejects on OK false, on a closed connection, or after timeoutMs. */
  publish(event: { id: string }, timeoutMs: number): Promise<void> {
    if (!this.open) return Promise.reject(new RelayRefusal(`${this.url}: not connected`));
    return new Promise<void>((resolve, reject) => {
      const waiting = this.pendingOks.get(event.id);
      if (waiting) {
        // The same event again (a re-sent request): one OK answers every copy.
        waiting.waiters.push({ resolve, reject });
      } else {
        const timer = setTimeout(() => {
          const pending = this.pendingOks.get(event.id);
          this.pendingOks.delete(event.id);
          for (const waiter of pending?.waiters ?? [])
            waiter.reject(new Error(`${this.url}: no OK within ${timeoutMs} ms`));
        }, timeoutMs);
        this.pendingOks.set(event.id, { waiters: [{ resolve, reject }], timer });
      }
      this.send(['EVENT', event]);
    });
  }

  /** Calls `wake` whenever the connection or a subscription changes state, until the returned function is called. */
  onChange(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.dropSocket('closed');
    this.changed();
  }

  private connect(): void {
    const socket = new WebSocket(this.url, {
      handshakeTimeout: this.options.connectTimeoutMs ?? 5000,
      maxPayload: this.options.maxMessageBytes ?? 1024 * 1024,
    });
    this.socket = socket;
    socket.on('open', () => {
      if (this.socket !== socket) return;
      this.open = true;
      this.attempt = 0;
      this.answeredPing = true;
      this.options.log.debug({ relay: this.url }, 'NWC relay connected');
      for (const id of this.subscriptions.keys()) this.sendRequest(id);
      this.startPing(socket);
      this.changed();
      this.options.onOpen?.();
    });
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (this.socket !== socket || isBinary) return;
      this.onFrame(
        Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'),
      );
    });
    socket.on('pong', () => {
      this.answeredPing = true;
    });
    // An 'error' is always followed by 'close'; the handler only keeps it from being an uncaught exception.
    socket.on('error', (error: Error) => {
      this.options.log.debug({ relay: this.url, err: error.message }, 'NWC relay socket error');
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.dropSocket('connection closed');
      this.changed();
      this.scheduleReconnect();
    });
  }

  private onFrame(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!Array.isArray(message) || typeof message[0] !== 'string') return;
    switch (message[0]) {
      case 'EVENT':
        if (typeof message[1] === 'string' && this.subscriptions.has(message[1])) {
          this.options.onEvent(message[1], message[2]);
        }
        return;
      case 'EOSE': {
        const subscription = typeof message[1] === 'string' ? this.subscriptions.get(message[1]) : undefined;
        if (subscription && !subscription.live) {
          subscription.live = true;
          this.changed();
        }
        return;
      }
      case 'CLOSED': {
        const id = message[1];
        const subscription = typeof id === 'string' ? this.subscriptions.get(id) : undefined;
        if (!subscription || typeof id !== 'string') return;
        subscription.live = false;
        this.changed();
        this.options.log.warn(
          { relay: this.url, subscription: id, reason: String(message[2] ?? '') },
          'the relay closed an NWC subscription; asking again',
        );
        setTimeout(() => {
          if (this.open && this.subscriptions.get(id) === subscription) this.sendRequest(id);
        }, 1000).unref();
        return;
      }
      case 'OK': {
        const pending = typeof message[1] === 'string' ? this.pendingOks.get(message[1]) : undefined;
        if (!pending) return;
        this.pendingOks.delete(message[1] as string);
        clearTimeout(pending.timer);
        for (const waiter of pending.waiters) {
          if (message[2] === true) waiter.resolve();
          else waiter.reject(new RelayRefusal(`${this.url}: ${String(message[3] ?? 'refused')}`));
        }
        return;
      }
      case 'NOTICE':
        this.options.log.debug({ relay: this.url, notice: String(message[1]).slice(0, 200) }, 'relay notice');
        return;
      default:
        return;
    }
  }

  private sendRequest(id: string): void {
    const subscription = this.subscriptions.get(id);
    if (!subscription) return;
    subscription.live = false;
    this.send(['REQ', id, ...subscription.filters()]);
  }

  private send(message: unknown[]): void {
    if (this.open) this.socket?.send(JSON.stringify(message));
  }

  private startPing(socket: WebSocket): void {
    const interval = this.options.pingIntervalMs ?? 20_000;
    this.pingTimer = setInterval(() => {
      if (!this.answeredPing) {
        this.options.log.warn({ relay: this.url }, 'NWC relay did not answer a ping; reconnecting');
        socket.terminate();
        return;
      }
      this.answeredPing = false;
      socket.ping();
    }, interval);
    this.pingTimer.unref();
  }

  private dropSocket(reason: string): void {
    const socket = this.socket;
    this.socket = null;
    this.open = false;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    for (const subscription of this.subscriptions.values()) subscription.live = false;
    for (const [id, pending] of this.pendingOks) {
      clearTimeout(pending.timer);
      for (const waiter of pending.waiters) waiter.reject(new Error(`${this.url}: ${reason}`));
      this.pendingOks.delete(id);
    }
    if (socket && socket.readyState !== WebSocket.CLOSED) {
      // terminate(): a close handshake with a peer that went away can wait 30 s.
      socket.terminate();
    }
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    this.attempt += 1;
    const initial = this.options.reconnectInitialMs ?? 250;
    const max = this.options.reconnectMaxMs ?? 10_000;
    const base = Math.min(max, initial * 2 ** Math.min(this.attempt - 1, 20));
    const delay = Math.round(base * (1 - 0.3 * Math.random()));
    if (this.attempt === 1 || this.attempt % 10 === 0) {
      this.options.log.warn(
        { relay: this.url, attempt: this.attempt, delayMs: delay },
        'NWC relay unreachable; retrying',
      );
    }
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closed) this.connect();
    }, delay);
  }

  private changed(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
