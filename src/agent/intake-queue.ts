// The order in which inbound events reach the intake: one at a time (the store serialises writers anyway), in two
// lanes. Actions (kind 1985 labels: claims, approvals, cancels, verdicts) go before new listings, so a burst of
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

/**
 * `ahead` is told of each event that has to wait (something is being handled already): it may start work for it
 * (preverify.ts checks its signature on another core) and returns what undoes that once the event was handled.
 */
export function createIntakeQueue(
  handle: (event: unknown, relay: string) => Promise<void>,
  options: { ahead?: (peeked: Peeked) => () => void } = {},
): IntakeQueue {
  const actions: Waiting[] = [];
  const listings: Waiting[] = [];
  /** Ids of listings waiting in their lane (a count: the same listing may come from several relays). */
  const listingsWaiting = new Map<string, number>();
  let working = false;

  async function work() {
    if (working) return;
    working = true;
    try {
      for (;;) {
        const next = actions.shift() ?? listings.shift();
        if (next === undefined) return;
        if (next.listingId !== null) {
          const left = (listingsWaiting.get(next.listingId) ?? 1) - 1;
          if (left > 0) listingsWaiting.set(next.listingId, left);
          else listingsWaiting.delete(next.listingId);
        }
        try {
          await handle(next.event, next.relay);
        } catch {
          // `handle` reports its own failures; one event's failure never stops the ones behind it.
        }
        next.forget();
        next.done();
      }
    } finally {
      working = false;
    }
  }

  return {
    push(event, relay) {
      return new Promise<void>((resolve) => {
        const peeked = peekEvent(event);
        const forget = working && options.ahead ? options.ahead(peeked) : nothing;
        const isAction = peeked.kind === KINDS.label && !peeked.refs.some((ref) => listingsWaiting.has(ref));
        if (isAction) {
          actions.push({ event, relay, listingId: null, done: resolve, forget });
        } else {
          const listingId = peeked.kind === KINDS.listing ? peeked.id : null;
          if (listingId !== null) listingsWaiting.set(listingId, (listingsWaiting.get(listingId) ?? 0) + 1);
          listings.push({ event, relay, listingId, done: resolve, forget });
        }
        void work();
      });
    },
    waiting: () => ({ actions: actions.length, listings: listings.length }),
  };
}
