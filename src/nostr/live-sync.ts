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
//
// Budgets (issue #9: no relay can starve, flood or silence the agent). Catch-up runs in passes (catch-up.ts: the
// progress rule, pages and events per pass). Events held back are bounded per relay (`maxBufferedEvents`,
// `maxBufferedBytes`, counting what was handed to onEvent and has not settled): an event that does not fit is not
// taken, and the cursor cannot move past it (a page is cut short and asked again after the buffer was delivered;
// a new live event that does not fit leaves a gap that a catch-up from the top closes before the cursor moves).
// A pass that ends on a budget continues after its events were delivered. A relay that breaks the paging rules
// (ignores until, since or limit) is reported once per episode (one warn line, `misbehaviour` in relayHealth()),
// its cursor does not move, and its next catch-up waits, exponentially longer each time (`catchUpBackoff`); the
// live subscription goes on meanwhile. What a catch-up had buffered when its connection ended is still delivered.
import { backoffDelay } from './backoff.ts';
import { CatchUpPass } from './catch-up.ts';
import { type BufferedEvent, EventDelivery } from './event-delivery.ts';
import type { InboundEvent } from './frame-reader.ts';
import type { LogLimiter } from './log-limiter.ts';
import type { Backoff, Filter, PoolLogger, RelayCursors, RelayHealth, RelayState } from './pool-types.ts';
import {
  RelayRequestError,
  type RelaySession,
  type RequestKind,
  type RequestResult,
} from './relay-session.ts';

export interface LiveSyncSettings {
  filters: readonly Filter[];
  cursors: RelayCursors;
  onEvent(event: unknown, relay: string): void | Promise<void>;
  logger: PoolLogger;
  limiter: LogLimiter;
  now: () => number;
  overlapSeconds: number;
  pageLimit: number;
  initialSince: number;
  maxPagesPerPass: number;
  maxEventsPerPass: number;
  maxBufferedEvents: number;
  maxBufferedBytes: number;
  catchUpBackoff: Backoff;
  random: () => number;
}

/** What the sync needs from its relay's supervisor. */
export interface LiveSyncHost {
  readonly url: string;
  /** The relay's counters (relayHealth()). */
  readonly health: RelayHealth;
  /** The session is still the supervisor's connection and the pool runs. */
  isCurrent(session: RelaySession): boolean;
  /** Sends a REQ and resolves at EOSE (or when cut short); a relay that does not answer in time is dropped. */
  request(
    session: RelaySession,
    kind: RequestKind,
    id: string,
    filters: Filter[],
    limit?: number,
  ): Promise<RequestResult>;
  /** A probe: checks that the relay still answers, then calls checkpoint(). */
  probe(session: RelaySession): Promise<void>;
  /** Runs a background task that stop() waits for. */
  track(task: Promise<void>): void;
  /** A failed step: counts an attempt, reports `waiting` with the reason, and returns the delay before the retry. */
  failed(reason: string): number;
  /** Caught up: the relay is healthy again. */
  healthy(): void;
  /** Connected and live, but not caught up (a misbehaving relay): the reason goes to the status. */
  degraded(reason: string): void;
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
  /** Misbehaving passes in a row: the exponent of the catch-up backoff. Kept across reconnects. */
  private strikes = 0;
  /** Date.now() before which no catch-up pass starts (a misbehaving relay's backoff). */
  private notBefore = 0;

  constructor(
    private readonly host: LiveSyncHost,
    private readonly settings: LiveSyncSettings,
  ) {
    this.delivery = new EventDelivery(host.url, settings.onEvent, settings.limiter);
  }

  /** Held back plus handed over and not settled. */
  buffered(session: RelaySession | undefined): { events: number; bytes: number } {
    return {
      events: (session?.buffer.length ?? 0) + this.delivery.inFlightEvents,
      bytes: (session?.bufferedBytes ?? 0) + this.delivery.inFlightBytes,
    };
  }

