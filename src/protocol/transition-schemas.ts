// One schema per transition label the agent signs (docs/protocol.md, "Transitions"). Each parses the tags of
// a kind 1985 event, grouped by purpose (see groupTags), and returns the typed transition.
import { z } from 'zod';
import {
  KINDS,
  LIMITS,
  PAYOUT_RECIPIENTS,
  REFUND_REASONS,
  SETTLE_REASONS,
  type TransitionState,
} from './constants.ts';
import {
  bolt11,
  heightString,
  hex64,
  integerString,
  msat,
  nonEmptyText,
  oneTag,
  onlyIfValid,
  optionalTagValue,
  parseEventJson,
  rolePubkeyTag,
  tagValue,
  text,
  thresholdString,
  tuple,
  unixString,
} from './schemas.ts';
import {
  common,
  commonTags,
  preimageHashes,
  preimageMatches,
  resolutionOf,
  resolutionTags,
  settlementIsWhole,
  settlementOf,
  settlementTags,
  settlementWhole,
  sha256Hex,
  shareBpsOnlyForSplit,
  verdictRefsOf,
  verdictTags,
  windowEnd,
} from './transition-tags.ts';
import type { Transition } from './transition-types.ts';

const listingContent = z.string().transform((json, context) => {
  const parsed = parseEventJson(json, LIMITS.listingBytes);
  if (parsed.ok) return parsed.event;
  context.issues.push({
    code: 'custom',
    message: `must be the task listing event as JSON (${parsed.reason})`,
    input: json,
  });
  return z.NEVER;
});

const payoutTag = z
  .tuple([z.literal('payout'), z.enum(PAYOUT_RECIPIENTS), msat, hex64, hex64])
  .refine((found) => sha256Hex(found[4]) === found[3], {
    message: 'sha256(proof preimage) is not the payout payment hash',
    ...onlyIfValid,
  })
  .transform(([, recipient, amountMsat, paymentHash, preimage]) => ({
    recipient,
    amountMsat,
    paymentHash,
    preimage,
  }));

const reasonText = nonEmptyText(500);
const empty = text(LIMITS.contentChars);

