// Intake step 3: the id is recomputed from the event's fields and the signature checked against it, for
// every event, whatever relay it came from (NDK samples signatures per relay; nostr-tools' pool records ids
// before verifying). Only after this may anything be recorded about the event, including "seen".
import { getEventHash, verifyEvent as verifySignature } from 'nostr-tools/pure';
import { LIMITS } from './constants.ts';
import { type IntakeFailure, intakeFailure } from './reasons.ts';
import type { NostrEvent } from './schemas.ts';

export function verifyEvent(event: NostrEvent): { ok: true } | IntakeFailure {
  // A fresh object: nostr-tools caches its verdict on the object under a symbol, and a cached `true` on an
  // object mutated since would be a lie.
  const { id, pubkey, created_at, kind, tags, content, sig } = event;
  const fresh = { id, pubkey, created_at, kind, tags, content, sig };
  if (getEventHash(fresh) !== id) return intakeFailure('BadId', 'event id is not the hash of its content');
  if (!verifySignature(fresh)) return intakeFailure('BadSignature', 'signature does not match the pubkey');
  return { ok: true };
}

/**
 * Intake step 7: refuse events dated too far in the future (a post-dated action could otherwise be held
 * back and replayed later as if new). Old events are fine: catch-up after downtime reads them. Deadlines are
 * judged by the agent's clock when it handles the event, never by created_at, which the author chooses.
 */
export function checkFreshness(
  event: Pick<NostrEvent, 'created_at'>,
  now: number,
  skewSeconds: number = LIMITS.futureSkewSeconds,
): { ok: true } | IntakeFailure {
  if (event.created_at <= now + skewSeconds) return { ok: true };
  return intakeFailure('FutureTimestamp', `created_at is more than ${skewSeconds} s in the future`);
}