  /** An EVENT frame: true when it belongs to the live subscription or a catch-up page, and was taken (or
   * counted over budget). */
  onEvent(session: RelaySession, subscriptionId: string, event: InboundEvent): boolean {
    const request = session.requests.get(subscriptionId);
    if (request?.kind === 'probe') return false;
    if (subscriptionId !== session.liveId && request === undefined) return false;
    const health = this.host.health;
    if (request) {
      request.received += 1;
      if (request.limit !== undefined && request.received > request.limit) {
        health.eventsOverBudget += 1;
        session.cut(subscriptionId, 'over-limit');
        return true;
      }
    }
    const { events, bytes } = this.buffered(session);
    if (
      events + 1 > this.settings.maxBufferedEvents ||
      bytes + event.bytes > this.settings.maxBufferedBytes
    ) {
      health.eventsOverBudget += 1;
      if (request?.kind === 'page') session.cut(subscriptionId, 'buffer-full');
      else if (session.liveStored) this.gapped(session);
      // A stored event of the live REQ that does not fit is left to the pages, which read it again.
      return true;
    }
    request?.items.push({ id: event.id, createdAt: event.createdAt });
    const held: BufferedEvent = {
      raw: event.raw,
      id: event.id,
      createdAt: event.createdAt,
      bytes: event.bytes,
    };
    if (session.buffering) {
      session.buffer.push(held);
      session.bufferedBytes += held.bytes;
    } else {
      this.delivery.deliver(held);
    }
    health.peakEventsBuffered = Math.max(health.peakEventsBuffered, events + 1);
    health.peakBytesBuffered = Math.max(health.peakBytesBuffered, bytes + event.bytes);
    return true;
  }

  /** An EVENT frame of the feed that could not be read: it still counts for its page (and, with a readable
   * created_at, as that page's progress, so that the pages step past it). */
  onDropped(session: RelaySession, subscriptionId: string, createdAt: number | undefined): void {
    const request = session.requests.get(subscriptionId);
    if (request?.kind !== 'page') return;
    request.received += 1;
    if (request.limit !== undefined && request.received > request.limit) {
      session.cut(subscriptionId, 'over-limit');
      return;
    }
    if (createdAt !== undefined) request.items.push({ createdAt });
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
    session.buffering = false;
    this.flush(session);
    this.settings.limiter.log(
      `${this.host.url} live closed`,
      'warn',
      { relay: this.host.url, reason: reason.slice(0, 200) },
      'relay closed the subscription',
    );
    this.resyncLater(session, `subscription closed by the relay: ${reason.slice(0, 200)}`);
  }

  /** The session ended: what its catch-up had buffered is delivered all the same (the cursor does not move). */
  ended(session: RelaySession): void {
    session.buffering = false;
    this.flush(session);
  }

