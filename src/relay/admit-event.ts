// What the relay does with a published event, in this order (pinned by test/relay/conformance.test.ts):
//   1. shape            done before, by @nostr-relay/validator, on the raw message
//   2. kind             0..65535 (NIP-01)
//   3. id               recomputed from the content (NIP-01)
//   4. signature        Schnorr over the id (NIP-01)
//   5. expiration       already expired events are dropped (NIP-40)
//   6. ephemeral        delivered to live subscribers, never stored
//   7. duplicate        only now, after verification: a forged copy must neither be acknowledged as a duplicate
//                       nor block the genuine event
//   8. deleted          an event its author already asked to delete stays deleted (NIP-09)
//   9. store            replaceable / addressable slots keep the newest version; kind 5 is stored and applied
//  10. deliver          to live subscriptions whose filters match
// There is no per-id answer cache (the stock relay kept one for ten minutes: a forged copy sent first made the
// genuine event answer `OK false` for that long).
import type { Event } from '@nostr-relay/common';
import { getEventHash } from 'nostr-tools/pure';
import { verifySchnorr } from '../crypto/schnorr.ts';
import { isExpired, kindClass, MAX_KIND } from './event-kinds.ts';
import type { SqliteEventStore } from './sqlite-event-store.ts';

export interface Admission {
  /** The OK message's third element. */
  accepted: boolean;
  /** The OK message's fourth element: empty, or a NIP-01 prefix, a colon and a reason. */
  message: string;
  /** Whether live subscribers should receive the event. */
  deliver: boolean;
}

const refuse = (message: string): Admission => ({ accepted: false, message, deliver: false });

function idMatches(event: Event): boolean {
  try {
    return getEventHash(event) === event.id;
  } catch {
    return false;
  }
}

export function admitEvent(store: SqliteEventStore, event: Event, now: number): Admission {
  if (!Number.isInteger(event.kind) || event.kind < 0 || event.kind > MAX_KIND) {
    return refuse(`invalid: kind must be an integer from 0 to ${MAX_KIND}`);
  }
  if (!idMatches(event)) return refuse('invalid: event id does not match the event');
  // libsecp256k1 in WebAssembly (src/crypto/schnorr.ts), about 7 times the stock relay's @noble/curves in JS: the
  // embedded relay shares the agent's thread, and a publish costs the agent what its check costs.
  if (!verifySchnorr(event.sig, event.id, event.pubkey))
    return refuse('invalid: signature does not match the id and pubkey');
  if (isExpired(event, now)) return refuse('invalid: event is expired');
  if (kindClass(event.kind) === 'ephemeral') return { accepted: true, message: '', deliver: true };
  if (store.has(event.id))
    return { accepted: true, message: 'duplicate: already have this event', deliver: false };
  if (store.isDeletedByAuthor(event)) return refuse('blocked: this event was deleted by its author');
  switch (store.insert(event)) {
    case 'stored':
      return { accepted: true, message: '', deliver: true };
    case 'duplicate':
      return { accepted: true, message: 'duplicate: already have this event', deliver: false };
    case 'superseded':
      return {
        accepted: true,
        message: 'duplicate: a newer version of this replaceable event is already stored',
        deliver: false,
      };
  }
}
