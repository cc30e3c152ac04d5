// Private notices (docs/protocol.md §11): the agent tells a poster, worker or arbitrator about their task in a
// NIP-17 direct message, so any ordinary DM client shows it. A kind 14 rumor (unsigned), sealed in a kind 13
// signed by the agent, gift-wrapped in a kind 1059 signed by a one-time key (NIP-59), both layers encrypted
// with NIP-44 v2. Notices only repeat what the public log says: nothing private ever moves money.
//
// The layers are put together here from nostr-tools' nip44 (encryption) and pure (keys, ids, signatures) rather
// than taken from nostr-tools/nip59, which this folder may not import (.dependency-cruiser.cjs,
// protocol-is-portable). No cryptography is written here. What comes out is exactly what nip59.wrapEvent makes,
// and test/protocol/private-notice.test.ts opens it with nip59.unwrapEvent to prove it.
import { randomBytes } from '@noble/hashes/utils.js';
import { getConversationKey, v2 as nip44 } from 'nostr-tools/nip44';
import {
  type EventTemplate,
  finalizeEvent,
  generateSecretKey,
  getEventHash,
  getPublicKey,
} from 'nostr-tools/pure';
import { z } from 'zod';
import { HEX32_PATTERN } from '../domain/hex.ts';
import { utf8ByteLength } from './bytes.ts';
import { KINDS, LABEL_NAMESPACE, LIMITS } from './constants.ts';
import { ProtocolInputError } from './protocol-input-error.ts';
import { hex64, type NostrEvent, nostrEventSchema, relayHint, text } from './schemas.ts';
import { parseStrictJson } from './strict-json.ts';
import { verifyEvent } from './verify-event.ts';

export const NOTICE_TOPICS = [
  'dispute_opened',
  'dispute_statement',
  'payout_invoice_needed',
  'custody_overdue',
] as const;
export type NoticeTopic = (typeof NOTICE_TOPICS)[number];

export interface PrivateNotice {
  topic: NoticeTopic;
  /** The task id (the listing's event id), lowercase hex. */
  taskId: string;
  /** As written; what a reader gets back is the subject's copy, cut to NOTICE_LIMITS.subjectTitleChars. */
  taskTitle: string;
  /** Human text, the whole content of the message. */
  text: string;
  /** Machine-readable key/values, e.g. statement_poster, statement_worker, amount_msat, recipient. */
  facts: Record<string, string>;
}

/** The NIP-17 direct message kind (the rumor) and the NIP-59 seal. */
export const NOTICE_KINDS = { message: 14, seal: 13, giftWrap: KINDS.giftWrap } as const;

/** The `l` value of a notice of `topic` (in LABEL_NAMESPACE). */
export function noticeLabel(topic: NoticeTopic): string {
  return `notice:${topic}`;
}

export const NOTICE_LIMITS = {
  /** Code points of the task title in the `subject` tag (longer titles end in "…"). */
  subjectTitleChars: 80,
  factKey: /^[a-z_]{1,32}$/,
  factValueChars: 4_096,
  /**
   * The whole rumor as JSON, in UTF-8 bytes. Each layer grows by NIP-44's padding and base64 (about x1.4), and a
   * rumor of 28 KiB is the largest whose gift wrap stays within LIMITS.eventBytes (64 KiB, what the agent's
   * intake and common relays accept: a 28 KiB rumor pads to 28 KiB, its seal to 40 KiB, the wrap is ~54 KiB; one
   * byte more pads to 32 KiB, a 48 KiB seal and a wrap over 64 KiB). It also keeps every NIP-44 plaintext under
   * 65,535 bytes, the most NIP-44 v2 allows (nostr-tools would switch to a longer length prefix that other
   * clients cannot read).
   */
  rumorBytes: 28 * 1024,
  /** A wrap or seal content longer than this is not decrypted (NIP-44: check the size before decrypting). */
  ciphertextChars: LIMITS.eventBytes,
} as const;

/** NIP-59: seal and wrap are dated up to two days in the past, at random, so relays cannot time the message. */
const TWO_DAYS = 2 * 24 * 3600;

// ---------------------------------------------------------------------------------------------- writing

