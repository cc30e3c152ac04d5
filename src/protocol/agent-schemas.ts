// Schemas of the events the agent publishes about itself and to people (besides transitions): the NIP-89
// announcement and its policy, the kind 0 profile, the NIP-65 relay list, the NIP-90 payment prompt and
// the `rejected` label. Clients and tests read them with these; the builders check their output with them.
import { z } from 'zod';
import { CANT_DO, type CantDoCode } from '../domain/errors.ts';
import { KINDS, LABEL_NAMESPACE, PROTOCOL_VERSION, REJECTED_LABEL } from './constants.ts';
import { INTAKE_REASONS, type IntakeReasonCode, isReasonCode, type ReasonCode } from './reasons.ts';
import {
  bolt11,
  hex64,
  labelTags,
  markedEventTag,
  msat,
  nonEmptyText,
  oneTag,
  onlyIfValid,
  optionalTag,
  relayHint,
  tagValue,
  text,
  unixString,
} from './schemas.ts';

function count(min: number, max: number, what: string) {
  const message = `must be ${what}: an integer from ${min} to ${max}`;
  return z.number({ error: message }).int(message).min(min, message).max(max, message);
}

/** The policy as published: the configuration file's key names (policy.*), msat as decimal strings.
 * `disputes` says whether the agent takes disputes at all: only with arbitrators (true exactly when
 * `arbitrators` is not empty). `rate_per_minute` / `rate_burst` are the per-pubkey limit of its intake. */
export const policyJsonSchema = z
  .strictObject({
    protocol_version: z.literal(PROTOCOL_VERSION, { error: `must be ${PROTOCOL_VERSION}` }),
    label_namespace: z.literal(LABEL_NAMESPACE, { error: `must be ${LABEL_NAMESPACE}` }),
    rules_version: count(1, 1_000_000, 'the rules version'),
    fee_base_msat: msat,
    fee_ppm: count(0, 1_000_000, 'parts per million'),
    min_amount_msat: msat,
    max_amount_msat: msat,
    claim_window_seconds: count(0, 31_536_000, 'seconds'),
    work_window_seconds: count(0, 31_536_000, 'seconds'),
    review_window_seconds: count(0, 31_536_000, 'seconds'),
    dispute_window_seconds: count(0, 31_536_000, 'seconds'),
    safety_margin_blocks: count(0, 10_000, 'blocks'),
    backend_auto_cancel_blocks: count(0, 10_000, 'blocks'),
    max_final_cltv_delta: count(1, 10_000, 'blocks'),
    invoice_expiry_seconds: count(1, 31_536_000, 'seconds'),
    arbitrators: z.array(hex64).max(100),
    arbitrator_profiles: z
      .array(
        z.strictObject({
          pubkey: hex64,
          name: text(64),
          fee_base_msat: msat,
          fee_ppm: count(0, 1_000_000, 'parts per million'),
        }),
      )
      .max(100)
      .optional(),
    max_hold_seconds: count(1, 31_536_000, 'seconds'),
    max_statement_length: count(1, 8_192, 'characters'),
    custody_max_seconds: count(1, 31_536_000, 'seconds'),
    rules_sha256: hex64,
    lightning_node: z
      .string()
      .regex(/^0[23][0-9a-f]{64}$/, 'must be a 33-byte compressed public key in lowercase hex')
      .optional(),
    dispute_deadline_rule: z.enum(['refund', 'custody'], { error: 'must be "refund" or "custody"' }),
    max_payout_attempts: count(1, 1_000, 'attempts'),
    max_title_length: count(1, 1_000, 'characters'),
    disputes: z.boolean({ error: 'must be true or false' }),
    rate_per_minute: count(1, 100_000, 'events a minute'),
    rate_burst: count(1, 100_000, 'events'),
    /** Present (false) only while the agent is paused for maintenance: it takes no new listing. */
    accepting_tasks: z.literal(false, { error: 'must be false when present (absent: accepting)' }).optional(),
  })
  .refine((policy) => policy.disputes === policy.arbitrators.length > 0, {
    message: 'disputes must be true exactly when there are arbitrators',
    path: ['disputes'],
    ...onlyIfValid,
  });

