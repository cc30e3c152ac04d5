// Which relays `escrow-agent task` talks to. Given with --relay (repeatable): those, for everything. Otherwise the
// agent's own relay list (NIP-65 kind 10002, docs/protocol.md §3), read from the configured relays: a person's
// events go to the relays the agent reads (`read`, or no marker), and its answers are read from the relays it writes
// to (`write`, or no marker). When no relay holds its list, the configured relays serve for both. Reads are
// fetchAll's (verified, bounded); only a list signed by the agent's key counts.
import { loadRelayList, RelayListError } from '../../agent/relay-list.ts';
import { normalizeRelayUrl } from '../../nostr/relay-url.ts';
import { KINDS } from '../../protocol/constants.ts';
import type { NostrEvent } from '../../protocol/schemas.ts';
import { CliError } from '../cli-error.ts';
import type { AgentConfig } from '../output.ts';
import { fetchAll } from '../relay-fetch.ts';
import type { AgentRef } from './identity.ts';

export interface ClientRelays {
  /** Where the person's events are published: the relays the agent reads. */
  publish: string[];
  /** Where the agent's answers and transitions are read: the relays it writes to. */
  read: string[];
  /** How they were found: `given with --relay`, `the agent's relay list (NIP-65)`, or the configuration. */
  source: string;
  notes: string[];
}

/** Most relays taken from the agent's list, per side. */
const MAX_LISTED = 20;

export async function resolveRelays(
  what: string,
  config: AgentConfig,
  given: readonly string[],
  agent: AgentRef,
  timeoutMs: number,
): Promise<ClientRelays> {
  if (given.length > 0) {
    return { publish: [...given], read: [...given], source: 'given with --relay', notes: [] };
  }
  let configured: string[];
  let listSource: string;
  try {
    const list = loadRelayList({ file: config.relaysFile, urls: config.relays });
    configured = list.relays.map((relay) => relay.url);
    listSource = list.source;
  } catch (error) {
    if (error instanceof RelayListError) {
      throw new CliError(
        `${what}: no relay to use: give --relay URL (repeatable); the configured relay list cannot be used: ${error.problems.join('; ')}`,
      );
    }
    throw error;
  }
  const fetched = await fetchAll(configured, [{ kinds: [KINDS.relayList], authors: [agent.pubkey] }], {
    timeoutMs,
    pageSize: 50,
    maxEvents: 200,
  });
  const answered = [...fetched.perRelay.values()].some((state) => state.failed === undefined);
  if (!answered) {
    throw new CliError(
      `${what}: none of the configured relays (${listSource}) answered: ${[...fetched.perRelay.entries()].map(([url, state]) => `${url} (${state.failed})`).join(', ')}; give a relay that is up with --relay URL`,
    );
  }
  const notes: string[] = [];
  const list = newestList(fetched.events, agent.pubkey);
  const fallback = `the configured relays (${listSource})`;
  if (!list) {
    notes.push(`no configured relay holds the agent's relay list (NIP-65): using ${fallback}`);
    return { publish: configured, read: configured, source: fallback, notes };
  }
  const { reads, writes } = listedRelays(list, notes);
  const publish = reads.slice(0, MAX_LISTED);
  const read = writes.slice(0, MAX_LISTED);
  if (reads.length > MAX_LISTED || writes.length > MAX_LISTED)
    notes.push(
      `the agent's relay list names more than ${MAX_LISTED} relays on a side: the first ${MAX_LISTED} are used`,
    );
  if (publish.length === 0)
    notes.push(`the agent's relay list names no relay it reads: publishing to ${fallback}`);
  if (read.length === 0)
    notes.push(`the agent's relay list names no relay it writes to: reading ${fallback}`);
  return {
    publish: publish.length > 0 ? publish : configured,
    read: read.length > 0 ? read : configured,
    source: "the agent's relay list (NIP-65)",
    notes,
  };
}

/** The newest kind 10002 event by the agent (a replaceable event: the newest counts). */
function newestList(events: readonly NostrEvent[], agent: string): NostrEvent | null {
  let best: NostrEvent | null = null;
  for (const event of events) {
    if (event.pubkey !== agent || event.kind !== KINDS.relayList) continue;
    if (
      !best ||
      event.created_at > best.created_at ||
      (event.created_at === best.created_at && event.id < best.id)
    )
      best = event;
  }
  return best;
}

/** NIP-65: `["r", url]` is read and write, `["r", url, "read" | "write"]` one of them. */
function listedRelays(list: NostrEvent, notes: string[]): { reads: string[]; writes: string[] } {
  const reads: string[] = [];
  const writes: string[] = [];
  for (const tag of list.tags) {
    if (tag[0] !== 'r' || typeof tag[1] !== 'string') continue;
    const marker = tag[2];
    if (marker !== undefined && marker !== 'read' && marker !== 'write') continue;
    let url: string;
    try {
      url = normalizeRelayUrl(tag[1]);
    } catch (error) {
      notes.push(
        `the agent's relay list names ${JSON.stringify(tag[1].slice(0, 80))}, which ${(error as Error).message}: not used`,
      );
      continue;
    }
    if (marker !== 'write' && !reads.includes(url)) reads.push(url);
    if (marker !== 'read' && !writes.includes(url)) writes.push(url);
  }
  return { reads, writes };
}

/** A --relay value, normalised; CliError (exit 2) for one that is not a relay URL. */
export function relayOption(what: string, url: string): string {
  try {
    return normalizeRelayUrl(url);
  } catch (error) {
    throw new CliError(
      `${what}: --relay ${JSON.stringify(url.slice(0, 80))} ${(error as Error).message}: give a relay's ws:// or wss:// URL`,
    );
  }
}
