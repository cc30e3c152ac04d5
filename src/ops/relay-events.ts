// One write relay's copy of the agent's events against the outbox (verify-events, outbox republish). The relay is
// asked for every event the agent's key signed since a time; the outbox gives every event the relay said OK to
// since then. Each outbox event is then present (the relay returned it) or missing, and each relay event the outbox
// never held is unknown: signed with the agent's key by something that is not this agent (its key is in other
// hands). Not expected back, as in the agent's read-back (src/agent/jobs/read-back.ts): an older version of a
// replaceable event (a profile, the announcement, a reputation) that a newer one the agent sent replaced, an event
// past its NIP-40 expiration, and gift-wrapped private notices (signed by a one-time key, not the agent's).
import { normalizeRelayUrl } from '../agent/relay-list.ts';
import type { NostrEvent } from '../protocol/schemas.ts';
import type { OutboxEntry, SignedEvent } from '../store/index.ts';
import { type OpsDeps, OpsInputError } from './ops-deps.ts';

export interface RelayComparison {
  relay: string;
  /** The relay could not be read in full: nothing is known of it (the other fields are empty). */
  failed: string | null;
  /** Outbox events the relay said OK to, since then, that it should still return. */
  expected: number;
  present: number;
  missing: OutboxEntry[];
  /** Signed with the agent's key, held by the relay, never in the outbox. */
  unknown: NostrEvent[];
  /** Older versions of replaceable events, replaced by a newer one the agent sent (not expected back). */
  replaced: number;
  /** Relay events the outbox holds but has not recorded as delivered there (sent through another way). */
  elsewhere: number;
}

/** The agent's key, from the running agent or the stopped one's folder. */
export function agentPubkey(deps: OpsDeps): string {
  const identity = deps.running?.ctx.identity ?? deps.stopped?.identity;
  if (!identity) throw new Error('no agent key (neither a running agent nor a stopped one)');
  return identity.pubkey;
}

/** The write relays to look at: all of them, or the one `--relay` names (it must be one of them). */
export function relaysToCheck(command: string, deps: OpsDeps, relay: string | null): string[] {
  const write = deps.running?.ctx.writeRelays() ?? deps.stopped?.writeRelays ?? [];
  if (relay === null) return write;
  let wanted: string;
  try {
    wanted = normalizeRelayUrl(relay);
  } catch (error) {
    throw new OpsInputError(`${command}: --relay ${relay} is not a relay URL (${(error as Error).message})`);
  }
  const found = write.find((one) => {
    try {
      return normalizeRelayUrl(one) === wanted;
    } catch {
      return false;
    }
  });
  if (!found) {
    throw new OpsInputError(
      `${command}: --relay ${relay} is not one of the agent's write relays (${write.join(', ') || 'none'}): give one of them, or leave --relay out for all`,
    );
  }
  return [found];
}

