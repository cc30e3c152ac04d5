// Reads events from several relays at once, for the commands that work from relay data alone (backup-events,
// verify, reconcile-from-nostr): every filter is asked of every relay, page by page (relays cap what one REQ returns,
// so each filter walks `until` backwards), every copy is checked (strict JSON, shape, id, signature, and that it
// matches the filter asked), and the events are deduplicated by id. What each relay held, what it served that was
// not genuine, and which events some relay lacked that another had are reported, so a caller can say which relay
// lost what.
//
// Bounded: `pageSize` events per REQ, `timeoutMs` per connection and per page, `maxEvents` distinct events in all
// (a relay still reading when the bound is reached is marked failed: its answer is incomplete). The connections are
// the relay pool's (src/nostr), whose frame reader bounds every frame before it is parsed. Read-only: nothing is
// published, nothing is stored.
import { type Filter, matchFilter } from 'nostr-tools/filter';
import { RelayPool } from '../nostr/relay-pool.ts';
import { normalizeRelayUrl } from '../nostr/relay-url.ts';
import { type NostrEvent, parseEventJson } from '../protocol/schemas.ts';
import { verifyEvent } from '../protocol/verify-event.ts';

export type { Filter };

export interface FetchAllOptions {
  /** Events asked for per REQ (the filter's `limit`). Default 500. */
  pageSize?: number;
  /** Most distinct events kept, over every filter and relay. Default 100 000. */
  maxEvents?: number;
  /** How long a relay may take to connect, and to answer one page. Default 10 000 ms. */
  timeoutMs?: number;
}

export interface RelayFetchState {
  /** Distinct genuine events this relay returned for the filters. */
  held: number;
  /** Copies it served that were not genuine or not asked for (unreadable, a bad id or signature, another filter's). */
  rejected: number;
  /** Why its answer is incomplete (not connected, no answer in time, CLOSED, over the bounds); absent when complete. */
  failed?: string;
}

export interface FetchAllResult {
  /** Verified events, each once, by created_at then id. */
  events: NostrEvent[];
  /** Per relay, by the URL as given. */
  perRelay: Map<string, RelayFetchState>;
  /** Event id -> the relays (as given) that answered completely and did not have it, for events some relay lacked. */
  missingOn: Map<string, string[]>;
}

const DEFAULTS = { pageSize: 500, maxEvents: 100_000, timeoutMs: 10_000 };
/** Attempts of one page (a dropped connection is waited for, then the page asked again). */
const PAGE_ATTEMPTS = 3;

/**
 * Every event matching `filters` on `relays`, verified and deduplicated (see the top of this file). Never rejects
 * for a relay's fault: a relay that cannot be read is reported in `perRelay` with `failed`.
 */
export async function fetchAll(
  relays: readonly string[],
  filters: readonly Filter[],
  options: FetchAllOptions = {},
): Promise<FetchAllResult> {
  const settings = { ...DEFAULTS, ...options };
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`fetchAll: ${name} must be at least 1`);
  }
  const perRelay = new Map<string, RelayFetchState>();
  /** Normalised URL -> the URLs as given (two spellings of one relay are read once, reported under both). */
  const given = new Map<string, string[]>();
  for (const url of relays) {
    if (perRelay.has(url)) continue;
    perRelay.set(url, { held: 0, rejected: 0 });
    try {
      const normal = normalizeRelayUrl(url);
      given.set(normal, [...(given.get(normal) ?? []), url]);
    } catch (error) {
      perRelay.set(url, { held: 0, rejected: 0, failed: `not a relay URL: ${(error as Error).message}` });
    }
  }
  const kept = new Map<string, NostrEvent>();
  const seen = new Map<string, Set<string>>();
  if (given.size > 0) {
    const pool = new RelayPool({
      relays: [...given.keys()].map((url) => ({ url, read: false, write: false })),
      connectTimeoutMs: settings.timeoutMs,
      requestTimeoutMs: settings.timeoutMs,
      backoff: { initialMs: 250, maxMs: 2_000, jitter: 0.2 },
    });
    pool.start();
    try {
      await Promise.all(
        [...given.keys()].map(async (url) => {
          const ids = new Set<string>();
          seen.set(url, ids);
          const state = await readRelay(pool, url, filters, settings, kept, ids);
          for (const name of given.get(url) ?? []) perRelay.set(name, { ...state });
        }),
      );
    } finally {
      await pool.stop();
    }
  }

  const events = [...kept.values()].sort((a, b) => a.created_at - b.created_at || compare(a.id, b.id));
  const complete = [...given.entries()].filter(([, names]) => perRelay.get(names[0]!)?.failed === undefined);
  const missingOn = new Map<string, string[]>();
  for (const event of events) {
    const lacking = complete.filter(([url]) => !seen.get(url)?.has(event.id)).flatMap(([, names]) => names);
    if (lacking.length > 0) missingOn.set(event.id, lacking);
  }
  return { events, perRelay, missingOn };
}

