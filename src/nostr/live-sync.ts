// The inbound feed of one read relay: catch-up from the stored cursor, one live subscription, and the cursor moved
// after each probe. The supervisor (relay-supervisor.ts) owns the connection and hands this the frames of the
// feed's REQs; a new connection starts a new sync.
//
// Cursor semantics. The cursor C of a relay means: every event matching the filters with `created_at` <= C that the
// relay had stored when the cursor was saved has been handed to onEvent and onEvent has settled. On every
// (re)connect and resubscribe the pool
//   1. opens the live subscription with `since` = S = C - overlap (everything from S on: stored, then new);
//   2. pages back through every stored event from S on, per filter (catch-up.ts);
//   3. delivers what 1 and 2 returned oldest first (held back until 2 ends), then passes live events straight on;
//   4. sends a probe REQ; its EOSE proves that the relay has sent us everything it had before the probe, so once
//      the onEvent calls made so far settle, the cursor moves to the time the probe was sent.
// Step 4 repeats every probe interval while the live subscription stands. A catch-up that fails, a subscription the
// relay CLOSEs, or a connection that drops moves nothing: the next catch-up starts again from the last saved
// cursor. The overlap covers events that arrive late with an older `created_at` (clients with slow clocks, relays
// that answer out of order); an event backdated by more than the overlap and stored while the pool was not
// subscribed is missed.
import { catchUpFilter } from './catch-up.ts';
import { EventDelivery } from './event-delivery.ts';
import type { Filter, PoolLogger, RelayCursors, RelayState } from './pool-types.ts';
import { RelayRequestError, type RelaySession, type RequestKind } from './relay-session.ts';

export interface LiveSyncSettings {
  filters: readonly Filter[];
  cursors: RelayCursors;
  onEvent(event: unknown, relay: string): void | Promise<void>;
  logger: PoolLogger;
  now: () => number;
  overlapSeconds: number;
  pageLimit: number;
  initialSince: number;
  maxBufferedEvents: number;
}

/** What the sync needs from its relay's supervisor. */
export interface LiveSyncHost {
  readonly url: string;
  /** The session is still the supervisor's connection and the pool runs. */
  isCurrent(session: RelaySession): boolean;
  /** Sends a REQ and resolves with its events at EOSE; a relay that does not answer in time is dropped. */
  request(session: RelaySession, kind: RequestKind, id: string, filters: Filter[]): Promise<unknown[]>;
  /** A probe: checks that the relay still answers, then calls checkpoint(). */
  probe(session: RelaySession): Promise<void>;
  /** Runs a background task that stop() waits for. */
  track(task: Promise<void>): void;
  /** A failed step: counts an attempt, reports `waiting` with the reason, and returns the delay before the retry. */
  failed(reason: string): number;
  /** Caught up: the relay is healthy again. */
  healthy(): void;
  setState(state: RelayState): void;
  /** The cursor changed (for the status). */
  cursorChanged(): void;
}