export const transitionSchemas = {
  offered: z
    .object({
      tags: z.object({
        ...commonTags('offered', { prev: 'forbidden' }),
        a: tagValue('a', z.string().regex(/^30402:[0-9a-f]{64}:.+$/s, 'must be 30402:<poster>:<d>')),
        bolt11: tagValue('bolt11', bolt11),
        payment_hash: tagValue('payment_hash', hex64),
        amount: tagValue('amount', msat),
        fee: tagValue('fee', msat),
        expires_at: tagValue('expires_at', unixString),
        cltv: tagValue('cltv', heightString),
        'p:arbitrator': z.preprocess(
          (value) => value ?? [],
          z.array(rolePubkeyTag('arbitrator')).max(20, 'allows at most 20 arbitrators'),
        ),
        threshold: optionalTagValue('threshold', thresholdString),
        dispute_deadline_rule: tagValue(
          'dispute_deadline_rule',
          z.enum(['refund', 'custody'], { error: 'must be "refund" or "custody"' }),
        ),
        rules: oneTag(
          tuple([z.literal('rules'), hex64, integerString(1, 1_000_000, 'the rules version')]),
          '["rules", <sha256 of the rulebook>, <version>] tag',
        ),
      }),
      content: listingContent,
    })
    .refine(
      ({ tags }) =>
        tags['p:arbitrator'].length === 0
          ? tags.threshold === undefined
          : tags.threshold !== undefined && tags.threshold <= tags['p:arbitrator'].length,
      {
        message: 'must be present exactly when there are arbitrators, and at most their number',
        path: ['tags', 'threshold'],
        ...onlyIfValid,
      },
    )
    .refine(({ tags, content }) => content.id === tags['e:task'], {
      message: 'must be the listing whose id is the task id',
      path: ['content'],
      ...onlyIfValid,
    })
    .refine(({ tags, content }) => content.kind === KINDS.listing && content.pubkey === tags['p:poster'], {
      message: 'must be a kind 30402 listing signed by the poster',
      path: ['content'],
      ...onlyIfValid,
    })
    .transform(
      ({ tags, content }): Transition => ({
        state: 'offered',
        ...common(tags),
        details: {
          listing: content,
          bolt11: tags.bolt11,
          paymentHash: tags.payment_hash,
          amountMsat: tags.amount,
          feeMsat: tags.fee,
          expiresAt: tags.expires_at,
          finalCltvDelta: tags.cltv,
          arbitration: {
            arbitrators: tags['p:arbitrator'],
            threshold: tags.threshold ?? 0,
            deadlineRule: tags.dispute_deadline_rule,
            rulesSha256: tags.rules[1],
            rulesVersion: tags.rules[2],
          },
        },
      }),
    ),
  funded: z
    .object({
      tags: z.object({
        ...commonTags('funded', { prev: 'required' }),
        amount: tagValue('amount', msat),
        htlc_expiry: tagValue('htlc_expiry', heightString),
        claim_deadline: tagValue('claim_deadline', heightString),
        hold_deadline: tagValue('hold_deadline', heightString),
        window_end: windowEnd('claim'),
      }),
      content: empty,
    })
    .transform(
      ({ tags }): Transition => ({
        state: 'funded',
        ...common(tags),
        details: {
          amountMsat: tags.amount,
          htlcExpiryHeight: tags.htlc_expiry,
          claimDeadlineHeight: tags.claim_deadline,
          holdDeadlineHeight: tags.hold_deadline,
          windowEndsAt: tags.window_end,
        },
      }),
    ),
  claimed: z
    .object({
      tags: z.object({
        ...commonTags('claimed', { prev: 'required', cause: true, worker: true }),
        window_end: windowEnd('work'),
      }),
      content: empty,
    })
    .transform(
      ({ tags }): Transition => ({
        state: 'claimed',
        ...common(tags),
        details: { windowEndsAt: tags.window_end },
      }),
    ),
  submitted: z
    .object({
      tags: z.object({
        ...commonTags('submitted', { prev: 'required', cause: true, worker: true }),
        window_end: windowEnd('review'),
      }),
      content: empty,
    })
    .transform(
      ({ tags }): Transition => ({
        state: 'submitted',
        ...common(tags),
        details: { windowEndsAt: tags.window_end },
      }),
    ),
  disputed: z
    .object({
      tags: z.object({
        ...commonTags('disputed', { prev: 'required', cause: true, worker: true }),
        opened_by: tagValue(
          'opened_by',
          z.enum(PAYOUT_RECIPIENTS, { error: 'must be "poster" or "worker"' }),
        ),
        window_end: windowEnd('dispute'),
        'p:arbitrator': z.preprocess(
          (value) => value ?? [],
          z.array(rolePubkeyTag('arbitrator')).min(1, 'needs a p tag with role "arbitrator" per arbitrator'),
        ),
      }),
      content: empty,
    })
    .transform(
      ({ tags }): Transition => ({
        state: 'disputed',
        ...common(tags),
        details: {
          windowEndsAt: tags.window_end,
          arbitrators: tags['p:arbitrator'],
          openedBy: tags.opened_by,
        },
      }),
    ),
  settling: z
    .object({
      tags: z
        .object({
          ...commonTags('settling', { prev: 'required' }),
          reason: tagValue('reason', z.enum(SETTLE_REASONS, { error: 'must be a settle reason' })),
          ...resolutionTags,
          ...verdictTags,
        })
        .refine(
          (tags) => (tags.resolution === 'split') === (tags.share_bps !== undefined),
          shareBpsOnlyForSplit,
        ),
      content: empty,
    })
    .transform(
      ({ tags }): Transition => ({
        state: 'settling',
        ...common(tags),
        details: { reason: tags.reason, resolution: resolutionOf(tags), verdicts: verdictRefsOf(tags) },
      }),
    ),
  settled: z
    .object({
      tags: z
        .object({ ...commonTags('settled', { prev: 'required' }), ...settlementTags, ...verdictTags })
        .refine(settlementIsWhole, settlementWhole)
        .refine(preimageMatches, preimageHashes),
      content: empty,
    })
    .transform(
      ({ tags }): Transition => ({
        state: 'settled',
        ...common(tags),
        details: { settlement: settlementOf(tags), verdicts: verdictRefsOf(tags) },
      }),
    ),
  custody: z
    .object({
      tags: z
        .object({
          ...commonTags('custody', { prev: 'required' }),
          held: tagValue('held', msat),
          ...resolutionTags,
          ...settlementTags,
          ...verdictTags,
        })
        .refine(
          (tags) => (tags.resolution === 'split') === (tags.share_bps !== undefined),
          shareBpsOnlyForSplit,
        )
        .refine(settlementIsWhole, settlementWhole)
        .refine(preimageMatches, preimageHashes),
      content: empty,
    })
    .transform(
      ({ tags }): Transition => ({
        state: 'custody',
        ...common(tags),
        details: {
          heldMsat: tags.held,
          resolution: resolutionOf(tags),
          settlement: settlementOf(tags),
          verdicts: verdictRefsOf(tags),
        },
      }),
    ),
  payout_pending: z
    .object({
      tags: z
        .object({
          ...commonTags('payout_pending', { prev: 'required' }),
          // One per payout waiting for an invoice (a split may wait for both sides); the first is the one the
          // reason and the attempts are about.
          recipient: z
            .preprocess(
              (value) => value ?? [],
              z
                .array(
                  tuple([
                    z.literal('recipient'),
                    z.enum(PAYOUT_RECIPIENTS, { error: 'must be "worker" or "poster"' }),
                  ]),
                )
                .min(1, 'needs a ["recipient", "worker" | "poster"] tag per payout waiting for an invoice')
                .max(2, 'allows at most two recipient tags'),
            )
            .refine((found) => new Set(found.map((entry) => entry[1])).size === found.length, {
              message: 'must name each recipient once',
              ...onlyIfValid,
            }),
          reason: tagValue('reason', reasonText),
          attempts: tagValue('attempts', heightString),
          ...settlementTags,
          ...verdictTags,
        })
        .refine(settlementIsWhole, settlementWhole)
        .refine(preimageMatches, preimageHashes),
      content: empty,
    })
    .transform(
      ({ tags }): Transition => ({
        state: 'payout_pending',
        ...common(tags),
        details: {
          recipient: tags.recipient[0]![1],
          recipients: tags.recipient.map((entry) => entry[1]),
          reason: tags.reason,
          attempts: tags.attempts,
          settlement: settlementOf(tags),
          verdicts: verdictRefsOf(tags),
        },
      }),
    ),
  paid: z
    .object({
      tags: z.object({
        ...commonTags('paid', { prev: 'required' }),
        payout: z.preprocess(
          (value) => value ?? [],
          z
            .array(payoutTag)
            .min(1, 'needs one ["payout", recipient, msat, payment_hash, preimage] tag per payout')
            .refine((found) => new Set(found.map((payout) => payout.recipient)).size === found.length, {
              message: 'must name each recipient at most once',
              ...onlyIfValid,
            }),
        ),
        routing_fee: tagValue('routing_fee', msat),
      }),
      content: empty,
    })
    .transform(
      ({ tags }): Transition => ({
        state: 'paid',
        ...common(tags),
        details: { payouts: tags.payout, routingFeeMsat: tags.routing_fee },
      }),
    ),
  refunding: z
    .object({
      tags: z.object({
        ...commonTags('refunding', { prev: 'required' }),
        reason: tagValue('reason', z.enum(REFUND_REASONS, { error: 'must be a refund reason' })),
        ...verdictTags,
      }),
      content: empty,
    })
    .transform(
      ({ tags }): Transition => ({
        state: 'refunding',
        ...common(tags),
        details: { reason: tags.reason, verdicts: verdictRefsOf(tags) },
      }),
    ),
  refunded: z
    .object({
      tags: z.object({
        ...commonTags('refunded', { prev: 'required' }),
        payment_hash: tagValue('payment_hash', hex64),
        amount: tagValue('amount', msat),
        reason: tagValue('reason', z.enum(REFUND_REASONS, { error: 'must be a refund reason' })),
        height: tagValue('height', heightString),
      }),
      content: empty,
    })
    .transform(
      ({ tags }): Transition => ({
        state: 'refunded',
        ...common(tags),
        details: {
          paymentHash: tags.payment_hash,
          amountMsat: tags.amount,
          reason: tags.reason,
          height: tags.height,
        },
      }),
    ),
  cancelled: z
    .object({
      tags: z.object({
        ...commonTags('cancelled', { prev: 'optional' }),
        payment_hash: optionalTagValue('payment_hash', hex64),
      }),
      content: empty,
    })
    .transform(
      ({ tags }): Transition => ({
        state: 'cancelled',
        ...common(tags),
        details: { paymentHash: tags.payment_hash ?? null },
      }),
    ),
  expired: z
    .object({
      tags: z.object({
        ...commonTags('expired', { prev: 'required' }),
        payment_hash: tagValue('payment_hash', hex64),
      }),
      content: empty,
    })
    .transform(
      ({ tags }): Transition => ({
        state: 'expired',
        ...common(tags),
        details: { paymentHash: tags.payment_hash },
      }),
    ),
} satisfies Record<TransitionState, z.ZodType<Transition>>;
