// The wire contract as zod schemas (docs/protocol.md). Everything from a relay is parsed here once, at the
// boundary, into typed values; nothing past this file looks at raw JSON. Schemas are strict: an unknown
// top-level field, a float where an integer belongs or uppercase hex is refused, never repaired, because the
// event id is a hash over the exact bytes and a repaired event is a different event.
import { bech32 } from '@scure/base';
import { z } from 'zod';
import { HEX32_PATTERN, hexPattern } from '../domain/hex.ts';
import { utf8ByteLength } from './bytes.ts';
import {
  ACTION_NAMES,
  type ActionName,
  E_MARKERS,
  LABEL_NAMESPACE,
  LIMITS,
  P_ROLES,
  PAYOUT_RECIPIENTS,
  VERDICT_OUTCOMES,
  WINDOW_NAMES,
} from './constants.ts';
import { type IntakeFailure, intakeFailure } from './reasons.ts';
import { parseStrictJson } from './strict-json.ts';

// ---------------------------------------------------------------------------------------------- atoms

/** Zod `error` option: "is missing" when the field is absent, `must be …` otherwise. */
function expecting(what: string) {
  return {
    error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is missing' : `must be ${what}`),
  };
}

// A lone UTF-16 surrogate serialises differently across JSON libraries (escaped, replaced or refused), so
// the NIP-01 id of an event holding one depends on who computes it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function text(maxChars: number) {
  return z
    .string(expecting('a string'))
    .max(maxChars, `must be at most ${maxChars} characters`)
    .refine((value) => !LONE_SURROGATE.test(value), 'must be well-formed Unicode (no lone surrogates)');
}

/**
 * Options for a refinement that reads other fields: run it only when everything else parsed. Zod runs a
 * parent's refinements after a child's continuable issue (a failed length or regex check), with the child's
 * value untransformed, so a cross-field check could otherwise read garbage.
 */
export const onlyIfValid = { when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0 };

export function nonEmptyText(maxChars: number) {
  return text(maxChars).refine((value) => value.trim() !== '', 'must not be empty');
}

export const hex64 = z
  .string(expecting('64 lowercase hex characters'))
  .regex(HEX32_PATTERN, 'must be 64 lowercase hex characters');

export const sig128 = z
  .string(expecting('128 lowercase hex characters'))
  .regex(hexPattern(64), 'must be 128 lowercase hex characters');

export const kind = z
  .number(expecting('an integer from 0 to 65535'))
  .int('must be an integer from 0 to 65535')
  .min(0, 'must be an integer from 0 to 65535')
  .max(65_535, 'must be an integer from 0 to 65535');

export const MAX_UNIX_SECONDS = 4_294_967_295;
export const unixSeconds = z
  .number(expecting('a whole number of unix seconds'))
  .int('must be a whole number of unix seconds')
  .min(0, 'must be a whole number of unix seconds')
  .max(MAX_UNIX_SECONDS, 'must be a whole number of unix seconds before 2106');

// Integers inside tags are decimal strings in exactly one spelling, so two readers cannot disagree on them
// and the signed bytes have one meaning: no sign, no leading zeros, no exponent, no fraction.
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** msat as a decimal integer string, parsed to bigint (never a JS number: amounts exceed 2^53). */
export const msat = z
  .string(expecting('a decimal msat amount'))
  .regex(DECIMAL, 'must be a whole number of msat in decimal, without sign or leading zeros')
  .max(19, 'must be at most 21 million bitcoin')
  .transform((value) => BigInt(value))
  .pipe(z.bigint().max(LIMITS.maxMsat, 'must be at most 21 million bitcoin'));

/** A decimal integer string from `min` to `max`, parsed to a number. */
export function integerString(min: number, max: number, what: string) {
  const message = `must be ${what}: a decimal integer from ${min} to ${max}, without sign or leading zeros`;
  return z
    .string(expecting(what))
    .regex(DECIMAL, message)
    .max(16, message)
    .transform(Number)
    .pipe(z.number().int(message).min(min, message).max(max, message));
}

export const unixString = integerString(0, MAX_UNIX_SECONDS, 'unix seconds');
export const heightString = integerString(0, 100_000_000, 'a block height');
export const bpsString = integerString(0, 10_000, 'basis points');
export const thresholdString = integerString(1, 20, 'a number of arbitrators');
export const windowSecondsString = integerString(1, LIMITS.maxWindowSeconds, 'a window length in seconds');

const BOLT11_PREFIX = /^ln(bc|tb|tbs|bcrt|sb)[0-9]*[munp]?$/;
/**
 * Well-formed BOLT11 text: lowercase, a known network, a valid bech32 checksum (without bech32's 90-character
 * limit, which invoices exceed). Not decoded here: payout invoices are decoded and judged before use.
 */