/** What a probe saw when it was sent; the cursor moves only if the sync it ran under still stands. */
export interface ProbeMark {
  sentAt: number;
  generation: number;
  caughtUp: boolean;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class LiveSync {
  /** The last cursor read from or written to the store. */
  cursor: number | null = null;
  /** Cursor writes run one after another, so that a slower earlier write cannot land after a later one. */
  private checkpoints: Promise<void> = Promise.resolve();
  private readonly delivery: EventDelivery;

  constructor(
    private readonly host: LiveSyncHost,
    private readonly settings: LiveSyncSettings,
  ) {
    this.delivery = new EventDelivery(host.url, settings.onEvent, settings.logger);
  }

  /** An EVENT frame: true when it belongs to the live subscription or a catch-up page, and was taken. */
  onEvent(session: RelaySession, subscriptionId: string, event: unknown): boolean {
    const request = session.requests.get(subscriptionId);
    if (request?.kind === 'probe') return false;
    if (subscriptionId !== session.liveId && request === undefined) return false;
    request?.events.push(event);
    if (session.buffering) session.buffer.push(event);
    else this.delivery.deliver(event);
    return true;
  }

  /** A CLOSED frame (after the session has failed any REQ of that id). */
  onClosed(session: RelaySession, subscriptionId: string, reason: string): void {
    if (subscriptionId !== session.liveId) return;
    // The live subscription is gone: what follows is not covered until a new catch-up has run. The CLOSE is for a
    // relay (or a proxy) that said CLOSED but kept the subscription: it would otherwise be open twice.
    session.connection.send(['CLOSE', subscriptionId]);
    session.liveId = undefined;
    session.caughtUp = false;
    session.syncGeneration += 1;
    this.flush(session);
    this.settings.logger.warn({ relay: this.host.url, reason }, 'relay closed the subscription');
    this.resyncLater(session, `subscription closed by the relay: ${reason}`);
  }

  /** Catch-up from the cursor, then live (see the top of this file). */
  async sync(session: RelaySession): Promise<void> {
    const generation = ++session.syncGeneration;
    const current = () => this.host.isCurrent(session) && session.syncGeneration === generation;
    const { filters, overlapSeconds, pageLimit, logger } = this.settings;
    const relay = this.host.url;
    session.caughtUp = false;
    session.buffering = true;
    session.buffer = [];
    this.host.setState('syncing');
    try {
      const cursor = await this.settings.cursors.get(relay);
      if (!current()) return;
      this.cursor = cursor;
      const since = cursor === null ? this.settings.initialSince : Math.max(0, cursor - overlapSeconds);
      // Live first: from its REQ on the relay sends every new event, so none stored while the pages are read
      // can fall between the pages and the subscription.
      if (session.liveId !== undefined) session.connection.send(['CLOSE', session.liveId]);
      session.liveId = session.nextId('live');
      await this.host.request(
        session,
        'live',
        session.liveId,
        filters.map((filter) => ({ ...filter, since })),
      );
      let pages = 0;
      for (const filter of filters) {
        if (!current()) return;
        const result = await catchUpFilter({
          filter,
          since,
          pageLimit,
          request: async (page) => {
            const events = await this.host.request(session, 'page', session.nextId('catch-up'), [page]);
            if (current() && session.buffer.length >= this.settings.maxBufferedEvents) {
              logger.warn({ relay, held: session.buffer.length }, 'long catch-up: delivering it in chunks');
              this.flush(session);
            }
            return events;
          },
          onSkippedSecond: (second) =>
            logger.warn(
              { relay, second },
              `more than ${pageLimit} events in one second; some may be skipped`,
            ),
        });
        pages += result.pages;
      }
      if (!current()) return;
      session.buffering = false;
      this.flush(session);
      session.caughtUp = true;
      logger.info({ relay, since, pages }, 'relay caught up');
      this.host.healthy();
      await this.host.probe(session);
    } catch (error) {
      if (!current()) return;
      session.buffering = false;
      this.flush(session);
      // A timeout drops the connection and the reconnect starts over; anything else is retried on this one.
      if (error instanceof RelayRequestError && error.failure === 'timeout') return;
      const reason =
        error instanceof RelayRequestError
          ? `subscription closed by the relay: ${error.reason}`
          : `catch-up failed: ${describe(error)}`;
      logger.warn({ relay, reason }, 'relay catch-up failed');
      this.resyncLater(session, reason);
    }
  }

  /** Taken when a probe is sent. */
  mark(session: RelaySession): ProbeMark {
    return { sentAt: this.settings.now(), generation: session.syncGeneration, caughtUp: session.caughtUp };
  }

  /** After a probe's answer: when caught up all along, the cursor moves to the time the probe was sent. */
  async checkpoint(session: RelaySession, mark: ProbeMark): Promise<void> {
    if (!mark.caughtUp || !session.caughtUp || session.syncGeneration !== mark.generation) return;
    // Every event the relay sent before the probe's answer has been handed to onEvent by now.
    const handedOver = this.delivery.unsettled();
    this.checkpoints = this.checkpoints.then(() => this.save(mark.sentAt, handedOver));
    await this.checkpoints;
  }

  /** Waits until every onEvent call, including any made meanwhile, has settled. */
  drain(): Promise<void> {
    return this.delivery.drain();
  }

  private resyncLater(session: RelaySession, reason: string): void {
    const delayMs = this.host.failed(reason);
    clearTimeout(session.resyncTimer);
    session.resyncTimer = setTimeout(() => {
      if (this.host.isCurrent(session)) this.host.track(this.sync(session));
    }, delayMs);
  }

  /** Delivers the events held back during a catch-up, oldest first. */
  private flush(session: RelaySession): void {
    const held = session.buffer;
    session.buffer = [];
    this.delivery.deliverInOrder(held);
  }

  private async save(coveredUntil: number, handedOver: Promise<void>[]): Promise<void> {
    await Promise.allSettled(handedOver);
    if (this.cursor !== null && coveredUntil <= this.cursor) return;
    try {
      await this.settings.cursors.set(this.host.url, coveredUntil);
      this.cursor = coveredUntil;
      this.host.cursorChanged();
    } catch (error) {
      this.settings.logger.error({ relay: this.host.url, err: error }, 'could not save the relay cursor');
    }
  }
}
