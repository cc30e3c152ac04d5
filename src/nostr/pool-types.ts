// The relay pool's public shapes: options, per-relay status and publish results.
import type { Filter } from 'nostr-tools/filter';

export type { Filter };

/** A pino logger fits this shape. */
export interface PoolLogger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

const ignore = (): void => {};
export const silentLogger: PoolLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

export interface PoolRelay {
  url: string;
  read: boolean;
  write: boolean;
}

/** The store's relay_cursors: per relay, the unix second from which the next catch-up starts (minus the overlap). */
export interface RelayCursors {
  get(relay: string): Promise<number | null>;
  set(relay: string, since: number): Promise<void>;
}

/** What the pool publishes: a complete, signed event (the store's SignedEvent and nostr-tools' Event fit). */
export interface SignedEvent {
  id: string;
  pubkey: string;
  created_at: number;
  kind: number;
  tags: string[][];
  content: string;
  sig: string;
}

export interface PublishResult {
  relay: string;
  /** The relay's OK flag; false for every local failure. */
  ok: boolean;
  /** The relay's OK message as sent (NIP-01 prefixes such as `duplicate:` or `rate-limited:`), or a local failure
   * starting `error:` (`error: not connected`, `error: timeout`, `error: connection closed`, ...). */
  message: string;
}

/** One event a fetch brought: its JSON text exactly as the relay sent it, and the parsed object. Unverified. */
export interface FetchedEvent {
  raw: string;
  id: string;
  value: Record<string, unknown>;
}

/** RelayPool.fetch(): the relay's stored events for the filters (at EOSE), or why there is no answer. */
export type FetchResult =
  | {
      relay: string;
      ok: true;
      events: FetchedEvent[];
      /** The relay sent more than the limit: the REQ was ended early and `events` holds the first ones. */
      cut: boolean;
    }
  | {
      relay: string;
      ok: false;
      /** `error: not connected`, `error: no answer to a fetch REQ within N ms`, `closed: <the relay's reason>`, ... */
      reason: string;
    };

export interface FetchOptions {
  /** Events kept at most; one more ends the REQ (`cut`). Default 500. */
  limit?: number;
  /** How long to wait for EOSE. Default: the pool's requestTimeoutMs. */
  timeoutMs?: number;
}

/** Local failures after which the event may still have reached the relay (it was sent; no answer came). */
const UNANSWERED = new Set(['error: timeout', 'error: connection closed', 'error: pool stopped']);

/**
 * What a publish result says of the event at that relay: `accepted` (OK true), `refused` (OK false, or the pool
 * never sent it: `error: not connected`, ...) or `unknown` (sent, and no answer before a timeout, the connection's
 * end or stop()). A relay's own OK false message equal to one of the unknown ones reads as unknown: the safe side.
 */
export function publishOutcome(result: PublishResult): 'accepted' | 'refused' | 'unknown' {
  if (result.ok) return 'accepted';
  return UNANSWERED.has(result.message) ? 'unknown' : 'refused';
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
  /** 0..1: each delay is shortened by up to this fraction, at random, so that restarts do not reconnect in step. */
  jitter: number;
}

export type RelayState =
  /** Not started, or stopped. */
  | 'idle'
  /** Opening the WebSocket. */
  | 'connecting'
  /** Connected; catching up from the cursor (read relays). */
  | 'syncing'
  /** Connected, caught up and subscribed (read relays), or connected (write-only relays). */
  | 'live'
  /** Waiting for the next attempt after a failure. */
  | 'waiting';

export interface RelayStatus {
  url: string;
  read: boolean;
  write: boolean;
  state: RelayState;
  connected: boolean;
  /** Failed attempts (connections or subscriptions) since the relay was last healthy. */
  attempts: number;
  lastError: string | null;
  /** Unix seconds (the pool's clock) when the last event arrived from this relay. */
  lastEventAt: number | null;
  /** The last cursor read from or written to the store (read relays). */
  cursor: number | null;
}

