// The order in which inbound events reach the intake, in two lanes, up to `concurrency` at once (events about the
// same task one at a time, in order). Actions (kind 1985 labels: claims, approvals, cancels, verdicts) go before new listings, so a burst of
// listings (each a hold invoice to create and a transaction to commit) never keeps an approval waiting behind it.
// The lane is read from the raw text before anything is verified: it is only a hint of order, never trusted for
// anything else (a forged "action" is still dropped by the intake at its signature, as before). An action that
// names a listing still waiting in the listing lane waits behind it, so a quick cancel is not refused as a task
// the agent has not seen yet. Memory: what waits here was handed over by the relay pool, whose per-relay budget
// (maxBufferedBytes, counting what the intake has not finished) bounds it.
import { KINDS } from '../protocol/constants.ts';

/** What the raw text says the event is, before anything is checked (hints only). */
export interface Peeked {
  kind: number | null;
  id: string | null;
  pubkey: string | null;
  sig: string | null;
  refs: string[];
}

/** Which lane an event waited in: actions (kind 1985 labels) or listings (and anything else). */
export type IntakeLane = 'action' | 'listing';

export interface IntakeQueue {
  /** Resolves once the event went through the intake (or failed there: `handle` reports its own errors). */
  push(event: unknown, relay: string): Promise<void>;
  /** How many events wait in each lane (for the bench and tests). */
  waiting(): { actions: number; listings: number };
}

interface Waiting {
  event: unknown;
  relay: string;
  listingId: string | null;
  lane: IntakeLane;
  /** What the event names (its id, the ids its e tags name): events sharing one never overlap. */
  keys: string[];
  done: () => void;
  /** Undoes what `ahead` started for this event, once it was handled. */
  forget: () => void;
}