/** NIP-89 content is kind-0-like metadata; clients that do not know `policy` still show name and about. */
export const announcementContentSchema = z.object({
  name: text(100).optional(),
  about: text(2_000).optional(),
  picture: text(1_000).optional(),
  policy: policyJsonSchema,
});

export const announcementSchema = z.object({
  tags: z.object({
    d: tagValue('d', nonEmptyText(256)),
    k: z
      .preprocess((value) => value ?? [], z.array(z.tuple([z.literal('k'), z.string()])))
      .refine(
        (found) =>
          [KINDS.listing, KINDS.label].every((kind) => found.some((entry) => entry[1] === String(kind))),
        { message: `must include ["k", "${KINDS.listing}"] and ["k", "${KINDS.label}"]`, ...onlyIfValid },
      ),
  }),
  content: z.string(),
});

/** NIP-01 / NIP-24 metadata of the agent. `bot` tells clients its posts are automated. */
export const profileContentSchema = z.object({
  name: nonEmptyText(100),
  about: text(2_000).optional(),
  picture: text(1_000).optional(),
  website: text(1_000).optional(),
  nip05: text(320).optional(),
  bot: z.literal(true),
});

export const relayListSchema = z.object({
  tags: z.object({
    r: z
      .preprocess(
        (value) => value ?? [],
        z.array(
          z.union([
            z.tuple([z.literal('r'), relayHint]),
            z.tuple([z.literal('r'), relayHint, z.enum(['read', 'write'])]),
          ]),
        ),
      )
      .refine((found) => found.length > 0 && found.every((entry) => entry[1] !== ''), {
        message: 'needs one r tag per relay',
        ...onlyIfValid,
      }),
  }),
  content: z.literal(''),
});

/** NIP-90 job feedback, mirrored for DVM-aware clients; the offered transition is authoritative. */
export const paymentPromptSchema = z.object({
  tags: z.object({
    status: oneTag(
      z.tuple([z.literal('status'), z.literal('payment-required')], z.string()),
      '["status", "payment-required"] tag',
    ),
    amount: oneTag(z.tuple([z.literal('amount'), msat, bolt11]), '["amount", <msat>, <bolt11>] tag'),
    e: oneTag(z.tuple([z.literal('e'), hex64], z.string()), '["e", <task id>] tag'),
    p: oneTag(z.tuple([z.literal('p'), hex64], z.string()), '["p", <poster>] tag'),
    expiration: tagValue('expiration', unixString),
  }),
  content: text(1_000),
});

export function reasonPrefixOf(code: ReasonCode): string {
  return Object.hasOwn(CANT_DO, code)
    ? CANT_DO[code as CantDoCode]
    : INTAKE_REASONS[code as IntakeReasonCode].prefix;
}

export const rejectionSchema = z
  .object({
    tags: z.object({
      ...labelTags(z.literal(REJECTED_LABEL)),
      'e:reply': oneTag(markedEventTag('reply'), 'e tag marked "reply" (the refused event)'),
      'e:task': optionalTag(markedEventTag('task'), 'e tag marked "task"'),
      p: oneTag(z.tuple([z.literal('p'), hex64], z.string()), '["p", <author of the refused event>] tag'),
      code: tagValue('code', z.string().refine(isReasonCode, 'must be a documented reason code')),
    }),
    content: nonEmptyText(1_000), // the reason, `prefix: text`
  })
  .refine(({ tags, content }) => content.startsWith(`${reasonPrefixOf(tags.code)}: `), {
    message: 'must start with the prefix of its code (e.g. "blocked: ")',
    path: ['content'],
    ...onlyIfValid,
  });
