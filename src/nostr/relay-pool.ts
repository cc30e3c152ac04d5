// The connections of one party to its relays. Two ways to read, on the same connections:
//   - the inbound feed of the `read` relays (the agent's intake): every matching event from every read relay
//     reaches onEvent (at least once: the consumer dedupes durably and verifies every event itself), and catch-up
//     after any gap resumes from the stored per-relay cursor (live-sync.ts describes the cursor semantics);
//   - plain subscriptions (subscribe(), subscriptions.ts): a REQ under the caller's id on every relay, sent again
//     on every new connection, nothing stored (the NWC adapter and wallet service use these).
// publish() reports each write relay's own answer. The pool is a transport layer: it imports nothing of the agent,
// the engine, the store or the Lightning adapters.
//
// Each relay has a supervisor (relay-supervisor.ts) that owns its connection, reconnects, liveness probes and
// publishes; the connection itself is a `ws` socket the pool owns (relay-connection.ts says why not nostr-tools').
//
// No relay can starve, flood or silence the others: every frame is read with limits before it is parsed
// (frame-reader.ts), events go to onEvent as their raw JSON text, one by one (event-delivery.ts), catch-up has a
// progress rule and per-pass budgets (catch-up.ts), the memory each relay may hold is bounded (live-sync.ts), and
// what a relay says (NOTICE, CLOSED) is logged at a bounded rate (log-limiter.ts). relayHealth() has the counters.
import { ENVELOPE_BYTES } from './frame-reader.ts';
import { LogLimiter } from './log-limiter.ts';
import {
  type FetchOptions,
  type FetchResult,
  type Filter,
  type PoolLogger,
  type PublishResult,
  type RelayHealth,
  type RelayPoolOptions,
  type RelayStatus,
  type SignedEvent,
  silentLogger,
} from './pool-types.ts';
import { RelaySupervisor, type SupervisorSettings } from './relay-supervisor.ts';
import { normalizeRelayUrl } from './relay-url.ts';
import { checkSubscriptionId, PoolSubscription, type SubscriptionOptions } from './subscriptions.ts';

export type { LogLevel, LogLimiterOptions } from './log-limiter.ts';
export { LogLimiter } from './log-limiter.ts';
export type {
  Backoff,
  FetchedEvent,
  FetchOptions,
  FetchResult,
  Filter,
  PoolLogger,
  PoolRelay,
  PublishResult,
  RelayCursors,
  RelayHealth,
  RelayPoolOptions,
  RelayState,
  RelayStatus,
  SignedEvent,
} from './pool-types.ts';
export { publishOutcome } from './pool-types.ts';
export type { PoolSubscription, SubscriptionOptions } from './subscriptions.ts';

const DEFAULTS = {
  overlapSeconds: 600,
  pageLimit: 500,
  initialSince: 0,
  backoff: { initialMs: 1000, maxMs: 60_000, jitter: 0.3 },
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 20_000,
  publishTimeoutMs: 10_000,
  probeIntervalMs: 30_000,
  maxMessageBytes: 4 * 1024 * 1024,
  maxEventBytes: 256 * 1024,
  maxDepth: 16,
  maxBufferedEvents: 10_000,
  maxBufferedBytes: 32 * 1024 * 1024,
  maxPagesPerPass: 50,
  maxEventsPerPass: 20_000,
  catchUpBackoff: { initialMs: 30_000, maxMs: 3_600_000, jitter: 0.3 },
  logLinesPerMinute: 5,
};

/** The pool sets these on every REQ itself. */
const RESERVED_FILTER_FIELDS = ['since', 'until', 'limit'] as const;

function positive(name: string, value: number, minimum = 1): number {
  if (!Number.isFinite(value) || value < minimum)
    throw new Error(`relay pool: ${name} must be at least ${minimum}`);
  return value;
}

/** Read relays are given these when a pool has none: the constructor refuses such a pool anyway. */
const NO_CURSORS = {
  get: async (): Promise<number | null> => null,
  set: async (): Promise<void> => {},
};

