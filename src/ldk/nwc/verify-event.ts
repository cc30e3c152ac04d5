// Every NWC event is checked here before anything reads it: NIP-01 shape, id (recomputed) and signature, then
// the kind and author the receiver expects. A relay is not trusted to have checked any of it. The id and
// signature are checked with libsecp256k1 in WebAssembly (src/crypto/schnorr.ts, the agent's own verifier).
import type { NostrEvent } from 'nostr-tools/pure';
import { z } from 'zod';
import { verifyEvent } from '../../crypto/schnorr.ts';

const hex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`));

const eventSchema = z.object({
  id: hex(64),
  pubkey: hex(64),
  created_at: z.number().int().nonnegative(),
  kind: z.number().int().min(0).max(65535),
  tags: z.array(z.array(z.string().max(1024)).max(16)).max(64),
  content: z.string().max(200_000),
  sig: hex(128),
});

export type EventCheck = { ok: true; event: NostrEvent } | { ok: false; reason: string };

export function checkEvent(
  raw: unknown,
  expected: { kinds: readonly number[]; author?: string },
): EventCheck {
  const parsed = eventSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: 'not a NIP-01 event' };
  // A fresh object, copied from the parsed fields: what was checked is what the receiver reads.
  const event: NostrEvent = { ...parsed.data, tags: parsed.data.tags.map((tag) => [...tag]) };
  if (!expected.kinds.includes(event.kind)) return { ok: false, reason: `unexpected kind ${event.kind}` };
  if (expected.author !== undefined && event.pubkey !== expected.author) {
    return { ok: false, reason: `signed by ${event.pubkey.slice(0, 12)}..., not the expected key` };
  }
  if (!verifyEvent(event)) return { ok: false, reason: 'bad id or signature' };
  return { ok: true, event };
}

/** The first value of the first tag named `name`. */
export function tagValue(event: NostrEvent, name: string): string | undefined {
  return event.tags.find((tag) => tag[0] === name)?.[1];
}

export function hasTag(event: NostrEvent, name: string, value: string): boolean {
  return event.tags.some((tag) => tag[0] === name && tag[1] === value);
}
