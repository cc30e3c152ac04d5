// One relay, for the life of the pool: connect (the first connection is retried like any other, with exponential
// backoff and jitter, forever), catch up from the stored cursor, keep one live subscription, probe the connection,
// move the cursor, publish, and start over when anything of that fails.
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
import { backoffDelay } from './backoff.ts';
import { catchUpFilter } from './catch-up.ts';
import { EventDelivery } from './event-delivery.ts';
import type {
  Backoff,
  Filter,
  PoolLogger,
  PoolRelay,
  PublishResult,
  RelayCursors,
  RelayState,
  RelayStatus,
  SignedEvent,
} from './pool-types.ts';
import { RelayConnection } from './relay-connection.ts';
import { RelayRequestError, RelaySession, type RequestKind } from './relay-session.ts';

export interface SupervisorSettings {
  filters: readonly Filter[];
  cursors: RelayCursors;
  onEvent(event: unknown, relay: string): void | Promise<void>;
  onStatus(relay: string, status: RelayStatus): void;
  logger: PoolLogger;
  now: () => number;
  overlapSeconds: number;
  pageLimit: number;
  initialSince: number;
  backoff: Backoff;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  publishTimeoutMs: number;
  probeIntervalMs: number;
  maxMessageBytes: number;
  maxBufferedEvents: number;
  random: () => number;
}

/** A REQ that matches nothing and always gets a quick EOSE. */
const PROBE_FILTER: Filter = { ids: ['0'.repeat(64)], limit: 1 };

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeSocketError(error: string | undefined): string {
  return error === undefined ? '' : ` (${error})`;
}

export class RelaySupervisor {
  private session: RelaySession | undefined;
  private connecting: RelayConnection | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private state: RelayState = 'idle';
  private attempts = 0;
  private lastError: string | null = null;
  private lastEventAt: number | null = null;
  private cursor: number | null = null;
  private lastReported = '';
  /** Cursor writes run one after another, so that a slower earlier write cannot land after a later one. */
  private checkpoints: Promise<void> = Promise.resolve();
  private readonly delivery: EventDelivery;
  /** Catch-ups, probes, connects and checkpoints under way: stop() waits for them. */
  private readonly background = new Set<Promise<void>>();

  constructor(
    readonly relay: PoolRelay,
    private readonly settings: SupervisorSettings,
  ) {
    this.delivery = new EventDelivery(relay.url, settings.onEvent, settings.logger);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.connect();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const session = this.session;
    this.session = undefined;
    const closing: Promise<void>[] = [];
    if (session) {
      session.end('error: pool stopped');
      closing.push(session.connection.close());
    }
    if (this.connecting) closing.push(this.connecting.close());
    await Promise.all(closing);
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
    await this.delivery.drain();
    this.update({ state: 'idle' });
  }

  status(): RelayStatus {
    return {
      url: this.relay.url,
      read: this.relay.read,
      write: this.relay.write,
      state: this.state,
      connected: this.session !== undefined,
      attempts: this.attempts,
      lastError: this.lastError,
      lastEventAt: this.lastEventAt,
      cursor: this.cursor,
    };
  }

  publish(event: SignedEvent): Promise<PublishResult> {
    const relay = this.relay.url;
    const session = this.session;
    if (this.stopped) return Promise.resolve({ relay, ok: false, message: 'error: pool stopped' });
    if (!session?.connection.isOpen) {
      return Promise.resolve({ relay, ok: false, message: 'error: not connected' });
    }
    return session.publish(event, this.settings.publishTimeoutMs).then((answer) => ({ relay, ...answer }));
  }

  // ---- connection ----

  private connect(): void {
    this.reconnectTimer = undefined;
    if (this.stopped) return;
    const session: RelaySession = new RelaySession(
      new RelayConnection({
        url: this.relay.url,
        connectTimeoutMs: this.settings.connectTimeoutMs,
        maxMessageBytes: this.settings.maxMessageBytes,
        onFrame: (message) => this.onFrame(session, message),
        onNotice: (notice) => this.settings.logger.info({ relay: this.relay.url, notice }, 'relay notice'),
        onClose: () => this.closed(session),
      }),
    );
    this.connecting = session.connection;
    this.update({ state: 'connecting' });
    this.track(this.open(session));
  }

