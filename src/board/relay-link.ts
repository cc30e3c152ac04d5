// One live relay connection of the task board: plain NIP-01 (REQ, EVENT, EOSE, CLOSED, OK, NOTICE) over one
// WebSocket that comes back by itself. When the relay goes away (a restart, a network blip) the link waits, with
// a doubling backoff, and connects again; it then asks for every open subscription again from shortly before the
// newest event it had seen (`since`), and sends again every event the relay had not acknowledged.
//
// A relay is a stranger: every frame is size-checked before it is parsed, parsed strictly (no duplicate keys, no
// __proto__), shape-checked, and kept only when it matches the filters it was asked for; each subscription has an
// event budget. Signatures are checked by the caller (relays.ts), once per event id across relays.
import type { Event } from 'nostr-tools/core';
import { type Filter, matchFilters } from 'nostr-tools/filter';
import { utf8ByteLength } from '../protocol/bytes.ts';
import { type NostrEvent, parseEvent } from '../protocol/schemas.ts';
import { parseStrictJson } from '../protocol/strict-json.ts';
import type { OpenSocket, SocketLike } from '../web/browser.ts';
import { detachAndClose } from '../web/relay-fetch.ts';

export interface LinkLimits {
  /** One frame larger than this is dropped unread. */
  maxFrameBytes: number;
  /** Events one subscription takes from one relay; past it the subscription is closed there. */
  maxEventsPerSubscription: number;
  connectTimeoutMs: number;
  /** How long a published event may wait for the relay's OK (including while the link reconnects). */
  publishTimeoutMs: number;
  /** First wait after a lost connection, doubled each failed attempt up to maxMs (with ±20 % jitter). */
  backoff: { initialMs: number; maxMs: number };
  /** A resumed subscription asks from this many seconds before the newest event it had seen. */
  resumeSlackSeconds: number;
}

export const LINK_LIMITS: LinkLimits = {
  maxFrameBytes: 256 * 1024,
  maxEventsPerSubscription: 5_000,
  connectTimeoutMs: 6_000,
  publishTimeoutMs: 20_000,
  backoff: { initialMs: 250, maxMs: 8_000 },
  resumeSlackSeconds: 120,
};

export type LinkState = 'connecting' | 'open' | 'waiting' | 'closed';

export interface LinkStatus {
  url: string;
  state: LinkState;
  /** Events taken (shape and filter checked). */
  events: number;
  /** Frames dropped: too large, unreadable, malformed, unasked for, over a budget. */
  dropped: number;
  /** Times the connection was lost and made again. */
  reconnects: number;
  /** What the relay said or did worth telling, newest last, bounded. */
  notes: string[];
}

export interface PublishAnswer {
  url: string;
  ok: boolean;
  message: string;
}

export interface LinkHooks {
  event(subscription: string, event: NostrEvent): void;
  eose(subscription: string): void;
  change(status: LinkStatus): void;
}

interface Subscription {
  filters: Filter[];
  /** Newest created_at taken (bounded by the clock): where a resumed subscription starts. */
  newest: number;
  taken: number;
  closed: boolean;
}

interface Unacked {
  event: NostrEvent;
  sent: boolean;
  resolve(answer: PublishAnswer): void;
  timer: ReturnType<typeof setTimeout>;
}

const MAX_NOTES = 6;
const MAX_NOTE_CHARS = 200;
/** A relay's clock may run ahead a little; an event from further in the future does not move `since`. */
const FUTURE_SLACK_SECONDS = 600;

export class RelayLink {
  readonly status: LinkStatus;
  private socket: SocketLike | null = null;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly unacked = new Map<string, Unacked>();
  private attempts = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private everOpened = false;

  constructor(
    url: string,
    private readonly openSocket: OpenSocket,
    private readonly hooks: LinkHooks,
    private readonly limits: LinkLimits = LINK_LIMITS,
  ) {
    this.status = { url, state: 'connecting', events: 0, dropped: 0, reconnects: 0, notes: [] };
  }