/**
 * The gift wrap (kind 1059) of one notice for `recipientPubkey`, to publish as it is. Only the recipient's: the
 * agent keeps no copy (no wrap to itself), because the public log is its record. The rumor's `p` tag carries
 * `relayHint` when given (NIP-17). Throws ProtocolInputError before wrapping anything for a notice the reader
 * would refuse: an unknown topic, a task id that is not hex, a fact key outside [a-z_]{1,32}, a fact value over
 * 4,096 characters, empty text, a rumor over NOTICE_LIMITS.rumorBytes, or the agent as recipient.
 */
/**
 * Every random choice of a wrap, fixed: only for reproducible examples (scripts/generate-examples.ts) and tests.
 * A real notice must never pass one: a known wrap key or nonce breaks the secrecy of the message.
 */
export interface FixedWrapRandomness {
  now: number;
  sealCreatedAt: number;
  wrapCreatedAt: number;
  wrapSecretKey: Uint8Array;
  sealNonce: Uint8Array;
  wrapNonce: Uint8Array;
  sign: (template: EventTemplate, secretKey: Uint8Array) => NostrEvent;
}

export function wrapPrivateNotice(
  agentSecretKey: Uint8Array,
  recipientPubkey: string,
  notice: PrivateNotice,
  relayHint?: string,
  fixed?: FixedWrapRandomness,
): NostrEvent {
  const sign = fixed?.sign ?? finalizeEvent;
  const agentPubkey = getPublicKey(agentSecretKey);
  if (!HEX32_PATTERN.test(recipientPubkey)) {
    throw new ProtocolInputError('private notice: recipient must be 64 lowercase hex characters');
  }
  if (recipientPubkey === agentPubkey) {
    throw new ProtocolInputError(
      'private notice: the agent keeps no copy of its notices (recipient is the agent)',
    );
  }
  const rumor = buildRumor(agentPubkey, recipientPubkey, notice, relayHint, fixed?.now);
  let sealKey: Uint8Array;
  try {
    sealKey = getConversationKey(agentSecretKey, recipientPubkey);
  } catch {
    throw new ProtocolInputError('private notice: recipient is not a valid public key');
  }
  const seal = sign(
    {
      kind: NOTICE_KINDS.seal,
      created_at: fixed?.sealCreatedAt ?? randomPast(),
      tags: [],
      content: nip44.encrypt(JSON.stringify(rumor), sealKey, fixed?.sealNonce),
    },
    agentSecretKey,
  );
  const wrapKey = fixed ? Uint8Array.from(fixed.wrapSecretKey) : generateSecretKey();
  const wrap = sign(
    {
      kind: NOTICE_KINDS.giftWrap,
      created_at: fixed?.wrapCreatedAt ?? randomPast(),
      tags: [['p', recipientPubkey]],
      content: nip44.encrypt(
        JSON.stringify(seal),
        getConversationKey(wrapKey, recipientPubkey),
        fixed?.wrapNonce,
      ),
    },
    wrapKey,
  );
  wrapKey.fill(0);
  const { id, pubkey, created_at, kind, tags, content, sig } = wrap;
  return { id, pubkey, created_at, kind, tags, content, sig };
}

interface Rumor {
  id: string;
  pubkey: string;
  created_at: number;
  kind: number;
  tags: string[][];
  content: string;
}

