// The relays of one NWC connection (the URI may name several), on the project's relay pool (src/nostr) with a pool
// of its own: plain subscriptions (no cursor: NIP-47 traffic is ephemeral) under fixed ids on every relay, and a
// publish that succeeds when one relay accepts it. The pool reconnects, re-sends the subscriptions on every new
// connection, probes each connection and hands events on raw, from every relay: the receiver verifies each one
// and only then drops duplicates (SeenIds), so that a forged copy cannot censor the genuine event.
import {
  type Filter,
  type PoolSubscription,
  publishOutcome,
  RelayPool,
  type SignedEvent,
} from '../../nostr/relay-pool.ts';
import { normalizeRelayUrl } from '../../nostr/relay-url.ts';
import type { NwcLogger } from './nwc-log.ts';

export interface RelayGroupOptions {
  urls: readonly string[];
  /** A relay connection opened (again); the subscriptions have just been sent on it. */
  onOpen?(relay: string): void;
  log: NwcLogger;
  connectTimeoutMs?: number;
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** How often each connection is probed (a REQ that must be answered); a silent one is dropped and dialled again. */
  probeIntervalMs?: number;
  /** How long a publish waits for a relay's OK. */
  publishTimeoutMs?: number;
}

/** No relay took the event: none was connected, or each answered OK false. Nothing was delivered. */
export class RelayRefusal extends Error {
  override name = 'RelayRefusal';
}

const DEFAULTS = {
  connectTimeoutMs: 5000,
  reconnectInitialMs: 250,
  reconnectMaxMs: 10_000,
  probeIntervalMs: 20_000,
  publishTimeoutMs: 5000,
  /** A NIP-44 payload is at most 64 KiB before base64. */
  maxMessageBytes: 1024 * 1024,
};

export class RelayGroup {
  private readonly pool: RelayPool;
  private readonly subscriptions = new Map<string, PoolSubscription>();
  private readonly urls: string[];
  private closing: Promise<void> | undefined;

  constructor(options: RelayGroupOptions) {
    this.urls = [...new Set(options.urls.map((url) => normalizeRelayUrl(url)))];
    this.pool = new RelayPool({
      relays: this.urls.map((url) => ({ url, read: false, write: true })),
      logger: options.log,
      ...(options.onOpen ? { onConnect: options.onOpen } : {}),
      backoff: {
        initialMs: options.reconnectInitialMs ?? DEFAULTS.reconnectInitialMs,
        maxMs: Math.max(
          options.reconnectMaxMs ?? DEFAULTS.reconnectMaxMs,
          options.reconnectInitialMs ?? DEFAULTS.reconnectInitialMs,
        ),
        jitter: 0.3,
      },
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      probeIntervalMs: options.probeIntervalMs ?? DEFAULTS.probeIntervalMs,
      requestTimeoutMs: options.probeIntervalMs ?? DEFAULTS.probeIntervalMs,
      publishTimeoutMs: options.publishTimeoutMs ?? DEFAULTS.publishTimeoutMs,
      maxMessageBytes: DEFAULTS.maxMessageBytes,
    });
  }

  start(): void {
    this.pool.start();
  }

  /** Kept across reconnects; `filters` is called again for each (re)send, so `since` can move on. */
  subscribe(id: string, filters: () => Filter[], onEvent: (event: unknown, relay: string) => void): void {
    this.unsubscribe(id);
    this.subscriptions.set(id, this.pool.subscribe({ id, filters, onEvent }));
  }

  unsubscribe(id: string): void {
    this.subscriptions.get(id)?.close();
    this.subscriptions.delete(id);
  }

  /** Some relay has sent this subscription's EOSE on its current connection: new events will reach us. */
  isLive(id: string): boolean {
    return this.subscriptions.get(id)?.isLive() === true;
  }

  /** Resolves true as soon as one relay has the subscription live, false after timeoutMs. */
  whenLive(id: string, timeoutMs: number): Promise<boolean> {
    return this.waitUntil(() => this.isLive(id), timeoutMs);
  }

  /** Resolves true as soon as one relay is connected, false after timeoutMs. */
  whenConnected(timeoutMs: number): Promise<boolean> {
    return this.waitUntil(() => this.openUrls().length > 0, timeoutMs);
  }

  /** Resolves true once every connected relay (at least one) has the subscription live, false after timeoutMs. */
  whenLiveEverywhere(id: string, timeoutMs: number): Promise<boolean> {
    return this.waitUntil(() => {
      const open = this.openUrls();
      const subscription = this.subscriptions.get(id);
      return open.length > 0 && subscription !== undefined && open.every((url) => subscription.isLive(url));
    }, timeoutMs);
  }

  /**
   * Resolves when one relay accepted the event. Rejects with a RelayRefusal when every relay refused it or none
   * was connected (nobody can have received it), and with a plain Error when some relay's answer is unknown.
   */
  async publish(event: SignedEvent): Promise<void> {
    try {
      await Promise.any(this.urls.map((url) => this.publishOn(url, event)));
    } catch (error) {
      const errors: unknown[] = error instanceof AggregateError ? error.errors : [error];
      const reasons = errors.map((item) => (item instanceof Error ? item.message : String(item))).join('; ');
      throw errors.every((item) => item instanceof RelayRefusal)
        ? new RelayRefusal(reasons)
        : new Error(reasons);
    }
  }

  /** Publishes on one relay only (a request re-sent to a relay that just came back). */
  async publishOn(url: string, event: SignedEvent): Promise<void> {
    const [result] = await this.pool.publish(event, [url]);
    if (!result || result.ok) return;
    const reason = `${result.relay}: ${result.message || 'refused'}`;
    throw publishOutcome(result) === 'refused' ? new RelayRefusal(reason) : new Error(reason);
  }

  status(): { url: string; open: boolean }[] {
    return this.pool.status().map((status) => ({ url: status.url, open: status.connected }));
  }

  /** Closes every connection; resolves once they are closed. */
  close(): Promise<void> {
    this.closing ??= this.pool.stop();
    return this.closing;
  }

  private openUrls(): string[] {
    return this.pool
      .status()
      .filter((status) => status.connected)
      .map((status) => status.url);
  }

  private waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (value: boolean) => {
        clearTimeout(timer);
        stop();
        resolve(value);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const stop = this.pool.watch(() => {
        if (check()) finish(true);
      });
    });
  }
}

/** Ids of verified events already handled, the oldest forgotten past `capacity`. */
export class SeenIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = 10_000) {}

  /** True the first time an id is offered. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }
}