/** Per-relay counters of what the relay sent and what it cost (RelayPool.relayHealth()). */
export interface RelayHealth {
  url: string;
  /** What the relay does against the rules (`ignores until, ignores limit`, ...), or null. Reported once per
   * episode; cleared when a catch-up pass follows the rules again. */
  misbehaviour: string | null;
  /** Episodes of misbehaviour so far. */
  misbehaviourEpisodes: number;
  /** REQs the pool sent (live, catch-up pages, probes, plain subscriptions). */
  reqsSent: number;
  /** Readable EVENT frames received. */
  eventsReceived: number;
  /** Frames that could not be read, dropped one by one, by reason. */
  framesDropped: number;
  droppedByReason: Record<string, number>;
  /** Events not taken because a page sent more than its limit or the relay's buffer was full. */
  eventsOverBudget: number;
  /** EVENT for an unknown subscription, EOSE, OK, AUTH or CLOSED that nothing waits for. */
  unexpectedFrames: number;
  notices: number;
  closedMessages: number;
  /** Catch-up events held back plus events handed to onEvent that have not settled, now and at most. */
  eventsBuffered: number;
  bytesBuffered: number;
  peakEventsBuffered: number;
  peakBytesBuffered: number;
  catchUpPasses: number;
}

export interface RelayPoolOptions {
  /** `read` relays carry the inbound feed (catch-up from the cursor, then live); plain subscriptions
   * (RelayPool.subscribe) go to every relay. */
  relays: readonly PoolRelay[];
  /** The inbound feed's filters (kinds, #p, ...) without since, until or limit: the pool sets those. Required,
   * like cursors and onEvent, when a relay is `read`. */
  filters?: readonly Filter[];
  cursors?: RelayCursors;
  /** Every event of the inbound feed as parsed from the relay's frame, unverified: the consumer verifies and
   * dedupes. Errors are logged. */
  onEvent?(event: unknown, relay: string): void | Promise<void>;
  /** A connection to the relay opened (again); the plain subscriptions have just been sent on it. */
  onConnect?(relay: string): void;
  /** Called when a relay's state, connection, attempts or last error changes (not for every event). */
  onStatus?(relay: string, status: RelayStatus): void;
  logger?: PoolLogger;
  /** Unix seconds. Default: the system clock. */
  now?: () => number;
  /** Catch-up starts this long before the cursor, for late and backdated events. Default 600. */
  overlapSeconds?: number;
  /** `limit` of each catch-up page. Default 500. */
  pageLimit?: number;
  /** Where catch-up starts at a relay without a cursor. Default 0: everything the relay has for the filters. */
  initialSince?: number;
  /** Reconnect and resubscribe delays. Default 1 s doubling to 60 s, jitter 0.3. */
  backoff?: Partial<Backoff>;
  /** Default 10 000. */
  connectTimeoutMs?: number;
  /** How long a REQ may wait for its EOSE before the relay counts as silent. Default 20 000. */
  requestTimeoutMs?: number;
  /** How long a published event waits for its OK. Default 10 000. */
  publishTimeoutMs?: number;
  /** How often each connection is probed (a REQ that must get its EOSE) and the cursor saved. Default 30 000. */
  probeIntervalMs?: number;
  /** The socket's hard cap: larger frames close the connection. Default 4 MiB (read, then dropped, up to this). */
  maxMessageBytes?: number;
  /** An event's JSON text above this many bytes is dropped on its own (the connection stays). Default 256 KiB
   * (at most maxMessageBytes). */
  maxEventBytes?: number;
  /** `[`/`{` nesting a frame may have (a Nostr event needs 4). Default 16. */
  maxDepth?: number;
  /** Events held back per relay (catch-up buffer plus onEvent calls not settled). Default 10 000. */
  maxBufferedEvents?: number;
  /** Bytes of raw event JSON held per relay, counted like maxBufferedEvents. Default 32 MiB. */
  maxBufferedBytes?: number;
  /** Catch-up REQs per pass per relay. Default 50. */
  maxPagesPerPass?: number;
  /** Catch-up events per pass per relay. Default 20 000. */
  maxEventsPerPass?: number;
  /** The delay before the next catch-up of a relay that broke the paging rules. Default 30 s doubling to 1 h. */
  catchUpBackoff?: Partial<Backoff>;
  /** Per relay and kind (NOTICE, CLOSED, ...): at most this many log lines a minute, then one summary. Default 5. */
  logLinesPerMinute?: number;
  /** Jitter source, 0 <= x < 1. Default Math.random. */
  random?: () => number;
}