  /** Catch-up from the cursor, then live (see the top of this file). */
  async sync(session: RelaySession): Promise<void> {
    const generation = ++session.syncGeneration;
    const current = () => this.host.isCurrent(session) && session.syncGeneration === generation;
    const { filters } = this.settings;
    const relay = this.host.url;
    this.flush(session);
    session.caughtUp = false;
    session.buffering = true;
    session.liveStored = false;
    session.gap = false;
    session.pass = undefined;
    session.passActive = true;
    this.host.setState('syncing');
    try {
      const cursor = await this.settings.cursors.get(relay);
      if (!current()) return;
      this.cursor = cursor;
      const since = this.sinceNow();
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
      if (!current()) return;
      session.liveStored = true;
      session.pass = this.newPass(since);
    } catch (error) {
      this.failedSync(session, current, error);
      return;
    }
    const wait = this.notBefore - Date.now();
    if (wait > 0) {
      // A misbehaving relay's backoff outlives its connection.
      session.buffering = false;
      this.flush(session);
      this.host.degraded(this.host.health.misbehaviour ?? 'catch-up backed off');
      this.passLater(session, generation, wait);
      return;
    }
    await this.runPass(session, generation);
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

  private sinceNow(): number {
    return this.cursor === null
      ? this.settings.initialSince
      : Math.max(0, this.cursor - this.settings.overlapSeconds);
  }

  private newPass(since: number): CatchUpPass {
    const { filters, pageLimit, maxPagesPerPass, maxEventsPerPass, logger } = this.settings;
    return new CatchUpPass(filters, since, { pageLimit, maxPagesPerPass, maxEventsPerPass }, (second) =>
      logger.warn(
        { relay: this.host.url, second },
        `more than ${pageLimit} events in one second; some may be skipped`,
      ),
    );
  }

  /** One pass of the catch-up (or its continuation), then what comes next: caught up, continue, or back off. */
  private async runPass(session: RelaySession, generation: number): Promise<void> {
    const current = () => this.host.isCurrent(session) && session.syncGeneration === generation;
    const pass = session.pass;
    if (!pass || !current()) return;
    const relay = this.host.url;
    const health = this.host.health;
    session.passActive = true;
    session.buffering = true;
    let result: Awaited<ReturnType<CatchUpPass['run']>>;
    try {
      result = await pass.run(
        (filter) => this.host.request(session, 'page', session.nextId('catch-up'), [filter], filter.limit),
        () => {
          const { events, bytes } = this.buffered(session);
          return events >= this.settings.maxBufferedEvents || bytes >= this.settings.maxBufferedBytes
            ? 'buffer full'
            : undefined;
        },
      );
    } catch (error) {
      // What the relay did against the rules before the pass failed still counts (see judgeInterrupted).
      this.judgeInterrupted(pass);
      this.failedSync(session, current, error);
      return;
    } finally {
      health.catchUpPasses += 1;
    }
    if (!current()) {
      // The sync restarted under this pass (the relay CLOSED the live subscription, or reconnected): its
      // violations must not be forgotten, or a relay could hide its rule-breaking behind a CLOSED.
      this.judgeInterrupted(pass);
      return;
    }
    session.buffering = false;
    this.flush(session);
    const violations = [...pass.violations];
    if (violations.length > 0) {
      // Its cursor does not move; the next pass starts again from the cursor, later.
      session.pass = this.newPass(this.sinceNow());
      const delayMs = this.misbehaved(violations.join(', '));
      this.host.degraded(`misbehaving relay: ${violations.join(', ')}`);
      this.passLater(session, generation, delayMs);
      return;
    }
    if (result.status === 'budget') {
      this.settings.logger.debug(
        { relay, reason: result.reason, pages: pass.pages, events: pass.events },
        'long catch-up: continuing after delivery',
      );
      this.passLater(session, generation, 0);
      return;
    }
    if (session.gap) {
      // New live events were not taken: read again from the top before the cursor may move.
      session.gap = false;
      session.pass = this.newPass(this.sinceNow());
      this.passLater(
        session,
        generation,
        backoffDelay(this.settings.catchUpBackoff, 1, this.settings.random),
      );
      return;
    }
    this.recovered();
    session.pass = undefined;
    session.passActive = false;
    session.caughtUp = true;
    this.settings.logger.info({ relay, since: pass.since, pages: pass.pages }, 'relay caught up');
    this.host.healthy();
    await this.host.probe(session);
  }

  /** The next pass after `delayMs`, once what was handed to onEvent so far has settled. */
  private passLater(session: RelaySession, generation: number, delayMs: number): void {
    session.passActive = true;
    clearTimeout(session.resyncTimer);
    session.resyncTimer = setTimeout(() => {
      if (!this.host.isCurrent(session) || session.syncGeneration !== generation) return;
      this.host.track(
        (async () => {
          await Promise.allSettled(this.delivery.unsettled());
          await this.runPass(session, generation);
        })(),
      );
    }, delayMs);
  }

  /** A new live event could not be taken. */
  private gapped(session: RelaySession): void {
    session.gap = true;
    if (session.passActive) return;
    // Caught up until now: the cursor stops, and a pass from the top closes the gap.
    session.caughtUp = false;
    session.gap = false;
    session.pass = this.newPass(this.sinceNow());
    this.passLater(session, session.syncGeneration, 0);
  }

  private failedSync(session: RelaySession, current: () => boolean, error: unknown): void {
    session.buffering = false;
    this.flush(session);
    if (!current()) return;
    session.passActive = false;
    // A timeout drops the connection and the reconnect starts over; anything else is retried on this one.
    if (error instanceof RelayRequestError && error.failure === 'timeout') return;
    const reason =
      error instanceof RelayRequestError
        ? `subscription closed by the relay: ${error.reason.slice(0, 200)}`
        : `catch-up failed: ${describe(error)}`;
    this.settings.limiter.log(
      `${this.host.url} catch-up failed`,
      'warn',
      { relay: this.host.url, reason },
      'relay catch-up failed',
    );
    this.resyncLater(session, reason);
  }

  /** A pass cut short by a resync or a failure: report what it saw the relay break, and back off its catch-up. */
  private judgeInterrupted(pass: { violations: Iterable<string> }): void {
    const violations = [...pass.violations];
    if (violations.length > 0) this.misbehaved(violations.join(', '));
  }

  /** Reports a misbehaviour once per episode; returns the delay before the next pass. */
  private misbehaved(description: string): number {
    const health = this.host.health;
    this.strikes += 1;
    const delayMs = backoffDelay(this.settings.catchUpBackoff, this.strikes, this.settings.random);
    this.notBefore = Date.now() + delayMs;
    if (health.misbehaviour === null) {
      health.misbehaviourEpisodes += 1;
      this.settings.logger.warn(
        { relay: this.host.url, misbehaviour: description, delayMs },
        'relay breaks the catch-up rules; its catch-up is backed off',
      );
    }
    health.misbehaviour = description;
    return delayMs;
  }

  private recovered(): void {
    this.strikes = 0;
    this.notBefore = 0;
    const health = this.host.health;
    if (health.misbehaviour === null) return;
    health.misbehaviour = null;
    this.settings.logger.info({ relay: this.host.url }, 'relay follows the catch-up rules again');
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
    session.bufferedBytes = 0;
    if (held.length > 0) this.delivery.deliverInOrder(held);
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