// The raw text of an event: the first unescaped "kind" and "id" members are the event's own (a string inside the
// content or a tag has its quotes escaped, and tags are arrays, so `"id":` cannot appear in them).
const KIND = /"kind"\s*:\s*(\d{1,10})/;
const ID = /"id"\s*:\s*"([0-9a-f]{64})"/;
const PUBKEY = /"pubkey"\s*:\s*"([0-9a-f]{64})"/;
const SIG = /"sig"\s*:\s*"([0-9a-f]{128})"/;
const E_TAG = /\[\s*"e"\s*,\s*"([0-9a-f]{64})"/g;

/** What the raw text says the event is (a hint): its kind, id, author, signature, and the ids its e tags name. */
export function peekEvent(event: unknown): Peeked {
  if (typeof event !== 'string') {
    const object = event as Record<string, unknown> | null;
    const tags = Array.isArray(object?.tags) ? (object.tags as unknown[]) : [];
    const hex = (value: unknown, pattern: RegExp) =>
      typeof value === 'string' && pattern.test(value) ? value : null;
    return {
      kind: typeof object?.kind === 'number' ? object.kind : null,
      id: hex(object?.id, /^[0-9a-f]{64}$/),
      pubkey: hex(object?.pubkey, /^[0-9a-f]{64}$/),
      sig: hex(object?.sig, /^[0-9a-f]{128}$/),
      refs: tags
        .filter((tag): tag is string[] => Array.isArray(tag) && tag[0] === 'e' && typeof tag[1] === 'string')
        .map((tag) => tag[1] as string),
    };
  }
  const kind = KIND.exec(event);
  return {
    kind: kind ? Number(kind[1]) : null,
    id: ID.exec(event)?.[1] ?? null,
    pubkey: PUBKEY.exec(event)?.[1] ?? null,
    sig: SIG.exec(event)?.[1] ?? null,
    refs: [...event.matchAll(E_TAG)].map((match) => match[1] as string),
  };
}

const nothing = () => {};

/** How far into each lane the queue looks for an event it may start (the rest waits its turn). */
const LOOK_AHEAD = 64;
/**
 * The e tags of an event that count for its order (its first ones; an action names its task in one of its first
 * few). Bounds what choosing the next event costs: at most LOOK_AHEAD x (1 + MAX_REFS) keys looked at, however many
 * e tags a hostile relay's events carry.
 */
const MAX_REFS = 16;

/**
 * `ahead` is told of each event that has to wait (something is being handled already): it may start work for it
 * (preverify.ts checks its signature on another core) and returns what undoes that once the event was handled.
 *
 * `concurrency`: how many events may be in the intake at once (1: strictly one at a time). Events that name the
 * same thing never overlap, and keep their order: the same id (copies from several relays), a listing and the
 * actions that name it, two actions on the same task. So each task still sees its events one at a time, in order;
 * only events about different tasks overlap, and their store writes then share a COMMIT (group commit on SQLite).
 */
export function createIntakeQueue(
  handle: (event: unknown, relay: string, lane: IntakeLane) => Promise<void>,
  options: { ahead?: (peeked: Peeked) => () => void; concurrency?: number } = {},
): IntakeQueue {
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const actions: Waiting[] = [];
  const listings: Waiting[] = [];
  /** Ids of listings waiting in their lane (a count: the same listing may come from several relays). */
  const listingsWaiting = new Map<string, number>();
  /** What the events in the intake name (ids, listing ids, e tags), counted. */
  const busy = new Map<string, number>();
  let running = 0;

  const isFree = (keys: string[], passed: Set<string>) =>
    keys.every((key) => !busy.has(key) && !passed.has(key));

  /** The first event of a lane (within LOOK_AHEAD) that names nothing in the intake or ahead of it in its lane. */
  function takeFrom(lane: Waiting[]): Waiting | undefined {
    const passed = new Set<string>();
    const end = Math.min(lane.length, LOOK_AHEAD);
    for (let index = 0; index < end; index++) {
      const candidate = lane[index] as Waiting;
      if (isFree(candidate.keys, passed)) {
        lane.splice(index, 1);
        return candidate;
      }
      for (const key of candidate.keys) passed.add(key);
    }
    return undefined;
  }

  function pump() {
    while (running < concurrency) {
      const next = takeFrom(actions) ?? takeFrom(listings);
      if (next === undefined) return;
      if (next.listingId !== null) {
        const left = (listingsWaiting.get(next.listingId) ?? 1) - 1;
        if (left > 0) listingsWaiting.set(next.listingId, left);
        else listingsWaiting.delete(next.listingId);
      }
      running += 1;
      for (const key of next.keys) busy.set(key, (busy.get(key) ?? 0) + 1);
      void run(next);
    }
  }

  async function run(next: Waiting) {
    try {
      await handle(next.event, next.relay, next.lane);
    } catch {
      // `handle` reports its own failures; one event's failure never stops the ones behind it.
    }
    for (const key of next.keys) {
      const left = (busy.get(key) ?? 1) - 1;
      if (left > 0) busy.set(key, left);
      else busy.delete(key);
    }
    running -= 1;
    next.forget();
    next.done();
    pump();
  }

  return {
    push(event, relay) {
      return new Promise<void>((resolve) => {
        const peeked = peekEvent(event);
        const forget = running > 0 && options.ahead ? options.ahead(peeked) : nothing;
        const keys = [
          ...new Set([...(peeked.id === null ? [] : [peeked.id]), ...peeked.refs.slice(0, MAX_REFS)]),
        ];
        const isAction = peeked.kind === KINDS.label && !peeked.refs.some((ref) => listingsWaiting.has(ref));
        if (isAction) {
          actions.push({ event, relay, listingId: null, lane: 'action', keys, done: resolve, forget });
        } else {
          const listingId = peeked.kind === KINDS.listing ? peeked.id : null;
          if (listingId !== null) listingsWaiting.set(listingId, (listingsWaiting.get(listingId) ?? 0) + 1);
          listings.push({ event, relay, listingId, lane: 'listing', keys, done: resolve, forget });
        }
        pump();
      });
    },
    waiting: () => ({ actions: actions.length, listings: listings.length }),
  };
}