export const bolt11 = z
  .string(expecting('a BOLT11 invoice'))
  .max(LIMITS.tagElementChars, `must be at most ${LIMITS.tagElementChars} characters`)
  .refine((value) => {
    const decoded = value === value.toLowerCase() ? bech32.decodeUnsafe(value, false) : undefined;
    return decoded !== undefined && BOLT11_PREFIX.test(decoded.prefix);
  }, 'must be a lowercase BOLT11 invoice (ln + network + amount, valid bech32 checksum)');

export const relayHint = z
  .string(expecting('a relay URL or ""'))
  .max(LIMITS.relayHintChars, `must be at most ${LIMITS.relayHintChars} characters`)
  .regex(/^(|wss?:\/\/[^\s]+)$/, 'must be "" or a ws:// or wss:// relay URL');

export const tag = z
  .array(text(LIMITS.tagElementChars), expecting('an array of strings'))
  .min(1, 'must have a name')
  .max(LIMITS.tagElements, `must have at most ${LIMITS.tagElements} elements`);

// ------------------------------------------------------------------------------------- the base event

export const nostrEventSchema = z.strictObject(
  {
    id: hex64,
    pubkey: hex64,
    created_at: unixSeconds,
    kind,
    tags: z
      .array(tag, expecting('an array of tags'))
      .max(LIMITS.tags, `must have at most ${LIMITS.tags} tags`),
    content: text(LIMITS.contentChars),
    sig: sig128,
  },
  expecting('a JSON object'),
);
export type NostrEvent = z.output<typeof nostrEventSchema>;

export type ParseEventResult = { ok: true; event: NostrEvent } | IntakeFailure;

/**
 * The first three intake steps for raw relay text: size (before any parsing, so a huge frame costs nothing),
 * strict JSON (duplicate keys, `__proto__`), shape. The id and signature are checked next, by verifyEvent.
 */
export function parseEventJson(json: string, maxBytes: number = LIMITS.eventBytes): ParseEventResult {
  // String length is a cheap lower bound on the UTF-8 size; only measure bytes when it could matter.
  if (json.length > maxBytes || utf8ByteLength(json) > maxBytes) {
    return intakeFailure('TooLarge', `event is larger than ${maxBytes} bytes`);
  }
  const parsed = parseStrictJson(json);
  return parsed.ok ? parseEvent(parsed.value) : parsed;
}

/** Shape only, for an event that arrived already parsed. Prefer parseEventJson when the raw text exists. */
export function parseEvent(value: unknown): ParseEventResult {
  const result = nostrEventSchema.safeParse(value, { reportInput: true });
  if (result.success) return { ok: true, event: result.data };
  return intakeFailure('BadShape', describeIssue(result.error.issues[0]!, 'event'));
}