function buildRumor(
  author: string,
  recipient: string,
  notice: PrivateNotice,
  hint: string | undefined,
  now: number = Math.floor(Date.now() / 1000),
): Rumor {
  const fail = (why: string): never => {
    throw new ProtocolInputError(`private notice: ${why}`);
  };
  if (!(NOTICE_TOPICS as readonly string[]).includes(notice.topic)) {
    fail(`unknown topic ${JSON.stringify(notice.topic)}`);
  }
  if (!HEX32_PATTERN.test(notice.taskId)) fail('taskId must be 64 lowercase hex characters');
  if (hint !== undefined && !relayHint.safeParse(hint).success) {
    fail('relayHint must be a ws:// or wss:// URL of at most 512 characters');
  }
  if (typeof notice.text !== 'string' || notice.text.trim() === '') fail('text must not be empty');
  if (typeof notice.taskTitle !== 'string') fail('taskTitle must be a string');
  const factTags: string[][] = [];
  for (const [key, value] of Object.entries(notice.facts)) {
    if (!NOTICE_LIMITS.factKey.test(key) || key === '__proto__') {
      fail(`fact key ${JSON.stringify(key)} must be 1 to 32 of a-z and _`);
    }
    if (typeof value !== 'string') fail(`fact ${key} must be a string`);
    if (value.length > NOTICE_LIMITS.factValueChars) {
      fail(`fact ${key} must be at most ${NOTICE_LIMITS.factValueChars} characters`);
    }
    factTags.push(['fact', key, value]);
  }
  const unsigned = {
    pubkey: author,
    created_at: now,
    kind: NOTICE_KINDS.message,
    tags: [
      hint === undefined ? ['p', recipient] : ['p', recipient, hint],
      ['e', notice.taskId, '', 'task'],
      ['subject', `${notice.topic}: ${truncateTitle(notice.taskTitle)}`],
      ['L', LABEL_NAMESPACE],
      ['l', noticeLabel(notice.topic), LABEL_NAMESPACE],
      ...factTags,
    ],
    content: notice.text,
  };
  const rumor: Rumor = { id: getEventHash(unsigned), ...unsigned };
  // The same checks the reader makes (lone surrogates, tag count, content length), so nothing is sent that
  // readPrivateNotice would refuse.
  const shape = rumorSchema.safeParse(rumor);
  if (!shape.success) fail(`${shape.error.issues[0]!.path.join('.')} ${shape.error.issues[0]!.message}`);
  const bytes = utf8ByteLength(JSON.stringify(rumor));
  if (bytes > NOTICE_LIMITS.rumorBytes) {
    fail(
      `the message is ${bytes} bytes, more than ${NOTICE_LIMITS.rumorBytes} (shorten the text or the facts)`,
    );
  }
  return rumor;
}

function truncateTitle(title: string): string {
  const points = Array.from(title);
  if (points.length <= NOTICE_LIMITS.subjectTitleChars) return title;
  return `${points.slice(0, NOTICE_LIMITS.subjectTitleChars - 1).join('')}…`;
}

function randomPast(): number {
  const [a = 0, b = 0, c = 0, d = 0] = randomBytes(4);
  const offset = (((a << 24) >>> 0) + (b << 16) + (c << 8) + d) % TWO_DAYS;
  return Math.floor(Date.now() / 1000) - offset;
}

// ---------------------------------------------------------------------------------------------- reading

const rumorSchema = nostrEventSchema.omit({ sig: true });
const sealSchema = nostrEventSchema.extend({ content: text(NOTICE_LIMITS.ciphertextChars) });
const topicSchema = z.enum(NOTICE_TOPICS);

/**
 * For clients: opens a gift wrap addressed to `recipientSecretKey` and returns the notice, or null when it is not
 * a notice of ours from that agent. Null, never an exception, for anything about the event: a wrap for someone
 * else (a third party's key cannot decrypt it), a broken signature or id on the wrap or the seal, a seal signed
 * by another key, a rumor whose pubkey is not the seal's (NIP-17), a rumor that is not kind 14, a missing or
 * unknown label, a `p` tag that is not the reader. A client reading a DM inbox can call it on every wrap.
 * Throws ProtocolInputError only for the caller's own mistakes: a secret key that is not 32 bytes, an
 * `agentPubkey` that is not hex.
 */
export function readPrivateNotice(
  recipientSecretKey: Uint8Array,
  agentPubkey: string,
  wrap: NostrEvent,
): PrivateNotice | null {
  if (!(recipientSecretKey instanceof Uint8Array) || recipientSecretKey.length !== 32) {
    throw new ProtocolInputError('readPrivateNotice: the secret key must be 32 bytes');
  }
  if (!HEX32_PATTERN.test(agentPubkey)) {
    throw new ProtocolInputError('readPrivateNotice: agentPubkey must be 64 lowercase hex characters');
  }
  let recipientPubkey: string;
  try {
    recipientPubkey = getPublicKey(recipientSecretKey);
  } catch {
    throw new ProtocolInputError('readPrivateNotice: the secret key is not a valid key');
  }
  try {
    return open(recipientSecretKey, recipientPubkey, agentPubkey, wrap);
  } catch {
    // A ciphertext that does not decrypt (wrong key, bad MAC, bad padding), a pubkey that is not a point.
    return null;
  }
}