  private async open(session: RelaySession): Promise<void> {
    try {
      await session.connection.open();
    } catch (error) {
      this.connecting = undefined;
      if (this.stopped) return;
      this.retryLater(`cannot connect: ${describe(error)}`);
      return;
    }
    this.connecting = undefined;
    if (this.stopped) {
      await session.connection.close();
      return;
    }
    this.session = session;
    this.settings.logger.info({ relay: this.relay.url }, 'relay connected');
    session.probeTimer = setInterval(() => this.track(this.probe(session)), this.settings.probeIntervalMs);
    if (this.relay.read) {
      await this.sync(session);
    } else {
      this.attempts = 0;
      this.update({ state: 'live', lastError: null });
    }
  }

  /** The connection closed without close() from us: the relay went away, or we terminated a silent one. */
  private closed(session: RelaySession): void {
    if (this.session !== session) return;
    this.session = undefined;
    const reason =
      session.dropReason ?? `connection closed${describeSocketError(session.connection.lastError)}`;
    session.end('error: connection closed');
    if (this.stopped) return;
    this.settings.logger.warn({ relay: this.relay.url, reason }, 'relay connection lost');
    this.retryLater(reason);
  }

  private retryLater(reason: string): void {
    this.attempts += 1;
    const delayMs = backoffDelay(this.settings.backoff, this.attempts, this.settings.random);
    this.settings.logger.debug(
      { relay: this.relay.url, reason, delayMs, attempts: this.attempts },
      'relay retry',
    );
    this.update({ state: 'waiting', lastError: reason });
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }

  /** The relay stopped answering: drop the connection, and the reconnect starts over. */
  private drop(session: RelaySession, reason: string): void {
    if (session.ended) return;
    session.dropReason = reason;
    this.settings.logger.warn({ relay: this.relay.url, reason }, 'dropping a silent relay connection');
    session.connection.terminate();
  }

  // ---- frames ----

  private onFrame(session: RelaySession, message: unknown[]): boolean {
    // nostr-tools leaves the message handler on a socket it is closing: nothing may act on a finished session.
    if (session.ended) return true;
    const [type, key] = message;
    switch (type) {
      case 'EVENT':
        if (typeof key === 'string') this.onRelayEvent(session, key, message[2]);
        return true;
      case 'EOSE':
        if (typeof key === 'string') session.answered(key);
        return true;
      case 'CLOSED':
        if (typeof key === 'string') this.onClosed(session, key, String(message[2] ?? ''));
        return true;
      case 'OK':
        if (typeof key === 'string') {
          session.acknowledged(key, {
            ok: message[2] === true,
            message: typeof message[3] === 'string' ? message[3] : '',
          });
        }
        return true;
      default:
        return false;
    }
  }

  private onRelayEvent(session: RelaySession, subscriptionId: string, event: unknown): void {
    const request = session.requests.get(subscriptionId);
    if (request?.kind === 'probe') return;
    if (subscriptionId !== session.liveId && request === undefined) return;
    request?.events.push(event);
    this.lastEventAt = this.settings.now();
    if (session.buffering) session.buffer.push(event);
    else this.delivery.deliver(event);
  }

  private onClosed(session: RelaySession, subscriptionId: string, reason: string): void {
    session.refused(subscriptionId, reason);
    if (subscriptionId !== session.liveId) return;
    // The live subscription is gone: what follows is not covered until a new catch-up has run. The CLOSE is for a
    // relay (or a proxy) that said CLOSED but kept the subscription: it would otherwise be open twice.
    session.connection.send(['CLOSE', subscriptionId]);
    session.liveId = undefined;
    session.caughtUp = false;
    session.syncGeneration += 1;
    this.flush(session);
    this.settings.logger.warn({ relay: this.relay.url, reason }, 'relay closed the subscription');
    this.resyncLater(session, `subscription closed by the relay: ${reason}`);
  }

  /** Sends a REQ and resolves with its events at EOSE. A relay that does not answer in time is dropped. */
  private request(
    session: RelaySession,
    kind: RequestKind,
    id: string,
    filters: Filter[],
  ): Promise<unknown[]> {
    return session.request(kind, id, filters, this.settings.requestTimeoutMs, () =>
      this.drop(session, `no answer to a ${kind} REQ within ${this.settings.requestTimeoutMs} ms`),
    );
  }