type Settings = typeof DEFAULTS;

/** What one relay has sent so far: its genuine events' ids, the bad copies already counted, and its tally. */
interface RelayMemory {
  ids: Set<string>;
  rejected: Set<string>;
  state: RelayFetchState;
}

/** One relay: every filter in turn, paged. `kept` is shared by every relay; `ids` is what this relay held. */
async function readRelay(
  pool: RelayPool,
  url: string,
  filters: readonly Filter[],
  settings: Settings,
  kept: Map<string, NostrEvent>,
  ids: Set<string>,
): Promise<RelayFetchState> {
  const relay: RelayMemory = { ids, rejected: new Set(), state: { held: 0, rejected: 0 } };
  const connected = await waitConnected(pool, url, settings.timeoutMs);
  if (connected !== true) return { ...relay.state, failed: connected };
  for (const filter of filters) {
    const failed = await readFilter(pool, url, filter, settings, kept, relay);
    if (failed !== null) return { ...relay.state, failed };
  }
  return relay.state;
}

/** Pages through one filter on one relay; null when done, or why it stopped early. */
async function readFilter(
  pool: RelayPool,
  url: string,
  filter: Filter,
  settings: Settings,
  kept: Map<string, NostrEvent>,
  relay: RelayMemory,
): Promise<string | null> {
  const { limit: _limit, until: firstUntil, ...base } = filter;
  const wanted = base.ids ? new Set(base.ids) : null;
  /** The copies this filter's walk has seen: a page that brings none new has nothing more at its seconds. */
  const copies = new Set<string>();
  let until = firstUntil;
  let swept: number | null = null;
  // Each page either brings events this relay had not sent yet (at most maxEvents in all) or moves `until` strictly
  // back: a relay cannot keep the walk going for ever.
  const maxPages = 2 * Math.ceil(settings.maxEvents / settings.pageSize) + 4;
  for (let page = 0; page < maxPages; page++) {
    const asked: Filter = { ...base, limit: settings.pageSize, ...(until === undefined ? {} : { until }) };
    const answer = await fetchPage(pool, url, asked, settings.pageSize, settings);
    if (!answer.ok) return answer.reason;
    const taken = take(answer.events, base, settings, kept, relay, copies);
    if (typeof taken === 'string') return taken;
    if (taken.received === 0 || !Number.isFinite(taken.oldest)) return null;
    if (wanted && [...wanted].every((id) => relay.ids.has(id))) return null;
    if (taken.fresh === 0 && until !== undefined && taken.oldest > until)
      return `it ignores "until" (asked for events up to ${until}, it sent only later ones): the rest was not read`;
    const oneSecond = taken.oldest === taken.newest;
    if (oneSecond && (taken.fresh === 0 || taken.received >= settings.pageSize) && swept !== taken.oldest) {
      // A page that holds one second only, and more may share it: `until` cannot page inside a second, so that
      // second is asked alone, with a larger limit; then the walk goes on below it.
      swept = taken.oldest;
      const limit = Math.min(settings.maxEvents, settings.pageSize * 20);
      const second: Filter = { ...base, since: taken.oldest, until: taken.oldest, limit };
      const sweep = await fetchPage(pool, url, second, limit, settings);
      if (!sweep.ok) return sweep.reason;
      const more = take(sweep.events, base, settings, kept, relay, copies);
      if (typeof more === 'string') return more;
      until = taken.oldest - 1;
    } else {
      // Events that share the oldest second may not all have fitted: ask from that second again, unless this page
      // brought nothing new (then every event at or after it was sent).
      until = taken.fresh > 0 ? taken.oldest : taken.oldest - 1;
    }
    if (until < 0 || (base.since !== undefined && until < base.since)) return null;
  }
  return `more than ${maxPages} pages for one filter: the rest was not read`;
}