/** One zod issue as the text after `invalid: `, naming the field (or our tag) it is about. */
export function describeIssue(issue: z.core.$ZodIssue, style: 'event' | 'tags'): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`;
  }
  const path = issue.path.map(String);
  if (path.length === 0) return `event ${issue.message}`;
  if (style === 'tags' && path[0] === 'tags' && path[1] !== undefined)
    return `${path[1]} tag: ${issue.message}`;
  const [field, ...rest] = path;
  return `${field}${rest.map((part) => `[${part}]`).join('')}: ${issue.message}`;
}

// ------------------------------------------------------------------------------------ tags by purpose

/**
 * The key a tag is filed under when a label's tags are checked: our `e` tags by marker (`e:task`), `p` tags
 * by role (`p:worker`), `L`/`l` only in our namespace; anything else by its name. Other tags are ignored
 * by the schemas (clients add `client`, `alt`, …), but ours must appear exactly as often as allowed.
 */
export function tagKey(tagValue: readonly string[]): string {
  const [name, first, second, third] = tagValue;
  if (name === 'e' && (E_MARKERS as readonly (string | undefined)[]).includes(third)) return `e:${third}`;
  if (name === 'p' && (P_ROLES as readonly (string | undefined)[]).includes(third)) return `p:${third}`;
  if (name === 'L') return first === LABEL_NAMESPACE ? 'L' : 'L:other';
  if (name === 'l') return second === LABEL_NAMESPACE ? 'l' : 'l:other';
  return name ?? '';
}

/**
 * Files every tag under its key. The record has no prototype, so a tag named `__proto__` is an ordinary key
 * (and the schemas only read the keys they know).
 */
export function groupTags(tags: readonly string[][]): Record<string, string[][]> {
  const groups: Record<string, string[][]> = Object.create(null);
  for (const tagValue of tags) {
    const key = tagKey(tagValue);
    groups[key] ??= [];
    groups[key].push(tagValue);
  }
  return groups;
}

export function tuple<const T extends readonly [z.ZodType, ...z.ZodType[]]>(items: T) {
  return z.tuple(items, {
    error: (issue) => (issue.code === 'too_big' ? `must have exactly ${items.length} elements` : undefined),
  });
}

/** Exactly one tag matching `tagSchema`. */
export function oneTag<T extends z.ZodType>(tagSchema: T, what: string) {
  return z
    .preprocess((value) => value ?? [], z.array(tagSchema).length(1, `needs exactly one ${what}`))
    .transform((list) => list[0]!);
}

/** Zero or one tag matching `tagSchema`. */
export function optionalTag<T extends z.ZodType>(tagSchema: T, what: string) {
  return z
    .preprocess((value) => value ?? [], z.array(tagSchema).max(1, `allows at most one ${what}`))
    .transform((list) => list[0]);
}

/** Exactly one `[name, value]` tag; its parsed value. */
export function tagValue<T extends z.ZodType>(name: string, valueSchema: T) {
  return oneTag(tuple([z.literal(name), valueSchema]), `["${name}", …] tag`).transform(
    (found) => found[1] as z.output<T>,
  );
}

/** Zero or one `[name, value]` tag; its parsed value or undefined. */
export function optionalTagValue<T extends z.ZodType>(name: string, valueSchema: T) {
  return optionalTag(tuple([z.literal(name), valueSchema]), `["${name}", …] tag`).transform(
    (found) => found?.[1] as z.output<T> | undefined,
  );
}

/** `["e", id, relay, marker]`, optionally followed by NIP-10's author pubkey. */
export function markedEventTag(marker: (typeof E_MARKERS)[number]) {
  return z
    .tuple([z.literal('e'), hex64, relayHint, z.literal(marker)], z.string())
    .transform((found) => found[1]);
}

/** `["p", pubkey, relay, role]`. */
export function rolePubkeyTag(role: (typeof P_ROLES)[number]) {
  return tuple([z.literal('p'), hex64, relayHint, z.literal(role)]).transform((found) => found[1]);
}

/** The two tags every label of ours starts with: the namespace and the label value. */
export function labelTags<T extends z.ZodType>(value: T) {
  return {
    L: oneTag(tuple([z.literal('L'), z.literal(LABEL_NAMESPACE)]), `["L", "${LABEL_NAMESPACE}"] tag`),
    l: oneTag(
      tuple([z.literal('l'), value, z.literal(LABEL_NAMESPACE)]),
      `label in namespace ${LABEL_NAMESPACE}`,
    ),
  };
}

/** Parses the tags (grouped by purpose, see groupTags) and content of an event with a `{ tags, content }` schema. */
export function parseLabelled<S extends z.ZodType>(
  schema: S,
  event: Pick<NostrEvent, 'tags' | 'content'>,
): { ok: true; value: z.output<S> } | { ok: false; text: string } {
  const result = schema.safeParse(
    { tags: groupTags(event.tags), content: event.content },
    { reportInput: true },
  );
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, text: describeIssue(result.error.issues[0]!, 'tags') };
}
// ------------------------------------------------------------- what people send: actions (kind 1985)

export const TASK_E_TAG = 'e tag marked "task" (["e", <task id>, <relay or "">, "task"])';

function actionTags<N extends ActionName>(name: N) {
  return { ...labelTags(z.literal(name)), 'e:task': oneTag(markedEventTag('task'), TASK_E_TAG) };
}

const note = text(LIMITS.actionContentChars);
/** LUD-16: name@domain, lowercase, as a wallet shows it. A `:port` is accepted here and refused by the look-up
 * itself, which allows one only in a test setup (a local service). */
export const lightningAddress = z
  .string()
  .max(320, 'must be at most 320 characters')
  .regex(
    /^[a-z0-9._+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*(:[0-9]{1,5})?$/,
    'must be a Lightning address, name@domain (lowercase)',
  );
const required = nonEmptyText(LIMITS.actionContentChars);
const recipient = z.enum(PAYOUT_RECIPIENTS, { error: 'must be "worker" or "poster"' });

/** One schema per action label. Content: a free note, except where it carries the action's substance. */
export const actionSchemas = {
  claim: z.object({ tags: z.object(actionTags('claim')), content: note }),
  submit: z.object({
    tags: z.object({ ...actionTags('submit'), bolt11: optionalTagValue('bolt11', bolt11) }),
    content: required, // the delivery: a note, a link
  }),
  approve: z.object({ tags: z.object(actionTags('approve')), content: note }),
  cancel: z.object({ tags: z.object(actionTags('cancel')), content: note }),
  dispute: z.object({ tags: z.object(actionTags('dispute')), content: required }), // the reason
  verdict: z.object({
    tags: z
      .object({
        ...actionTags('verdict'),
        outcome: tagValue(
          'outcome',
          z.enum(VERDICT_OUTCOMES, { error: 'must be "worker", "poster" or "split"' }),
        ),
        share_bps: optionalTagValue('share_bps', bpsString),
      })
      .refine((tags) => (tags.outcome === 'split') === (tags.share_bps !== undefined), {
        message: 'is required for a split verdict, and only for it',
        path: ['share_bps'],
        ...onlyIfValid,
      }),
    content: note,
  }),
  payout_invoice: z.object({
    tags: z
      .object({
        ...actionTags('payout_invoice'),
        bolt11: optionalTagValue('bolt11', bolt11),
        // A Lightning address (LUD-16) instead of an invoice: the agent fetches invoices from it.
        lud16: optionalTagValue('lud16', lightningAddress),
        recipient: tagValue('recipient', recipient),
      })
      .refine((tags) => (tags.bolt11 === undefined) !== (tags.lud16 === undefined), {
        message: 'needs exactly one of ["bolt11", <invoice>] and ["lud16", <name@domain>]',
        path: ['bolt11'],
        ...onlyIfValid,
      }),
    content: note,
  }),
} satisfies Record<ActionName, z.ZodObject<{ tags: z.ZodObject; content: z.ZodType }>>;

export function isActionName(value: string): value is ActionName {
  return (ACTION_NAMES as readonly string[]).includes(value);
}

// ----------------------------------------------------------------- what people send: listing (30402)

const positiveMsat = msat.refine((value) => value > 0n, 'must be more than 0 msat');
const SATS = /^(0|[1-9][0-9]*)(\.[0-9]{1,3})?$/;

/** NIP-99 price in sats ("21000", "21000.5") as msat, or null if it is not written that way. */
export function priceToMsat(price: string): bigint | null {
  const match = SATS.exec(price);
  if (!match) return null;
  const fraction = (match[2] ?? '.').slice(1).padEnd(3, '0');
  return BigInt(match[1]!) * 1000n + BigInt(fraction);
}

export const listingSchema = z.object({
  tags: z
    .object({
      d: tagValue('d', nonEmptyText(256)),
      title: tagValue('title', nonEmptyText(LIMITS.titleChars)),
      summary: optionalTagValue('summary', text(LIMITS.actionContentChars)),
      amount: tagValue('amount', positiveMsat),
      // Display only (NIP-99); if present it must say the same as `amount`. No 4th element: a recurring
      // price cannot be escrowed once.
      price: optionalTag(
        tuple([
          z.literal('price'),
          z.string().regex(SATS, 'must be sats in decimal, at most 3 decimals'),
          z.string().regex(/^sats?$/i, 'must be SAT'),
        ]),
        '["price", <sats>, "SAT"] tag',
      ),
      t: z
        .preprocess((value) => value ?? [], z.array(z.tuple([z.literal('t'), z.string()], z.string())))
        .refine((found) => found.some((entry) => entry[1] === 'escrow'), {
          message: 'must include ["t", "escrow"]',
          ...onlyIfValid,
        }),
      window: z
        .preprocess(
          (value) => value ?? [],
          z.array(
            tuple([
              z.literal('window'),
              z.enum(WINDOW_NAMES, { error: 'must name the claim, work, review or dispute window' }),
              windowSecondsString,
            ]),
          ),
        )
        .refine((found) => new Set(found.map((entry) => entry[1])).size === found.length, {
          message: 'must name each window at most once',
          ...onlyIfValid,
        }),
      // The arbitrators this task asks for, from the agent's announced set (absent: all of them), and how many
      // of them must agree (absent: 1).
      'p:arbitrator': z
        .preprocess(
          (value) => value ?? [],
          z.array(rolePubkeyTag('arbitrator')).max(20, 'allows at most 20 arbitrators'),
        )
        .refine((found) => new Set(found).size === found.length, {
          message: 'must name each arbitrator once',
          ...onlyIfValid,
        }),
      threshold: optionalTagValue('threshold', thresholdString),
    })
    .refine((tags) => tags.price === undefined || priceToMsat(tags.price[1]) === tags.amount, {
      message: 'must equal the amount tag (price in sats x 1000 = amount in msat)',
      path: ['price'],
      ...onlyIfValid,
    }),
  content: text(LIMITS.contentChars), // the description (markdown)
});
