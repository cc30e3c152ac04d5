// A verified NIP-99 listing that tags the agent -> the domain's `post` command (docs/protocol.md, "Task").
import type { Command, Hex32, Windows } from '../domain/types.ts';
import { utf8ByteLength } from './bytes.ts';
import { KINDS, LIMITS, WINDOW_FIELDS } from './constants.ts';
import { type IntakeFailure, intakeFailure } from './reasons.ts';
import { listingSchema, type NostrEvent, parseLabelled } from './schemas.ts';

export interface ParsedListing {
  /** The listing's event id: the task id. A later edit of the listing is another event, not this task. */
  taskId: Hex32;
  /** NIP-01 address `30402:<poster>:<d>`: the same for every version of the listing. */
  address: string;
  command: Extract<Command, { type: 'post' }>;
}

export type ParseListingResult = { ok: true; listing: ParsedListing } | IntakeFailure;

/** `event` must have passed verifyEvent. NotForThisAgent failures must not be answered. */
export function parseTaskListing(event: NostrEvent, options: { agentPubkey: Hex32 }): ParseListingResult {
  if (event.kind !== KINDS.listing)
    return intakeFailure('MalformedListing', `kind ${event.kind} is not a listing (30402)`);
  if (!event.tags.some((tag) => tag[0] === 'p' && tag[1] === options.agentPubkey)) {
    return intakeFailure('NotForThisAgent', 'the listing does not tag this agent');
  }
  // The offer embeds the listing whole, so it must leave room in one event for the rest of the offer.
  if (utf8ByteLength(JSON.stringify(event)) > LIMITS.listingBytes) {
    return intakeFailure('MalformedListing', `listing is larger than ${LIMITS.listingBytes} bytes`);
  }
  const parsed = parseLabelled(listingSchema, event);
  if (!parsed.ok) return intakeFailure('MalformedListing', parsed.text);
  const { tags } = parsed.value;
  const windows: Partial<Windows> = {};
  for (const [, name, seconds] of tags.window) windows[WINDOW_FIELDS[name]] = seconds;
  const command: ParsedListing['command'] = {
    type: 'post',
    taskId: event.id,
    by: event.pubkey,
    amountMsat: tags.amount,
    title: tags.title,
  };
  if (tags.window.length > 0) command.windows = windows;
  if (tags['p:arbitrator'].length > 0) command.arbitrators = tags['p:arbitrator'];
  if (tags.threshold !== undefined) command.threshold = tags.threshold;
  return {
    ok: true,
    listing: { taskId: event.id, address: `${KINDS.listing}:${event.pubkey}:${tags.d}`, command },
  };
}

/** The `d` of a listing address `30402:<poster>:<d>` (a `d` may itself contain colons). */
export function dOfAddress(address: string): string {
  return address.slice(address.indexOf(':', address.indexOf(':') + 1) + 1);
}
