// One relay, for the life of the pool: connect (the first connection is retried like any other, with exponential
// backoff and jitter, forever), probe the connection, publish, and start over when anything of that fails. On each
// new connection it starts the inbound feed of a read relay (live-sync.ts: catch-up from the stored cursor, the live
// subscription, the cursor) and sends the pool's plain subscriptions (subscriptions.ts) again.
import { backoffDelay } from './backoff.ts';
import type { FrameLimits, InboundEvent, ReadFrame } from './frame-reader.ts';
import { LiveSync, type LiveSyncSettings } from './live-sync.ts';
import type {
  Backoff,
  FetchResult,
  Filter,
  PoolRelay,
  PublishResult,
  RelayHealth,
  RelayState,
  RelayStatus,
  SignedEvent,
} from './pool-types.ts';
import { RelayConnection } from './relay-connection.ts';
import { RelayRequestError, RelaySession, type RequestKind, type RequestResult } from './relay-session.ts';
import type { PoolSubscription } from './subscriptions.ts';

export interface SupervisorSettings extends LiveSyncSettings {
  onStatus(relay: string, status: RelayStatus): void;
  /** A connection opened and the plain subscriptions were sent on it. */
  onConnect(relay: string): void;
  /** The pool's plain subscriptions, by id. */
  subscriptions: ReadonlyMap<string, PoolSubscription>;
  backoff: Backoff;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  publishTimeoutMs: number;
  probeIntervalMs: number;
  maxMessageBytes: number;
  limits: FrameLimits;
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
  private lastReported = '';
  /** The inbound feed, on read relays only. */
  private readonly liveSync: LiveSync | undefined;
  /** Catch-ups, probes, connects and checkpoints under way: stop() waits for them. */
  private readonly background = new Set<Promise<void>>();
  /** What this relay sent and cost (relayHealth()); every frame costs O(1) here, none is logged one by one. */
  private readonly counters: RelayHealth;