  get url(): string {
    return this.status.url;
  }

  get isOpen(): boolean {
    return this.status.state === 'open';
  }

  start(): void {
    this.connect();
  }

  subscribe(id: string, filters: Filter[]): void {
    this.subscriptions.set(id, { filters, newest: 0, taken: 0, closed: false });
    if (this.isOpen) this.send(['REQ', id, ...filters]);
  }

  unsubscribe(id: string): void {
    if (!this.subscriptions.delete(id)) return;
    if (this.isOpen) this.send(['CLOSE', id]);
  }

  /** Resolves with the relay's OK, or a refusal when none came within publishTimeoutMs. Never rejects. */
  publish(event: NostrEvent): Promise<PublishAnswer> {
    if (this.stopped)
      return Promise.resolve({ url: this.url, ok: false, message: 'the page closed this relay' });
    const known = this.unacked.get(event.id);
    if (known) return new Promise((resolve) => this.chain(known, resolve));
    return new Promise((resolve) => {
      const entry: Unacked = {
        event,
        sent: false,
        resolve,
        timer: setTimeout(() => {
          this.unacked.delete(event.id);
          resolve({
            url: this.url,
            ok: false,
            message: `no answer within ${this.limits.publishTimeoutMs / 1000} s (${this.status.state === 'open' ? 'the relay is silent' : 'the relay is unreachable'})`,
          });
        }, this.limits.publishTimeoutMs),
      };
      this.unacked.set(event.id, entry);
      if (this.isOpen) {
        entry.sent = true;
        this.send(['EVENT', event]);
      }
    });
  }

