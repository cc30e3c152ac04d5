// NIP-01 kind ranges, NIP-40 expiration and the replaceable "address" of an event, as this relay reads them.
// (@nostr-relay/common's EventUtils.getType also treats kind 41 as replaceable; NIP-01 does not.)
import type { Event } from '@nostr-relay/common';
import { isHex32 } from '../domain/hex.ts';

export type KindClass = 'regular' | 'replaceable' | 'ephemeral' | 'addressable';

export const MAX_KIND = 65535;
export const DELETION_KIND = 5;

export function kindClass(kind: number): KindClass {
  if (kind === 0 || kind === 3 || (kind >= 10000 && kind < 20000)) return 'replaceable';
  if (kind >= 20000 && kind < 30000) return 'ephemeral';
  if (kind >= 30000 && kind < 40000) return 'addressable';
  return 'regular';
}

/** The `d` value that, with pubkey and kind, names the slot a replaceable event occupies; null for other kinds. */
export function replaceableSlot(event: Event): string | null {
  switch (kindClass(event.kind)) {
    case 'replaceable':
      return '';
    case 'addressable':
      return event.tags.find((tag) => tag[0] === 'd')?.[1] ?? '';
    case 'regular':
    case 'ephemeral':
      return null;
  }
}

/** NIP-40: the unix second at which the event expires, or null. A value that is not a whole number is ignored. */
export function expiresAt(event: Event): number | null {
  const value = event.tags.find((tag) => tag[0] === 'expiration')?.[1];
  if (value === undefined || !/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}

/** The expiration timestamp is the first second at which the event is expired. */
export function isExpired(event: Event, now: number): boolean {
  const expiration = expiresAt(event);
  return expiration !== null && expiration <= now;
}

export interface Coordinate {
  kind: number;
  pubkey: string;
  d: string;
}

/** Parses an `a` tag value `<kind>:<pubkey>:<d>`; the d part may itself contain colons. */
export function parseCoordinate(value: string): Coordinate | null {
  const first = value.indexOf(':');
  const second = value.indexOf(':', first + 1);
  if (first < 0 || second < 0) return null;
  const kindText = value.slice(0, first);
  const pubkey = value.slice(first + 1, second);
  if (!/^\d{1,5}$/.test(kindText) || !isHex32(pubkey)) return null;
  const kind = Number(kindText);
  const cls = kindClass(kind);
  if (kind > MAX_KIND || (cls !== 'replaceable' && cls !== 'addressable')) return null;
  return { kind, pubkey, d: value.slice(second + 1) };
}