function resolveSettings(
  options: RelayPoolOptions,
  hooks: Pick<SupervisorSettings, 'onStatus' | 'subscriptions'>,
): SupervisorSettings {
  const catchUpBackoff = { ...DEFAULTS.catchUpBackoff, ...options.catchUpBackoff };
  positive('catchUpBackoff.initialMs', catchUpBackoff.initialMs);
  positive('catchUpBackoff.maxMs', catchUpBackoff.maxMs, catchUpBackoff.initialMs);
  if (!(catchUpBackoff.jitter >= 0 && catchUpBackoff.jitter <= 1))
    throw new Error('relay pool: catchUpBackoff.jitter must be from 0 to 1');
  const maxMessageBytes = positive(
    'maxMessageBytes',
    options.maxMessageBytes ?? DEFAULTS.maxMessageBytes,
    1024,
  );
  const maxEventBytes = Math.min(
    positive('maxEventBytes', options.maxEventBytes ?? DEFAULTS.maxEventBytes, 1024),
    Math.max(1024, maxMessageBytes - ENVELOPE_BYTES),
  );
  const pageLimit = positive('pageLimit', options.pageLimit ?? DEFAULTS.pageLimit);
  const maxBufferedEvents = positive(
    'maxBufferedEvents',
    options.maxBufferedEvents ?? Math.max(DEFAULTS.maxBufferedEvents, pageLimit),
    pageLimit,
  );
  const maxBufferedBytes = positive(
    'maxBufferedBytes',
    options.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes,
    maxEventBytes,
  );
  const logger = options.logger ?? silentLogger;
  const backoff = { ...DEFAULTS.backoff, ...options.backoff };
  positive('backoff.initialMs', backoff.initialMs);
  positive('backoff.maxMs', backoff.maxMs, backoff.initialMs);
  if (!(backoff.jitter >= 0 && backoff.jitter <= 1))
    throw new Error('relay pool: backoff.jitter must be from 0 to 1');
  const filters: readonly Filter[] = options.filters ?? [];
  for (const filter of filters) {
    const reserved = RESERVED_FILTER_FIELDS.find((field) => filter[field] !== undefined);
    if (reserved) throw new Error(`relay pool: a filter must not set ${reserved}: the pool sets it`);
  }
  return {
    filters,
    cursors: options.cursors ?? NO_CURSORS,
    onEvent: options.onEvent ?? (() => {}),
    onConnect: options.onConnect ?? (() => {}),
    ...hooks,
    logger,
    limiter: new LogLimiter(logger, {
      perWindow: positive('logLinesPerMinute', options.logLinesPerMinute ?? DEFAULTS.logLinesPerMinute),
      windowMs: 60_000,
    }),
    now: options.now ?? (() => Math.floor(Date.now() / 1000)),
    overlapSeconds: positive('overlapSeconds', options.overlapSeconds ?? DEFAULTS.overlapSeconds, 0),
    pageLimit,
    initialSince: positive('initialSince', options.initialSince ?? DEFAULTS.initialSince, 0),
    backoff,
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs),
    publishTimeoutMs: positive('publishTimeoutMs', options.publishTimeoutMs ?? DEFAULTS.publishTimeoutMs),
    probeIntervalMs: positive('probeIntervalMs', options.probeIntervalMs ?? DEFAULTS.probeIntervalMs),
    maxMessageBytes,
    limits: {
      maxEventBytes,
      maxDepth: positive('maxDepth', options.maxDepth ?? DEFAULTS.maxDepth, 4),
    },
    maxBufferedEvents,
    maxBufferedBytes,
    maxPagesPerPass: positive('maxPagesPerPass', options.maxPagesPerPass ?? DEFAULTS.maxPagesPerPass),
    maxEventsPerPass: positive('maxEventsPerPass', options.maxEventsPerPass ?? DEFAULTS.maxEventsPerPass),
    catchUpBackoff,
    random: options.random ?? Math.random,
  };
}

export class RelayPool {
  private readonly supervisors = new Map<string, RelaySupervisor>();
  private readonly subscriptions = new Map<string, PoolSubscription>();
  private readonly watchers = new Set<() => void>();
  private readonly logger: PoolLogger;
  private readonly limiter: LogLimiter;
  private readonly requestTimeoutMs: number;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;

  /** Throws on a bad option (no relay, a duplicate relay, a filter with since/until/limit, ...). */
  constructor(options: RelayPoolOptions) {
    const onStatus = options.onStatus;
    const settings = resolveSettings(options, {
      subscriptions: this.subscriptions,
      onStatus: (relay, status) => {
        onStatus?.(relay, status);
        this.changed();
      },
    });
    this.logger = settings.logger;
    this.limiter = settings.limiter;
    this.requestTimeoutMs = settings.requestTimeoutMs;
    for (const relay of options.relays) {
      const url = normalizeRelayUrl(relay.url);
      if (this.supervisors.has(url)) throw new Error(`relay pool: ${url} is listed twice`);
      this.supervisors.set(url, new RelaySupervisor({ url, read: relay.read, write: relay.write }, settings));
    }
    if (this.supervisors.size === 0) throw new Error('relay pool: no relay');
    const reads = [...this.supervisors.values()].some((supervisor) => supervisor.relay.read);
    if (reads && settings.filters.length === 0)
      throw new Error('relay pool: read relays need at least one filter');
    if (reads && (options.cursors === undefined || options.onEvent === undefined))
      throw new Error('relay pool: read relays need cursors and onEvent');
  }

  /** Connects to every relay in the background; returns at once. A pool runs once: after stop() make a new one. */
  start(): void {
    if (this.state === 'stopped') throw new Error('relay pool: stopped; create a new pool');
    if (this.state === 'running') return;
    this.state = 'running';
    for (const supervisor of this.supervisors.values()) supervisor.start();
  }