/** Checks and keeps one answer's events; what it brought, or why the fetch must stop (over maxEvents). */
function take(
  events: ReadonlyArray<{ raw: string; value: Record<string, unknown> }>,
  filter: Filter,
  settings: Settings,
  kept: Map<string, NostrEvent>,
  relay: RelayMemory,
  copies: Set<string>,
): { received: number; fresh: number; oldest: number; newest: number } | string {
  let fresh = 0;
  let oldest = Number.POSITIVE_INFINITY;
  let newest = Number.NEGATIVE_INFINITY;
  for (const raw of events) {
    const createdAt = raw.value.created_at;
    // Paging follows what the relay sent, genuine or not: a relay that serves forgeries only still pages through
    // them, and ends.
    if (typeof createdAt === 'number' && Number.isSafeInteger(createdAt)) {
      oldest = Math.min(oldest, createdAt);
      newest = Math.max(newest, createdAt);
    }
    // A copy is its id and signature as sent: new to this filter's walk, or not.
    const copy = `${String(raw.value.id).slice(0, 64)}:${String(raw.value.sig).slice(0, 128)}`;
    if (copies.has(copy)) continue;
    copies.add(copy);
    fresh += 1;
    const event = genuine(raw.raw, filter);
    if (event === null) {
      // Counted once per copy, however many filters or pages serve it again.
      if (!relay.rejected.has(copy)) {
        relay.rejected.add(copy);
        relay.state.rejected += 1;
      }
      continue;
    }
    if (relay.ids.has(event.id)) continue;
    if (!kept.has(event.id)) {
      if (kept.size >= settings.maxEvents)
        return `more than ${settings.maxEvents} events: the rest was not read`;
      kept.set(event.id, event);
    }
    relay.ids.add(event.id);
    relay.state.held += 1;
  }
  return { received: events.length, fresh, oldest, newest };
}

type Page = Awaited<ReturnType<RelayPool['fetch']>>;

async function fetchPage(
  pool: RelayPool,
  url: string,
  filter: Filter,
  limit: number,
  settings: Settings,
): Promise<Page> {
  let answer: Page = { relay: url, ok: false, reason: 'error: not asked' };
  for (let attempt = 1; attempt <= PAGE_ATTEMPTS; attempt++) {
    answer = await pool.fetch(url, [filter], { limit, timeoutMs: settings.timeoutMs });
    if (answer.ok) return answer;
    if (attempt < PAGE_ATTEMPTS && (await waitConnected(pool, url, settings.timeoutMs)) !== true) break;
  }
  return answer;
}

/** The event, when the relay's copy is genuine (strict JSON and shape, id, signature) and matches the filter. */
function genuine(raw: string, filter: Filter): NostrEvent | null {
  const parsed = parseEventJson(raw);
  if (!parsed.ok || !verifyEvent(parsed.event).ok) return null;
  return matchFilter(filter, parsed.event) ? parsed.event : null;
}

/** True once the relay is connected, or why it is not within `timeoutMs`. */
function waitConnected(pool: RelayPool, url: string, timeoutMs: number): Promise<true | string> {
  const status = () => pool.status().find((relay) => relay.url === url);
  if (status()?.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (result: true | string) => {
      clearTimeout(timer);
      unwatch();
      resolve(result);
    };
    const timer = setTimeout(() => {
      const error = status()?.lastError;
      done(`not connected within ${timeoutMs} ms${error ? ` (${error})` : ''}`);
    }, timeoutMs);
    const unwatch = pool.watch(() => {
      if (status()?.connected) done(true);
    });
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
