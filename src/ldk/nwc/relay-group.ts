// The relays of one NWC connection (the URI may name several): the same subscriptions on each, and a publish
// that succeeds when one relay accepts it. Events are passed on raw, from every relay: the receiver verifies
// each one and only then drops duplicates (SeenIds), so that a forged copy cannot censor the genuine event.
import type { Filter } from 'nostr-tools/filter';
import type { NwcLogger } from './nwc-log.ts';
import { RelayLink, RelayRefusal } from './relay-link.ts';

export interface RelayGroupOptions {
  urls: readonly string[];
  /** Every event as a relay sent it: raw, unverified, possibly a duplicate of one another relay sent. */
  onEvent(subscriptionId: string, event: unknown, relay: string): void;
  /** A relay connection opened (again). */
  onOpen?(relay: string): void;
  log: NwcLogger;
  connectTimeoutMs?: number;
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  pingIntervalMs?: number;
}

export class RelayGroup {
  readonly links: RelayLink[];

  constructor(options: RelayGroupOptions) {
    this.links = options.urls.map(
      (url) =>
        new RelayLink({
          url,
          log: options.log,
          onEvent: (subscriptionId, event) => options.onEvent(subscriptionId, event, url),
          onOpen: () => options.onOpen?.(url),
          ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
          ...(options.reconnectInitialMs !== undefined
            ? { reconnectInitialMs: options.reconnectInitialMs }
            : {}),
          ...(options.reconnectMaxMs !== undefined ? { reconnectMaxMs: options.reconnectMaxMs } : {}),
          ...(options.pingIntervalMs !== undefined ? { pingIntervalMs: options.pingIntervalMs } : {}),
        }),
    );
  }

  start(): void {
    for (const link of this.links) link.start();
  }

  subscribe(id: string, filters: () => Filter[]): void {
    for (const link of this.links) link.subscribe(id, filters);
  }

  unsubscribe(id: string): void {
    for (const link of this.links) link.unsubscribe(id);
  }

  isLive(id: string): boolean {
    return this.links.some((link) => link.isLive(id));
  }

  /** Resolves true as soon as one relay has the subscription live, false after timeoutMs. */
  whenLive(id: string, timeoutMs: number): Promise<boolean> {
    return this.waitUntil(() => this.isLive(id), timeoutMs);
  }

  /** Resolves true as soon as one relay is connected, false after timeoutMs. */
  whenConnected(timeoutMs: number): Promise<boolean> {
    return this.waitUntil(() => this.links.some((link) => link.isOpen), timeoutMs);
  }

  /**
   * Resolves when one relay accepted the event. Rejects with a RelayRefusal when every relay refused it or none
   * was connected (nobody can have received it), and with a plain Error when some relay's answer is unknown.
   */
  async publish(event: { id: string }, timeoutMs: number): Promise<void> {
    const open = this.links.filter((link) => link.isOpen);
    if (open.length === 0) throw new RelayRefusal('no relay of the connection is connected');
    try {
      await Promise.any(open.map((link) => link.publish(event, timeoutMs)));
    } catch (error) {
      const errors: unknown[] = error instanceof AggregateError ? error.errors : [error];
      const reasons = errors.map((item) => (item instanceof Error ? item.message : String(item))).join('; ');
      throw errors.every((item) => item instanceof RelayRefusal)
        ? new RelayRefusal(reasons)
        : new Error(reasons);
    }
  }

  /** Publishes on one relay only (a request re-sent to a relay that just came back). */
  publishOn(url: string, event: { id: string }, timeoutMs: number): Promise<void> {
    const link = this.links.find((candidate) => candidate.url === url);
    return link
      ? link.publish(event, timeoutMs)
      : Promise.reject(new RelayRefusal(`${url}: not a relay of this group`));
  }

  /** Resolves true once every connected relay (at least one) has the subscription live, false after timeoutMs. */
  whenLiveEverywhere(id: string, timeoutMs: number): Promise<boolean> {
    return this.waitUntil(() => {
      const open = this.links.filter((link) => link.isOpen);
      return open.length > 0 && open.every((link) => link.isLive(id));
    }, timeoutMs);
  }

  status(): { url: string; open: boolean }[] {
    return this.links.map((link) => ({ url: link.url, open: link.isOpen }));
  }

  close(): void {
    for (const link of this.links) link.close();
  }

  private waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const stops: (() => void)[] = [];
      const finish = (value: boolean) => {
        clearTimeout(timer);
        for (const stop of stops) stop();
        resolve(value);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      for (const link of this.links) stops.push(link.onChange(() => check() && finish(true)));
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