  /** Closes every connection, cancels every timer and waits for pending onEvent calls and cursor writes. */
  stop(): Promise<void> {
    this.state = 'stopped';
    this.stopping ??= Promise.all([...this.supervisors.values()].map((supervisor) => supervisor.stop())).then(
      () => this.limiter.flush(),
    );
    return this.stopping;
  }

  /**
   * Sends the event to every write relay (or to the given ones) and resolves with one result per relay, in that
   * order, once each has answered OK or failed locally (`error: not connected`, `error: timeout`, ...). Never rejects.
   */
  publish(event: SignedEvent, relays?: readonly string[]): Promise<PublishResult[]> {
    const targets =
      relays ?? [...this.supervisors.values()].filter((s) => s.relay.write).map((s) => s.relay.url);
    return Promise.all(
      targets.map((target): PublishResult | Promise<PublishResult> => {
        let url: string;
        try {
          url = normalizeRelayUrl(target);
        } catch {
          return { relay: target, ok: false, message: 'error: not a relay URL' };
        }
        const supervisor = this.supervisors.get(url);
        if (!supervisor) return { relay: url, ok: false, message: 'error: not one of the pool relays' };
        if (!supervisor.relay.write) return { relay: url, ok: false, message: 'error: not a write relay' };
        if (this.state !== 'running') {
          const message = this.state === 'new' ? 'error: not connected' : 'error: pool stopped';
          return { relay: url, ok: false, message };
        }
        return supervisor.publish(event);
      }),
    );
  }

  /**
   * One REQ to one relay of the pool, on its current connection: resolves with the events it stored for the
   * filters, raw and unverified (each frame read with the pool's limits; an unreadable one is skipped), at most
   * `limit` of them, once it sent EOSE; or with `ok: false` when the relay is not connected, CLOSEd the REQ or
   * did not answer in time (the connection stays). Nothing is stored and onEvent never sees these events.
   * Never rejects.
   */
  fetch(relay: string, filters: readonly Filter[], options: FetchOptions = {}): Promise<FetchResult> {
    let url: string;
    try {
      url = normalizeRelayUrl(relay);
    } catch {
      return Promise.resolve({ relay, ok: false, reason: 'error: not a relay URL' });
    }
    const supervisor = this.supervisors.get(url);
    if (!supervisor)
      return Promise.resolve({ relay: url, ok: false, reason: 'error: not one of the pool relays' });
    if (this.state !== 'running') {
      const reason = this.state === 'new' ? 'error: not connected' : 'error: pool stopped';
      return Promise.resolve({ relay: url, ok: false, reason });
    }
    const limit = positive('fetch limit', options.limit ?? 500);
    const timeoutMs = positive('fetch timeoutMs', options.timeoutMs ?? this.requestTimeoutMs);
    return supervisor.fetch([...filters], limit, timeoutMs);
  }

  /**
   * A plain subscription on every relay of the pool (subscriptions.ts): sent on each connection, now or when it
   * opens, and again after the relay CLOSEs it. Throws on an id already in use or with a ':'.
   */
  subscribe(options: SubscriptionOptions): PoolSubscription {
    checkSubscriptionId(options.id);
    if (this.subscriptions.has(options.id))
      throw new Error(`relay pool: a subscription "${options.id}" is open already`);
    if (this.state === 'stopped') throw new Error('relay pool: stopped; create a new pool');
    const subscription: PoolSubscription = new PoolSubscription(options, {
      changed: () => this.changed(),
      closed: () => {
        if (this.subscriptions.get(options.id) !== subscription) return;
        this.subscriptions.delete(options.id);
        for (const supervisor of this.supervisors.values()) supervisor.unsubscribed(subscription);
      },
    });
    this.subscriptions.set(options.id, subscription);
    for (const supervisor of this.supervisors.values()) supervisor.subscribed(subscription);
    return subscription;
  }

  /** Calls `listener` whenever a relay's status or a subscription's liveness changes, until the returned
   * function is called. */
  watch(listener: () => void): () => void {
    this.watchers.add(listener);
    return () => {
      this.watchers.delete(listener);
    };
  }

  /** One entry per relay, in the order given. */
  status(): RelayStatus[] {
    return [...this.supervisors.values()].map((supervisor) => supervisor.status());
  }

  /** Per relay, in the order given: what it sent and cost, and whether it breaks the rules (for metrics). */
  relayHealth(): RelayHealth[] {
    return [...this.supervisors.values()].map((supervisor) => supervisor.health());
  }

  private changed(): void {
    for (const listener of [...this.watchers]) {
      try {
        listener();
      } catch (error) {
        this.logger.error({ err: error }, 'a relay pool watcher failed');
      }
    }
  }
}
