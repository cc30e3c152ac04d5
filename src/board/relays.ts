// The task board's relays: one RelayLink per URL, subscriptions asked on all of them, each event delivered once
// per subscription whatever relay sent it, and only after its id and signature verified. A copy that fails
// verification is dropped and its id is not remembered, so a forged copy served first cannot hide the genuine
// event another relay sends. Publishing sends to every relay and answers with the first one that takes it.
import type { Filter } from 'nostr-tools/filter';
import type { NostrEvent } from '../protocol/schemas.ts';
import { verifyEvent } from '../protocol/verify-event.ts';
import type { OpenSocket } from '../web/browser.ts';
import {
  LINK_LIMITS,
  type LinkLimits,
  type LinkStatus,
  type PublishAnswer,
  RelayLink,
} from './relay-link.ts';

/** Verified ids remembered (then forgotten oldest first): a signature is checked once per event, not per copy. */
const MAX_VERIFIED_IDS = 50_000;
/** Ids remembered per subscription to deliver each event once. */
const MAX_SEEN_PER_SUBSCRIPTION = 20_000;

export interface SubscriptionHandlers {
  event(event: NostrEvent): void;
  /** Each relay's end of stored events (also a CLOSED): `open` of `total` relays have answered so far. */
  eose?(answered: number, total: number): void;
}

interface Subscription {
  handlers: SubscriptionHandlers;
  seen: Set<string>;
  answered: Set<string>;
}

export interface PublishOutcome {
  /** At least one relay took the event. */
  ok: boolean;
  answers: PublishAnswer[];
}

export class BoardRelays {
  private readonly links: RelayLink[];
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly verified = new Set<string>();
  /** Copies that failed verification, per relay URL. */
  readonly forged = new Map<string, number>();
  private nextRequest = 1;

  constructor(
    readonly urls: readonly string[],
    openSocket: OpenSocket,
    private readonly onChange: (statuses: LinkStatus[]) => void = () => {},
    limits: LinkLimits = LINK_LIMITS,
  ) {
    this.links = urls.map(
      (url) =>
        new RelayLink(
          url,
          openSocket,
          {
            event: (id, event) => this.take(url, id, event),
            eose: (id) => this.answered(url, id),
            change: () => this.onChange(this.statuses()),
          },
          limits,
        ),
    );
    for (const link of this.links) link.start();
  }

  statuses(): LinkStatus[] {
    return this.links.map((link) => link.status);
  }

  /** How many relays are connected right now. */
  openCount(): number {
    return this.links.filter((link) => link.isOpen).length;
  }

  /** A live subscription on every relay, asked again after each reconnect; replaces one with the same id. */
  subscribe(id: string, filters: Filter[], handlers: SubscriptionHandlers): void {
    this.unsubscribe(id);
    this.subscriptions.set(id, { handlers, seen: new Set(), answered: new Set() });
    for (const link of this.links) link.subscribe(id, filters);
  }

  unsubscribe(id: string): void {
    if (!this.subscriptions.delete(id)) return;
    for (const link of this.links) link.unsubscribe(id);
  }

  /** The stored events matching `filters`, until every relay answered EOSE or `timeoutMs` passed. */
  request(filters: Filter[], timeoutMs: number): Promise<NostrEvent[]> {
    const id = `request-${this.nextRequest++}`;
    const events: NostrEvent[] = [];
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.unsubscribe(id);
        resolve(events);
      };
      const timer = setTimeout(finish, timeoutMs);
      this.subscribe(id, filters, {
        event: (event) => events.push(event),
        eose: (answered, total) => {
          if (answered >= total) finish();
        },
      });
    });
  }

  /** Sends to every relay; resolves at the first that takes it, or once all have answered (or timed out). */
  publish(event: NostrEvent): Promise<PublishOutcome> {
    return new Promise((resolve) => {
      const answers: PublishAnswer[] = [];
      let done = false;
      for (const link of this.links) {
        void link.publish(event).then((answer) => {
          answers.push(answer);
          if (done) return;
          if (answer.ok || answers.length === this.links.length) {
            done = true;
            resolve({ ok: answer.ok, answers: [...answers] });
          }
        });
      }
      if (this.links.length === 0) resolve({ ok: false, answers: [] });
    });
  }

  close(): void {
    for (const id of [...this.subscriptions.keys()]) this.unsubscribe(id);
    for (const link of this.links) link.close();
  }

  private take(url: string, subscriptionId: string, event: NostrEvent): void {
    const subscription = this.subscriptions.get(subscriptionId);
    if (subscription === undefined || subscription.seen.has(event.id)) return;
    // The id binds every field but the signature: remember the pair, so a copy with a broken signature is never
    // taken for the verified one.
    const key = `${event.id}:${event.sig}`;
    if (!this.verified.has(key)) {
      if (!verifyEvent(event).ok) {
        this.forged.set(url, (this.forged.get(url) ?? 0) + 1);
        return;
      }
      this.verified.add(key);
      if (this.verified.size > MAX_VERIFIED_IDS) {
        this.verified.delete(this.verified.values().next().value as string);
      }
    }
    subscription.seen.add(event.id);
    if (subscription.seen.size > MAX_SEEN_PER_SUBSCRIPTION) {
      subscription.seen.delete(subscription.seen.values().next().value as string);
    }
    subscription.handlers.event(event);
  }

  private answered(url: string, subscriptionId: string): void {
    const subscription = this.subscriptions.get(subscriptionId);
    if (subscription === undefined) return;
    subscription.answered.add(url);
    const reachable = this.links.filter((link) => link.isOpen || subscription.answered.has(link.url)).length;
    subscription.handlers.eose?.(subscription.answered.size, Math.max(reachable, 1));
  }
}
