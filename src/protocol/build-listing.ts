// A task listing as a poster publishes it (docs/protocol.md, "Task listing"): a NIP-99 kind 30402 classified
// that tags the agent. The template is checked against the schema the agent parses with, so a listing built here
// is never refused for its shape (the agent's policy may still refuse its amount or windows).
import type { EventTemplate } from 'nostr-tools/pure';
import type { Hex32 } from '../domain/types.ts';
import { utf8ByteLength } from './bytes.ts';
import { KINDS, LIMITS, type WindowName } from './constants.ts';
import { ProtocolInputError } from './protocol-input-error.ts';
import { listingSchema, parseLabelled } from './schemas.ts';

const SIGNED_FIELDS_BYTES = 285;

export interface ListingInput {
  /** The NIP-99 `d` identifier: one open task per address (poster, kind, d). */
  d: string;
  title: string;
  summary?: string;
  /** The task amount the poster will pay into the hold, in msat (the worker gets it less the agent's fee). */
  amountMsat: bigint;
  /** The agent's pubkey (hex). */
  agent: Hex32;
  /** Windows in seconds that differ from the agent's policy, in the order they should appear. */
  windows?: Partial<Record<WindowName, number>>;
  /** Arbitrators from the agent's announced set to decide a dispute (absent: all of them). */
  arbitrators?: Hex32[];
  /** How many of them must agree (absent: 1). */
  threshold?: number;
  /** More NIP-99 `t` topics besides "escrow". */
  topics?: string[];
  /** The description (markdown). */
  content: string;
  createdAt: number;
}

/** The unsigned listing, checked as the agent will read it; throws ProtocolInputError if it is not valid. */
export function buildListing(input: ListingInput): EventTemplate {
  const template: EventTemplate = {
    kind: KINDS.listing,
    created_at: input.createdAt,
    tags: [
      ['d', input.d],
      ['title', input.title],
      ...(input.summary !== undefined ? [['summary', input.summary]] : []),
      ['price', priceInSats(input.amountMsat), 'SAT'],
      ['amount', input.amountMsat.toString()],
      ['p', input.agent],
      ['t', 'escrow'],
      ...(input.topics ?? []).map((topic) => ['t', topic]),
      ...Object.entries(input.windows ?? {}).map(([name, seconds]) => ['window', name, String(seconds)]),
      ...(input.arbitrators ?? []).map((pubkey) => ['p', pubkey, '', 'arbitrator']),
      ...(input.threshold !== undefined ? [['threshold', String(input.threshold)]] : []),
    ],
    content: input.content,
  };
  const checked = parseLabelled(listingSchema, template);
  if (!checked.ok) throw new ProtocolInputError(`listing: ${checked.text}`);
  // Signing adds "id", "pubkey" and "sig" (285 bytes of JSON); the agent refuses a signed listing over the limit.
  if (utf8ByteLength(JSON.stringify(template)) + SIGNED_FIELDS_BYTES > LIMITS.listingBytes) {
    throw new ProtocolInputError(`listing: must be at most ${LIMITS.listingBytes} bytes once signed`);
  }
  return template;
}

/** NIP-99's display price: the amount in sats, with up to three decimals for msat amounts. */
export function priceInSats(amountMsat: bigint): string {
  const sats = amountMsat / 1000n;
  const rest = amountMsat % 1000n;
  if (rest === 0n) return sats.toString();
  return `${sats}.${rest.toString().padStart(3, '0').replace(/0+$/, '')}`;
}