  constructor(
    readonly relay: PoolRelay,
    private readonly settings: SupervisorSettings,
  ) {
    this.counters = {
      url: relay.url,
      misbehaviour: null,
      misbehaviourEpisodes: 0,
      reqsSent: 0,
      eventsReceived: 0,
      framesDropped: 0,
      droppedByReason: {},
      eventsOverBudget: 0,
      unexpectedFrames: 0,
      notices: 0,
      closedMessages: 0,
      eventsBuffered: 0,
      bytesBuffered: 0,
      peakEventsBuffered: 0,
      peakBytesBuffered: 0,
      catchUpPasses: 0,
    };
    if (relay.read) {
      this.liveSync = new LiveSync(
        {
          url: relay.url,
          health: this.counters,
          isCurrent: (session) => this.session === session && !this.stopped && !session.ended,
          request: (session, kind, id, filters, limit) => this.request(session, kind, id, filters, limit),
          probe: (session) => this.probe(session),
          track: (task) => this.track(task),
          failed: (reason) => this.failed(reason),
          healthy: () => {
            this.attempts = 0;
            this.update({ state: 'live', lastError: null });
          },
          degraded: (reason) => this.update({ state: 'live', lastError: reason }),
          setState: (state) => this.update({ state }),
          cursorChanged: () => this.update({}),
        },
        settings,
      );
    }
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
      this.ended(session, 'error: pool stopped');
      closing.push(session.connection.close());
    }
    if (this.connecting) closing.push(this.connecting.close());
    await Promise.all(closing);
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
    await this.liveSync?.drain();
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
      cursor: this.liveSync?.cursor ?? null,
    };
  }

  /** A copy of the relay's counters. */
  health(): RelayHealth {
    const buffered = this.liveSync?.buffered(this.session) ?? { events: 0, bytes: 0 };
    return {
      ...this.counters,
      droppedByReason: { ...this.counters.droppedByReason },
      eventsBuffered: buffered.events,
      bytesBuffered: buffered.bytes,
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

  /**
   * One REQ on the current connection, answered at EOSE (then CLOSEd): the events as received, raw and unverified,
   * at most `limit` of them (more ends the REQ early, `cut`). No answer within `timeoutMs` fails this fetch only:
   * the connection stays (the probe decides whether the relay is silent).
   */
  async fetch(filters: Filter[], limit: number, timeoutMs: number): Promise<FetchResult> {
    const relay = this.relay.url;
    const session = this.session;
    if (this.stopped) return { relay, ok: false, reason: 'error: pool stopped' };
    if (!session?.connection.isOpen || session.ended)
      return { relay, ok: false, reason: 'error: not connected' };
    const id = session.nextId('fetch');
    this.counters.reqsSent += 1;
    const answer = session.request(
      'fetch',
      id,
      filters,
      timeoutMs,
      () => session.connection.send(['CLOSE', id]),
      limit,
    );
    const events: InboundEvent[] = session.requests.get(id)?.events ?? [];
    try {
      const result = await answer;
      return {
        relay,
        ok: true,
        events: events.map((event) => ({ raw: event.raw, id: event.id, value: event.value })),
        cut: result.cut !== false,
      };
    } catch (error) {
      if (error instanceof RelayRequestError) {
        const reason = error.failure === 'closed' ? `closed: ${error.reason}` : `error: ${error.reason}`;
        return { relay, ok: false, reason: reason.slice(0, 300) };
      }
      return { relay, ok: false, reason: `error: ${describe(error)}` };
    }
  }

  // ---- plain subscriptions ----

  /** A subscription made while the pool runs: sent at once on an open connection. */
  subscribed(subscription: PoolSubscription): void {
    const session = this.session;
    if (session && !session.ended) this.sendSubscription(session, subscription);
  }

  /** A subscription closed by its owner. */
  unsubscribed(subscription: PoolSubscription): void {
    const session = this.session;
    if (!session || session.ended) return;
    clearTimeout(session.subscriptionRetries.get(subscription.id));
    session.subscriptionRetries.delete(subscription.id);
    session.connection.send(['CLOSE', subscription.id]);
  }

  private sendSubscription(session: RelaySession, subscription: PoolSubscription): void {
    subscription.setLive(this.relay.url, false);
    let filters: Filter[];
    try {
      filters = subscription.filters();
    } catch (error) {
      this.settings.logger.error(
        { relay: this.relay.url, subscription: subscription.id, err: error },
        'the filters of a subscription failed',
      );
      return;
    }
    if (session.connection.send(['REQ', subscription.id, ...filters])) this.counters.reqsSent += 1;
  }

  /** CLOSED for a plain subscription: asked again after a delay that grows while the relay keeps refusing. */
  private subscriptionRefused(session: RelaySession, subscription: PoolSubscription, reason: string): void {
    subscription.setLive(this.relay.url, false);
    const refusals = (session.subscriptionRefusals.get(subscription.id) ?? 0) + 1;
    session.subscriptionRefusals.set(subscription.id, refusals);
    const delayMs = backoffDelay(this.settings.backoff, refusals, this.settings.random);
    this.settings.limiter.log(
      `${this.relay.url} closed ${subscription.id}`,
      'warn',
      { relay: this.relay.url, subscription: subscription.id, reason: reason.slice(0, 200), delayMs },
      'the relay closed a subscription; asking again',
    );
    clearTimeout(session.subscriptionRetries.get(subscription.id));
    session.subscriptionRetries.set(
      subscription.id,
      setTimeout(() => {
        session.subscriptionRetries.delete(subscription.id);
        if (this.session !== session || session.ended) return;
        if (this.settings.subscriptions.get(subscription.id) !== subscription) return;
        this.sendSubscription(session, subscription);
      }, delayMs),
    );
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
        limits: this.settings.limits,
        onFrame: (frame) => this.onFrame(session, frame),
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
    for (const subscription of this.settings.subscriptions.values()) {
      this.sendSubscription(session, subscription);
    }
    try {
      this.settings.onConnect(this.relay.url);
    } catch (error) {
      this.settings.logger.error({ relay: this.relay.url, err: error }, 'onConnect failed');
    }
    if (this.liveSync) {
      await this.liveSync.sync(session);
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
    this.ended(session, 'error: connection closed');
    if (this.stopped) return;
    this.settings.logger.warn({ relay: this.relay.url, reason }, 'relay connection lost');
    this.retryLater(reason);
  }

  /** Fails what waited on the session; no plain subscription is live here any more. */
  private ended(session: RelaySession, message: string): void {
    session.end(message);
    this.liveSync?.ended(session);
    for (const subscription of this.settings.subscriptions.values()) {
      subscription.setLive(this.relay.url, false);
    }
  }

  private retryLater(reason: string): void {
    const delayMs = this.failed(reason);
    this.settings.logger.debug(
      { relay: this.relay.url, reason, delayMs, attempts: this.attempts },
      'relay retry',
    );
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }

  /** Counts a failed attempt, reports it, and returns the delay before the next one. */
  private failed(reason: string): number {
    this.attempts += 1;
    const delayMs = backoffDelay(this.settings.backoff, this.attempts, this.settings.random);
    this.update({ state: 'waiting', lastError: reason });
    return delayMs;
  }

  /** The relay stopped answering: drop the connection, and the reconnect starts over. */
  private drop(session: RelaySession, reason: string): void {
    if (session.ended) return;
    session.dropReason = reason;
    this.settings.logger.warn({ relay: this.relay.url, reason }, 'dropping a silent relay connection');
    session.connection.terminate();
  }

  // ---- frames ----

  private onFrame(session: RelaySession, frame: ReadFrame): void {
    // Frames still buffered when a session ended: nothing may act on a finished session.
    if (session.ended) return;
    const counters = this.counters;
    const relay = this.relay.url;
    if (frame.kind === 'dropped') {
      counters.framesDropped += 1;
      counters.droppedByReason[frame.reason] = (counters.droppedByReason[frame.reason] ?? 0) + 1;
      this.settings.limiter.log(
        `${relay} dropped`,
        'debug',
        { relay, reason: frame.reason, bytes: frame.bytes },
        'dropped a relay frame that cannot be read',
      );
      if (frame.subscriptionId !== undefined) {
        this.liveSync?.onDropped(session, frame.subscriptionId, frame.createdAt);
      }
      return;
    }
    if (frame.kind === 'event') {
      const key = frame.subscriptionId;
      const subscription = this.settings.subscriptions.get(key);
      if (session.requests.get(key)?.kind === 'fetch') {
        counters.eventsReceived += 1;
        this.fetched(session, key, frame.event);
      } else if (subscription) {
        counters.eventsReceived += 1;
        this.lastEventAt = this.settings.now();
        try {
          subscription.deliver(frame.event.value, relay);
        } catch (error) {
          this.settings.limiter.log(
            `${relay} subscription ${key}`,
            'error',
            { relay, subscription: key, err: error },
            'onEvent of a subscription failed',
          );
        }
      } else if (this.liveSync?.onEvent(session, key, frame.event)) {
        counters.eventsReceived += 1;
        this.lastEventAt = this.settings.now();
      } else {
        counters.unexpectedFrames += 1;
      }
      return;
    }
    const { type, message } = frame;
    const key = message[1];
    switch (type) {
      case 'NOTICE':
        counters.notices += 1;
        this.settings.limiter.log(
          `${relay} NOTICE`,
          'debug',
          { relay, notice: String(message[1] ?? '').slice(0, 500) },
          'relay notice',
        );
        return;
      case 'EOSE': {
        if (typeof key !== 'string') break;
        const subscription = this.settings.subscriptions.get(key);
        if (subscription) {
          session.subscriptionRefusals.delete(key);
          subscription.setLive(relay, true);
        } else if (session.requests.has(key)) {
          session.answered(key);
        } else break;
        return;
      }
      case 'CLOSED': {
        counters.closedMessages += 1;
        if (typeof key !== 'string') break;
        const reason = String(message[2] ?? '');
        this.settings.limiter.log(
          `${relay} CLOSED`,
          'debug',
          { relay, subscription: key.slice(0, 64), reason: reason.slice(0, 200) },
          'relay CLOSED',
        );
        const subscription = this.settings.subscriptions.get(key);
        if (subscription) {
          this.subscriptionRefused(session, subscription, reason);
        } else if (session.requests.has(key) || key === session.liveId) {
          session.refused(key, reason);
          this.liveSync?.onClosed(session, key, reason);
        }
        return;
      }
      case 'OK':
        if (typeof key !== 'string' || !session.publishes.has(key)) break;
        session.acknowledged(key, {
          ok: message[2] === true,
          message: typeof message[3] === 'string' ? message[3] : '',
        });
        return;
      default:
        break;
    }
    counters.unexpectedFrames += 1;
  }

  /** An EVENT frame (or a dropped one: no event) for a one-shot fetch: kept up to its limit; one more cuts it. */
  private fetched(session: RelaySession, id: string, event: InboundEvent | undefined): void {
    const request = session.requests.get(id);
    if (!request) return;
    request.received += 1;
    if (request.limit !== undefined && request.received > request.limit) {
      this.counters.eventsOverBudget += 1;
      session.cut(id, 'over-limit');
      return;
    }
    if (event) request.events?.push(event);
  }

  /** Sends a REQ and resolves with its events at EOSE. A relay that does not answer in time is dropped. */
  private request(
    session: RelaySession,
    kind: RequestKind,
    id: string,
    filters: Filter[],
    limit?: number,
  ): Promise<RequestResult> {
    this.counters.reqsSent += 1;
    return session.request(
      kind,
      id,
      filters,
      this.settings.requestTimeoutMs,
      () => this.drop(session, `no answer to a ${kind} REQ within ${this.settings.requestTimeoutMs} ms`),
      limit,
    );
  }

  /** Checks that the relay still answers; on a read relay that is caught up, the cursor moves (live-sync.ts). */
  private async probe(session: RelaySession): Promise<void> {
    if (session.probing || session.ended) return;
    session.probing = true;
    const mark = this.liveSync?.mark(session);
    try {
      await this.request(session, 'probe', session.nextId('probe'), [PROBE_FILTER]);
    } catch (error) {
      // A CLOSED answer shows the relay is alive and in order as well as an EOSE does.
      if (!(error instanceof RelayRequestError) || error.failure !== 'closed') return;
    } finally {
      session.probing = false;
    }
    if (mark) await this.liveSync?.checkpoint(session, mark);
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