  /** Delivers the events held back during a catch-up, oldest first. */
  private flush(session: RelaySession): void {
    const held = session.buffer;
    session.buffer = [];
    this.delivery.deliverInOrder(held);
  }

  // ---- catch-up and the live subscription ----

  private resyncLater(session: RelaySession, reason: string): void {
    this.attempts += 1;
    const delayMs = backoffDelay(this.settings.backoff, this.attempts, this.settings.random);
    this.update({ state: 'waiting', lastError: reason });
    clearTimeout(session.resyncTimer);
    session.resyncTimer = setTimeout(() => {
      if (this.session === session && !this.stopped) this.track(this.sync(session));
    }, delayMs);
  }

  private async sync(session: RelaySession): Promise<void> {
    const generation = ++session.syncGeneration;
    const current = () => !this.stopped && !session.ended && session.syncGeneration === generation;
    const { filters, overlapSeconds, pageLimit, logger } = this.settings;
    const relay = this.relay.url;
    session.caughtUp = false;
    session.buffering = true;
    session.buffer = [];
    this.update({ state: 'syncing' });
    try {
      const cursor = await this.settings.cursors.get(relay);
      if (!current()) return;
      this.cursor = cursor;
      const since = cursor === null ? this.settings.initialSince : Math.max(0, cursor - overlapSeconds);
      // Live first: from its REQ on the relay sends every new event, so none stored while the pages are read
      // can fall between the pages and the subscription.
      if (session.liveId !== undefined) session.connection.send(['CLOSE', session.liveId]);
      session.liveId = session.nextId('live');
      await this.request(
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
            const events = await this.request(session, 'page', session.nextId('catch-up'), [page]);
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
      this.attempts = 0;
      logger.info({ relay, since, pages }, 'relay caught up');
      this.update({ state: 'live', lastError: null });
      await this.probe(session);
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

  /** Checks that the relay still answers; when caught up, it also moves the cursor (see the top of this file). */
  private async probe(session: RelaySession): Promise<void> {
    if (session.probing || session.ended) return;
    session.probing = true;
    const sentAt = this.settings.now();
    const generation = session.syncGeneration;
    const wasCaughtUp = session.caughtUp;
    try {
      await this.request(session, 'probe', session.nextId('probe'), [PROBE_FILTER]);
    } catch (error) {
      // A CLOSED answer shows the relay is alive and in order as well as an EOSE does.
      if (!(error instanceof RelayRequestError) || error.failure !== 'closed') return;
    } finally {
      session.probing = false;
    }
    if (!this.relay.read || !wasCaughtUp || !session.caughtUp || session.syncGeneration !== generation) {
      return;
    }
    // Every event the relay sent before the probe's answer has been handed to onEvent by now.
    const handedOver = this.delivery.unsettled();
    this.checkpoints = this.checkpoints.then(() => this.checkpoint(sentAt, handedOver));
    await this.checkpoints;
  }

  private async checkpoint(coveredUntil: number, handedOver: Promise<void>[]): Promise<void> {
    await Promise.allSettled(handedOver);
    if (this.cursor !== null && coveredUntil <= this.cursor) return;
    try {
      await this.settings.cursors.set(this.relay.url, coveredUntil);
      this.cursor = coveredUntil;
      this.update({});
    } catch (error) {
      this.settings.logger.error({ relay: this.relay.url, err: error }, 'could not save the relay cursor');
    }
  }

  // ---- bookkeeping ----

  private track(task: Promise<void>): void {
    const tracked: Promise<void> = task
      .catch((error: unknown) =>
        this.settings.logger.error({ relay: this.relay.url, err: error }, 'relay supervisor task failed'),
      )
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  private update(change: { state?: RelayState; lastError?: string | null }): void {
    if (change.state !== undefined) this.state = change.state;
    if (change.lastError !== undefined) this.lastError = change.lastError;
    const status = this.status();
    const { lastEventAt: _ignored, ...reported } = status;
    const key = JSON.stringify(reported);
    if (key === this.lastReported) return;
    this.lastReported = key;
    try {
      this.settings.onStatus(this.relay.url, status);
    } catch (error) {
      this.settings.logger.error({ relay: this.relay.url, err: error }, 'onStatus failed');
    }
  }
}
