// Plain subscriptions of a pool (RelayPool.subscribe), beside the cursor-backed inbound feed of live-sync.ts: one
// REQ under the caller's id on every relay of the pool, sent again on each new connection and after the relay
// CLOSEs it, with the filters asked for anew each time (so `since` can move on). Nothing is stored: no cursor, no
// catch-up, no ordering. Events are handed on raw and unverified, from every relay, duplicates included: the
// caller verifies them (a relay is not trusted to), and drops duplicates only after that, so that a forged copy
// cannot censor the genuine event. Made for ephemeral traffic such as NIP-47 requests and answers.
import type { Filter } from './pool-types.ts';

export interface SubscriptionOptions {
  /** The REQ id on every relay: unique in the pool, at most 64 characters, without ':' (the pool's own have one). */
  id: string;
  /** Called for every (re)send of the REQ: on each new connection and after a CLOSED. */
  filters(): Filter[];
  /** Every event a relay sends under this subscription. What it throws is logged. */
  onEvent(event: unknown, relay: string): void;
}

export interface SubscriptionHooks {
  /** The subscription became live, or stopped being live, at a relay. */
  changed(): void;
  /** close() was called: every relay must be sent CLOSE. */
  closed(subscription: PoolSubscription): void;
}

export function checkSubscriptionId(id: string): void {
  if (id.length === 0 || id.length > 64 || id.includes(':'))
    throw new Error(`relay pool: a subscription id must be 1 to 64 characters without ':' (got "${id}")`);
}

export class PoolSubscription {
  /** Relays whose current connection has sent this subscription's EOSE. */
  private readonly liveAt = new Set<string>();
  private ended = false;

  constructor(
    private readonly options: SubscriptionOptions,
    private readonly hooks: SubscriptionHooks,
  ) {}

  get id(): string {
    return this.options.id;
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Live at this relay, or (without a relay) at any relay: new events matching the filters will reach onEvent. */
  isLive(relay?: string): boolean {
    return relay === undefined ? this.liveAt.size > 0 : this.liveAt.has(relay);
  }

  /** Sends CLOSE to every relay; no event reaches onEvent afterwards. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.hooks.closed(this);
    if (this.liveAt.size > 0) {
      this.liveAt.clear();
      this.hooks.changed();
    }
  }

  // ---- for the relay supervisors ----

  /** The filters of the next REQ. */
  filters(): Filter[] {
    return this.options.filters();
  }

  deliver(event: unknown, relay: string): void {
    if (!this.ended) this.options.onEvent(event, relay);
  }

  setLive(relay: string, live: boolean): void {
    if (this.ended || live === this.liveAt.has(relay)) return;
    if (live) this.liveAt.add(relay);
    else this.liveAt.delete(relay);
    this.hooks.changed();
  }
}
