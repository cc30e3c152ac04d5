// The agent's key rotation (docs/key-rotation.md): how an agent says, in events anyone can check, that a new key
// replaces its old one. Two NIP-32 labels in the agent's namespace (kind 1985, `l` = key_rotation), both naming the
// old key (`p`, role predecessor) and the new one (`successor` tag):
// - the acceptance, signed by the NEW key: its content is the statement below;
// - the rotation, signed by the OLD key: its content is the acceptance event, whole, as the new key signed it.
// So one event carries both signatures: the old key hands over, and the new key agrees to take over. Neither event
// p-tags the new key (an agent's intake reads events that tag it: it must never see these as input).
// Pure and browser-safe (the verification page may check a rotation).
import type { EventTemplate } from 'nostr-tools/pure';
import { KINDS, LABEL_NAMESPACE } from './constants.ts';
import { type NostrEvent, parseEventJson } from './schemas.ts';
import { verifyEvent } from './verify-event.ts';

export const KEY_ROTATION_LABEL = 'key_rotation';

/** What the new key signs: it takes over from the old one. */
export function rotationStatement(oldPubkey: string, newPubkey: string): string {
  return `nostr-escrow agent key rotation: ${newPubkey} replaces ${oldPubkey}`;
}

function rotationTags(oldPubkey: string, newPubkey: string): string[][] {
  return [
    ['L', LABEL_NAMESPACE],
    ['l', KEY_ROTATION_LABEL, LABEL_NAMESPACE],
    ['p', oldPubkey, '', 'predecessor'],
    ['successor', newPubkey],
  ];
}

/** The acceptance, to be signed by the new key. */
export function buildRotationAcceptance(input: {
  oldPubkey: string;
  newPubkey: string;
  createdAt: number;
}): EventTemplate {
  return {
    kind: KINDS.label,
    created_at: input.createdAt,
    tags: rotationTags(input.oldPubkey, input.newPubkey),
    content: rotationStatement(input.oldPubkey, input.newPubkey),
  };
}

/** The rotation, to be signed by the old key: it carries the signed acceptance whole. */
export function buildKeyRotation(input: { acceptance: NostrEvent; createdAt: number }): EventTemplate {
  const successor = input.acceptance.pubkey;
  const predecessor = tagValue(input.acceptance, 'p');
  if (predecessor === undefined) throw new Error('buildKeyRotation: the acceptance names no predecessor');
  return {
    kind: KINDS.label,
    created_at: Math.max(input.createdAt, input.acceptance.created_at),
    tags: rotationTags(predecessor, successor),
    content: JSON.stringify(input.acceptance),
  };
}

export type KeyRotationCheck =
  | { ok: true; oldPubkey: string; newPubkey: string; acceptance: NostrEvent; at: number }
  | { ok: false; reason: string };

/**
 * Checks a rotation event: signed by the old key it names, carrying an acceptance signed by the new key it names,
 * with the statement, both in the agent's namespace. What a verifier does with it: docs/key-rotation.md.
 */
export function verifyKeyRotation(event: NostrEvent): KeyRotationCheck {
  const shape = checkShape(event);
  if (!shape.ok) return shape;
  if (event.pubkey !== shape.oldPubkey)
    return { ok: false, reason: 'the rotation is not signed by the old key' };
  const signed = verifyEvent(event);
  if (!signed.ok) return { ok: false, reason: `the rotation: ${signed.reason}` };
  const parsed = parseEventJson(event.content);
  if (!parsed.ok) return { ok: false, reason: `the acceptance is not an event: ${parsed.reason}` };
  const acceptance = parsed.event;
  const inner = checkShape(acceptance);
  if (!inner.ok) return { ok: false, reason: `the acceptance: ${inner.reason}` };
  if (inner.oldPubkey !== shape.oldPubkey || inner.newPubkey !== shape.newPubkey) {
    return { ok: false, reason: 'the acceptance names other keys than the rotation' };
  }
  if (acceptance.pubkey !== shape.newPubkey) {
    return { ok: false, reason: 'the acceptance is not signed by the new key' };
  }
  if (acceptance.content !== rotationStatement(shape.oldPubkey, shape.newPubkey)) {
    return { ok: false, reason: 'the acceptance does not carry the rotation statement' };
  }
  const accepted = verifyEvent(acceptance);
  if (!accepted.ok) return { ok: false, reason: `the acceptance: ${accepted.reason}` };
  if (acceptance.created_at > event.created_at) {
    return { ok: false, reason: 'the acceptance is dated after the rotation' };
  }
  return {
    ok: true,
    oldPubkey: shape.oldPubkey,
    newPubkey: shape.newPubkey,
    acceptance,
    at: event.created_at,
  };
}

function checkShape(
  event: NostrEvent,
): { ok: true; oldPubkey: string; newPubkey: string } | { ok: false; reason: string } {
  if (event.kind !== KINDS.label) return { ok: false, reason: `kind ${event.kind} is not 1985` };
  const labelled = event.tags.some(
    (tag) => tag[0] === 'l' && tag[1] === KEY_ROTATION_LABEL && tag[2] === LABEL_NAMESPACE,
  );
  if (!labelled) return { ok: false, reason: `no ${KEY_ROTATION_LABEL} label in ${LABEL_NAMESPACE}` };
  const oldPubkey = tagValue(event, 'p');
  const newPubkey = tagValue(event, 'successor');
  const hex = /^[0-9a-f]{64}$/;
  if (!oldPubkey || !hex.test(oldPubkey)) return { ok: false, reason: 'no predecessor (p) pubkey' };
  if (!newPubkey || !hex.test(newPubkey)) return { ok: false, reason: 'no successor pubkey' };
  if (oldPubkey === newPubkey) return { ok: false, reason: 'the successor is the predecessor' };
  return { ok: true, oldPubkey, newPubkey };
}

function tagValue(event: Pick<NostrEvent, 'tags'>, name: string): string | undefined {
  return event.tags.find((tag) => tag[0] === name)?.[1];
}