  close(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const entry of this.unacked.values()) {
      clearTimeout(entry.timer);
      entry.resolve({ url: this.url, ok: false, message: 'the page closed this relay' });
    }
    this.unacked.clear();
    this.dropSocket();
    this.setState('closed');
  }

  private chain(entry: Unacked, resolve: (answer: PublishAnswer) => void): void {
    const first = entry.resolve;
    entry.resolve = (answer) => {
      first(answer);
      resolve(answer);
    };
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState('connecting');
    let socket: SocketLike;
    try {
      socket = this.openSocket(this.url);
    } catch (error) {
      this.note(`cannot connect: ${String(error)}`);
      this.retryLater();
      return;
    }
    this.socket = socket;
    this.connectTimer = setTimeout(() => {
      this.note(`no connection within ${this.limits.connectTimeoutMs / 1000} s`);
      this.lost();
    }, this.limits.connectTimeoutMs);
    socket.onopen = () => this.opened();
    socket.onmessage = (message) => this.receive(message.data);
    socket.onerror = () => {
      // onclose follows; it decides.
    };
    socket.onclose = () => {
      if (this.status.state === 'open') this.note('the relay closed the connection');
      this.lost();
    };
  }

  private opened(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    if (this.everOpened) this.status.reconnects += 1;
    this.everOpened = true;
    this.attempts = 0;
    this.setState('open');
    const now = Math.floor(Date.now() / 1000);
    for (const [id, subscription] of this.subscriptions) {
      if (subscription.closed) continue;
      this.send(['REQ', id, ...resumed(subscription, now, this.limits.resumeSlackSeconds)]);
    }
    for (const entry of this.unacked.values()) {
      entry.sent = true;
      this.send(['EVENT', entry.event]);
    }
  }

  private lost(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.dropSocket();
    if (this.stopped) return;
    this.retryLater();
  }

  private retryLater(): void {
    if (this.stopped || this.retryTimer) return;
    const { initialMs, maxMs } = this.limits.backoff;
    const base = Math.min(maxMs, initialMs * 2 ** this.attempts);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempts += 1;
    this.setState('waiting');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  private dropSocket(): void {
    const socket = this.socket;
    this.socket = null;
    detachAndClose(socket);
  }

  private receive(data: unknown): void {
    if (!this.isOpen) return;
    if (typeof data !== 'string') {
      this.drop();
      return;
    }
    // String length is a lower bound on the UTF-8 size: a huge frame is refused before it is measured.
    if (data.length > this.limits.maxFrameBytes || utf8ByteLength(data) > this.limits.maxFrameBytes) {
      this.drop();
      return;
    }
    const parsed = parseStrictJson(data);
    if (!parsed.ok || !Array.isArray(parsed.value)) {
      this.drop();
      return;
    }
    const [type, first, second, third] = parsed.value as unknown[];
    switch (type) {
      case 'EVENT':
        this.take(first, second);
        return;
      case 'EOSE':
        if (typeof first === 'string' && this.subscriptions.has(first)) this.hooks.eose(first);
        return;
      case 'OK':
        this.acknowledged(first, second, third);
        return;
      case 'CLOSED':
        if (typeof first === 'string' && this.subscriptions.has(first)) {
          this.note(`CLOSED ${first}: ${String(second)}`);
          this.hooks.eose(first);
        }
        return;
      case 'NOTICE':
        this.note(`NOTICE: ${String(first)}`);
        return;
      default:
        return;
    }
  }

  private take(subscriptionId: unknown, value: unknown): void {
    const subscription =
      typeof subscriptionId === 'string' ? this.subscriptions.get(subscriptionId) : undefined;
    if (subscription === undefined || subscription.closed) {
      this.drop();
      return;
    }
    const shaped = parseEvent(value);
    if (!shaped.ok || !matchFilters(subscription.filters, shaped.event as Event)) {
      this.drop();
      return;
    }
    subscription.taken += 1;
    this.status.events += 1;
    const now = Math.floor(Date.now() / 1000);
    if (shaped.event.created_at <= now + FUTURE_SLACK_SECONDS) {
      subscription.newest = Math.max(subscription.newest, shaped.event.created_at);
    }
    if (subscription.taken >= this.limits.maxEventsPerSubscription) {
      subscription.closed = true;
      this.note(`sent ${subscription.taken} events for one request: no more are read from it`);
      this.send(['CLOSE', subscriptionId as string]);
    }
    this.hooks.event(subscriptionId as string, shaped.event);
    this.hooks.change(this.status);
  }

  private acknowledged(id: unknown, accepted: unknown, message: unknown): void {
    if (typeof id !== 'string') return;
    const entry = this.unacked.get(id);
    if (entry === undefined) return;
    this.unacked.delete(id);
    clearTimeout(entry.timer);
    const text = typeof message === 'string' ? message.slice(0, MAX_NOTE_CHARS) : '';
    entry.resolve({ url: this.url, ok: accepted === true, message: text });
  }

  private drop(): void {
    this.status.dropped += 1;
  }

  private note(text: string): void {
    const clipped = text.length > MAX_NOTE_CHARS ? `${text.slice(0, MAX_NOTE_CHARS)}…` : text;
    this.status.notes.push(clipped);
    if (this.status.notes.length > MAX_NOTES)
      this.status.notes.splice(0, this.status.notes.length - MAX_NOTES);
    this.hooks.change(this.status);
  }

  private setState(state: LinkState): void {
    if (this.status.state === state) return;
    this.status.state = state;
    this.hooks.change(this.status);
  }

  private send(message: unknown[]): void {
    try {
      this.socket?.send(JSON.stringify(message));
    } catch {
      this.note('could not send to the relay');
    }
  }
}

/**
 * The filters of a subscription asked again after a reconnect: from shortly before the newest event seen (a
 * filter that names ids is asked whole). Nothing seen yet: the filters as they were.
 */
export function resumed(
  subscription: { filters: Filter[]; newest: number },
  now: number,
  slackSeconds: number,
): Filter[] {
  if (subscription.newest === 0) return subscription.filters;
  const since = Math.min(subscription.newest, now) - slackSeconds;
  return subscription.filters.map((filter) =>
    filter.ids !== undefined ? filter : { ...filter, since: Math.max(filter.since ?? 0, since) },
  );
}
