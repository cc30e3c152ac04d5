// What became of one inbound event: handled, refused (and answered), or dropped (not answered).
import type { IntakeReasonCode } from '../protocol/reasons.ts';

/** Codes of our own making, never published: the event was not handled and a later catch-up retries it. */
export type InternalDropCode = 'HandlerFailed';

/**
 * Dropped on sight, never answered nor counted as a refusal: an event claiming the agent's own pubkey (an echo of
 * what it published, or a forgery of one) is not input.
 */
export type IgnoredCode = 'OwnEvent';

export type IntakeOutcome =
  | { status: 'handled' }
  | { status: 'refused'; code: string; reason: string }
  | { status: 'dropped'; code: IntakeReasonCode | InternalDropCode | IgnoredCode; reason: string };
