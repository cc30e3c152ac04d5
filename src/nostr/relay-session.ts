// What belongs to one open connection and dies with it: its subscriptions (and the timers that ask again for the
// ones the relay CLOSEd), the REQs waiting for their EOSE and the publishes waiting for their OK. A new connection
// starts a new session, so nothing of an old one leaks into it.

import type { CatchUpPass, CutReason, PageItem, RequestResult } from './catch-up.ts';
import type { BufferedEvent } from './event-delivery.ts';
import type { InboundEvent } from './frame-reader.ts';
import type { Filter, PublishResult, SignedEvent } from './pool-types.ts';
import type { RelayConnection } from './relay-connection.ts';

export type { CutReason, PageItem, RequestResult };

export type RequestKind = 'live' | 'page' | 'probe' | 'fetch';

export type RequestFailure =
  /** The relay ended the REQ with CLOSED. */
  | 'closed'
  /** No EOSE in time: the relay counts as silent. */
  | 'timeout'
  /** The connection ended first. */
  | 'disconnected';

export class RelayRequestError extends Error {
  constructor(
    readonly failure: RequestFailure,
    readonly reason: string,
  ) {
    super(`${failure}: ${reason}`);
    this.name = 'RelayRequestError';
  }
}

export interface PendingRequest {
  kind: RequestKind;
  /** Events received for it so far (catch-up pages need them to find the next `until`). */
  items: PageItem[];
  received: number;
  /** A page's `limit`: more events than this break the rules and cut the page. */
  limit: number | undefined;
  /** A one-shot fetch's events as received (their raw JSON text), at most `limit` of them. */
  events?: InboundEvent[];
  resolve(result: RequestResult): void;
  reject(error: RelayRequestError): void;
  timer: NodeJS.Timeout;
}

export type RelayAnswer = Omit<PublishResult, 'relay'>;
type PublishWaiter = (answer: RelayAnswer) => void;

export class RelaySession {
  private serial = 0;
  readonly requests = new Map<string, PendingRequest>();
  readonly publishes = new Map<string, PublishWaiter[]>();
  /** The open live subscription's id, if any. */
  liveId: string | undefined;
  /** Bumped whenever a catch-up starts or must be abandoned; a catch-up that sees another value stops. */
  syncGeneration = 0;
  /** Caught up from the cursor with the live subscription open: the condition for moving the cursor. */
  caughtUp = false;
  /** While catching up, events are held back to be delivered oldest first. */
  buffering = false;
  buffer: BufferedEvent[] = [];
  bufferedBytes = 0;
  /** The live subscription's stored events have ended (its EOSE came): live events from now on are new. */
  liveStored = false;
  /** A new live event could not be taken (over budget): a catch-up from the top must run before the cursor moves. */
  gap = false;
  /** The catch-up under way or to continue (live-sync.ts). */
  pass: CatchUpPass | undefined;
  /** A catch-up pass is running or scheduled. */
  passActive = false;
  probing = false;
  probeTimer: NodeJS.Timeout | undefined;
  resyncTimer: NodeJS.Timeout | undefined;
  /** Plain subscriptions the relay CLOSEd, by id: the timer that asks again, and how often it refused in a row. */
  readonly subscriptionRetries = new Map<string, NodeJS.Timeout>();
  readonly subscriptionRefusals = new Map<string, number>();
  ended = false;
  /** Why the pool itself dropped the connection, for the status once it has closed. */
  dropReason: string | undefined;

  constructor(readonly connection: RelayConnection) {}

  /** A subscription id, short and unique on this connection. */
  nextId(prefix: string): string {
    this.serial += 1;
    return `${prefix}:${this.serial}`;
  }

  /** Sends a REQ; resolves with its events at EOSE, rejects at CLOSED or when `timeoutMs` passed without an answer
   * (then `onTimeout` runs too). */
  request(
    kind: RequestKind,
    id: string,
    filters: Filter[],
    timeoutMs: number,
    onTimeout: () => void,
    limit?: number,
  ): Promise<RequestResult> {
    return new Promise((resolve, reject) => {
      if (!this.connection.send(['REQ', id, ...filters])) {
        reject(new RelayRequestError('disconnected', 'not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this.requests.delete(id);
        reject(new RelayRequestError('timeout', `no answer to a ${kind} REQ within ${timeoutMs} ms`));
        onTimeout();
      }, timeoutMs);
      const pending: PendingRequest = { kind, items: [], received: 0, limit, resolve, reject, timer };
      if (kind === 'fetch') pending.events = [];
      this.requests.set(id, pending);
    });
  }

  /** EOSE: the REQ is answered. The live subscription stays open after its stored events; pages and probes end. */
  answered(id: string): void {
    const request = this.requests.get(id);
    if (!request) return;
    this.requests.delete(id);
    clearTimeout(request.timer);
    if (request.kind !== 'live') this.connection.send(['CLOSE', id]);
    request.resolve({ items: request.items, received: request.received, cut: false });
  }

  /** Ends a page before its EOSE: CLOSE, and it resolves with what it has. Later frames of it are unknown. */
  cut(id: string, reason: CutReason): void {
    const request = this.requests.get(id);
    if (!request || request.kind === 'live') return;
    this.requests.delete(id);
    clearTimeout(request.timer);
    this.connection.send(['CLOSE', id]);
    request.resolve({ items: request.items, received: request.received, cut: reason });
  }

  /** CLOSED: the relay refused or ended the REQ. */
  refused(id: string, reason: string): void {
    const request = this.requests.get(id);
    if (!request) return;
    this.requests.delete(id);
    clearTimeout(request.timer);
    request.reject(new RelayRequestError('closed', reason));
  }

  /** Sends EVENT and resolves with the relay's OK, or with a local failure. Never rejects. */
  publish(event: SignedEvent, timeoutMs: number): Promise<RelayAnswer> {
    return new Promise((resolve) => {
      const answer: PublishWaiter = (result) => {
        clearTimeout(timer);
        const rest = (this.publishes.get(event.id) ?? []).filter((waiter) => waiter !== answer);
        if (rest.length > 0) this.publishes.set(event.id, rest);
        else this.publishes.delete(event.id);
        resolve(result);
      };
      const timer = setTimeout(() => answer({ ok: false, message: 'error: timeout' }), timeoutMs);
      this.publishes.set(event.id, [...(this.publishes.get(event.id) ?? []), answer]);
      if (!this.connection.send(['EVENT', event])) answer({ ok: false, message: 'error: not connected' });
    });
  }

  /** OK: every publish of that event id waiting on this connection gets the relay's answer. */
  acknowledged(eventId: string, answer: RelayAnswer): void {
    for (const waiter of this.publishes.get(eventId) ?? []) waiter(answer);
  }

  /** Fails everything still waiting: REQs reject, publishes answer `message`. */
  end(message: string): void {
    this.ended = true;
    this.syncGeneration += 1;
    this.caughtUp = false;
    clearInterval(this.probeTimer);
    clearTimeout(this.resyncTimer);
    for (const timer of this.subscriptionRetries.values()) clearTimeout(timer);
    this.subscriptionRetries.clear();
    for (const request of this.requests.values()) {
      clearTimeout(request.timer);
      request.reject(new RelayRequestError('disconnected', message));
    }
    this.requests.clear();
    for (const waiters of [...this.publishes.values()]) {
      for (const answer of [...waiters]) answer({ ok: false, message });
    }
    this.publishes.clear();
  }
}
