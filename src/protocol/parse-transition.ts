// Reads one of the agent's transitions back into a typed value: for verifiers, the agent's own catch-up and
// rebuild-from-relays, and for buildTransition's self-check.

import { TRANSITION_STATES, type TransitionState } from './constants.ts';
import { readLabel } from './read-label.ts';
import { type NostrEvent, parseLabelled } from './schemas.ts';
import { transitionSchemas } from './transition-schemas.ts';
import type { Transition } from './transition-types.ts';

export type ParsedTransition = Transition & { eventId: string; createdAt: number };
export type ParseTransitionResult =
  | { ok: true; transition: ParsedTransition }
  | { ok: false; reason: string };

export interface ParseTransitionOptions {
  /** When given, a transition signed by anyone else is refused (anyone can publish a look-alike label). */
  agentPubkey?: string;
}

/** `event` must have passed verifyEvent (or be the agent's own): this checks meaning, not signatures. */
export function parseTransition(
  event: NostrEvent,
  options: ParseTransitionOptions = {},
): ParseTransitionResult {
  if (options.agentPubkey !== undefined && event.pubkey !== options.agentPubkey) {
    return { ok: false, reason: 'invalid: transition is not signed by the agent' };
  }
  const parsed = parseTransitionContent(event);
  return parsed.ok
    ? { ok: true, transition: { ...parsed.transition, eventId: event.id, createdAt: event.created_at } }
    : parsed;
}

/** The label, tags and content only (no id, author or signature): also used on unsigned templates. */
export function parseTransitionContent(
  event: Pick<NostrEvent, 'kind' | 'tags' | 'content'>,
): { ok: true; transition: Transition } | { ok: false; reason: string } {
  const label = readLabel(event);
  if (!label.ok) return { ok: false, reason: `invalid: ${label.text}` };
  if (!isTransitionState(label.label)) {
    return { ok: false, reason: `invalid: "${label.label}" is not a transition label` };
  }
  const parsed = parseLabelled(transitionSchemas[label.label], event);
  return parsed.ok
    ? { ok: true, transition: parsed.value }
    : { ok: false, reason: `invalid: ${parsed.text}` };
}

export function isTransitionState(value: string): value is TransitionState {
  return (TRANSITION_STATES as readonly string[]).includes(value);
}