export async function compareRelay(
  deps: OpsDeps,
  relay: string,
  pubkey: string,
  since: number | null,
): Promise<RelayComparison> {
  const now = deps.now();
  const sent = await sentSince(deps, relay, since);
  const own = sent.filter((entry) => entry.event.pubkey === pubkey && expectedBack(entry.event, now));
  // Replaceable events: only the newest version of each address the relay took is expected back.
  const newest = new Map<string, SignedEvent>();
  for (const entry of own) {
    const address = addressOf(entry.event);
    if (address === null) continue;
    const seen = newest.get(address);
    if (!seen || newer(entry.event, seen)) newest.set(address, entry.event);
  }
  const expected = own.filter((entry) => {
    const address = addressOf(entry.event);
    return address === null || newest.get(address)?.id === entry.eventId;
  });
  const replaced = own.length - expected.length;

  const read = await deps.readRelay(relay, { authors: [pubkey], ...(since !== null ? { since } : {}) });
  if (!read.ok) {
    return {
      relay,
      failed: read.reason,
      expected: 0,
      present: 0,
      missing: [],
      unknown: [],
      replaced,
      elsewhere: 0,
    };
  }
  const held = new Map(read.events.map((event) => [event.id, event]));
  /** The newest version of each replaceable address the relay returned. */
  const relayNewest = new Map<string, NostrEvent>();
  for (const event of read.events) {
    const address = addressOf(event);
    if (address === null) continue;
    const seen = relayNewest.get(address);
    if (!seen || newer(event, seen)) relayNewest.set(address, event);
  }
  const sentIds = new Set(sent.map((entry) => entry.eventId));
  const strangers = read.events.filter((event) => !sentIds.has(event.id));
  const known = await deps.store.read(async (reader) => {
    const ids = new Set<string>();
    for (const event of strangers) if (await reader.outbox.event(event.id)) ids.add(event.id);
    return ids;
  });
  const ours = (event: NostrEvent) => sentIds.has(event.id) || known.has(event.id);
  const unknown = strangers.filter((event) => !known.has(event.id));
  const missing: OutboxEntry[] = [];
  let present = 0;
  let replacedThere = 0;
  for (const entry of expected) {
    if (held.has(entry.eventId)) present += 1;
    else {
      // A newer version the agent signed replaced it there (sent through another way, or queued after `since`).
      const address = addressOf(entry.event);
      const there = address === null ? undefined : relayNewest.get(address);
      if (there && ours(there) && newer(there, entry.event)) replacedThere += 1;
      else missing.push(entry);
    }
  }
  return {
    relay,
    failed: null,
    expected: expected.length - replacedThere,
    present,
    missing,
    unknown,
    replaced: replaced + replacedThere,
    elsewhere: strangers.length - unknown.length,
  };
}

/**
 * The outbox events the relay said OK to whose created_at is at or after `since` (all of them when null), newest
 * first. The outbox is read newest queued first, in growing pages, until a page reaches an hour before `since`
 * (a transition may be dated a little after it was queued).
 */
async function sentSince(deps: OpsDeps, relay: string, since: number | null): Promise<OutboxEntry[]> {
  let limit = 1000;
  for (;;) {
    const entries = await deps.store.read((reader) => reader.outbox.sentTo(relay, limit));
    const oldest = entries.at(-1);
    const reachedSince = since !== null && oldest !== undefined && oldest.event.created_at < since - 3600;
    if (entries.length < limit || reachedSince) {
      return since === null ? entries : entries.filter((entry) => entry.event.created_at >= since);
    }
    limit *= 4;
  }
}

const GIFT_WRAP_KIND = 1059;

/** Whether a relay that took the event should still return it (not ephemeral, not expired, not a gift wrap). */
function expectedBack(event: SignedEvent, now: number): boolean {
  if (event.kind >= 20_000 && event.kind < 30_000) return false;
  if (event.kind === GIFT_WRAP_KIND) return false;
  const expiration = event.tags.find((tag) => tag[0] === 'expiration')?.[1];
  return expiration === undefined || !(Number(expiration) <= now + 60);
}

/** A replaceable event's address (kind, and d for addressable kinds); null for a regular event. */
function addressOf(event: { kind: number; tags: string[][] }): string | null {
  const { kind } = event;
  if (kind === 0 || kind === 3 || (kind >= 10_000 && kind < 20_000)) return `${kind}`;
  if (kind >= 30_000 && kind < 40_000)
    return `${kind}:${event.tags.find((tag) => tag[0] === 'd')?.[1] ?? ''}`;
  return null;
}

/** NIP-01: the later created_at wins; on a tie, the lower id. */
function newer(a: { created_at: number; id: string }, b: { created_at: number; id: string }): boolean {
  return a.created_at > b.created_at || (a.created_at === b.created_at && a.id < b.id);
}

/** Pending deliveries per relay (the republished ones waiting for the publisher, and any other). */
export async function pendingAt(deps: OpsDeps, relays: readonly string[]): Promise<Map<string, number>> {
  const due = await deps.store.read((reader) => reader.outbox.due(Number.MAX_SAFE_INTEGER, 100_000));
  const counts = new Map(relays.map((relay) => [relay, 0]));
  for (const delivery of due) {
    const count = counts.get(delivery.relay);
    if (count !== undefined) counts.set(delivery.relay, count + 1);
  }
  return counts;
}