function open(
  secretKey: Uint8Array,
  recipientPubkey: string,
  agentPubkey: string,
  wrap: NostrEvent,
): PrivateNotice | null {
  if (wrap?.kind !== NOTICE_KINDS.giftWrap || typeof wrap.content !== 'string') return null;
  if (wrap.content.length > NOTICE_LIMITS.ciphertextChars || !hex64.safeParse(wrap.pubkey).success)
    return null;
  if (!verifyEvent(wrap).ok) return null;

  const seal = parseLayer(
    nip44.decrypt(wrap.content, getConversationKey(secretKey, wrap.pubkey)),
    sealSchema,
  );
  if (seal === null || seal.kind !== NOTICE_KINDS.seal || seal.tags.length !== 0) return null;
  if (seal.pubkey !== agentPubkey || !verifyEvent(seal).ok) return null;

  const sealed = nip44.decrypt(seal.content, getConversationKey(secretKey, seal.pubkey));
  if (utf8ByteLength(sealed) > NOTICE_LIMITS.rumorBytes) return null;
  const rumor = parseLayer(sealed, rumorSchema);
  if (rumor === null || rumor.kind !== NOTICE_KINDS.message) return null;
  // NIP-17: the rumor's author must be the seal's signer, or anyone could put words in the agent's mouth.
  if (rumor.pubkey !== seal.pubkey) return null;
  const { id, ...unsigned } = rumor;
  if (getEventHash(unsigned) !== id) return null;
  return readRumor(rumor, recipientPubkey);
}

function parseLayer<S extends z.ZodType>(json: string, schema: S): z.output<S> | null {
  const parsed = parseStrictJson(json);
  if (!parsed.ok) return null;
  const result = schema.safeParse(parsed.value);
  return result.success ? result.data : null;
}

/** The rumor's tags, exactly as wrapPrivateNotice writes them (any other tag: not ours, null). */
function readRumor(rumor: Rumor, recipientPubkey: string): PrivateNotice | null {
  let p = 0;
  let taskId: string | undefined;
  let subject: string | undefined;
  let namespace = 0;
  let topic: NoticeTopic | undefined;
  const facts: Array<[string, string]> = [];
  for (const tag of rumor.tags) {
    const [name, first, second, third] = tag;
    if (
      name === 'p' &&
      first === recipientPubkey &&
      (tag.length === 2 || (tag.length === 3 && relayHint.safeParse(second).success))
    ) {
      p += 1;
    } else if (
      name === 'e' &&
      tag.length === 4 &&
      second === '' &&
      third === 'task' &&
      taskId === undefined
    ) {
      taskId = first;
    } else if (name === 'subject' && tag.length === 2 && subject === undefined) subject = first;
    else if (name === 'L' && tag.length === 2 && first === LABEL_NAMESPACE) namespace += 1;
    else if (name === 'l' && tag.length === 3 && second === LABEL_NAMESPACE && topic === undefined) {
      const value = first?.startsWith('notice:')
        ? topicSchema.safeParse(first.slice('notice:'.length))
        : null;
      if (!value?.success) return null;
      topic = value.data;
    } else if (name === 'fact' && tag.length === 3) {
      if (!NOTICE_LIMITS.factKey.test(first!) || first === '__proto__') return null;
      if (second!.length > NOTICE_LIMITS.factValueChars) return null;
      if (facts.some(([key]) => key === first)) return null;
      facts.push([first!, second!]);
    } else return null;
  }
  if (p !== 1 || namespace !== 1 || topic === undefined || taskId === undefined || subject === undefined)
    return null;
  if (!HEX32_PATTERN.test(taskId) || !subject.startsWith(`${topic}: `)) return null;
  return {
    topic,
    taskId,
    taskTitle: subject.slice(topic.length + 2),
    text: rumor.content,
    facts: Object.fromEntries(facts),
  };
}
