// The agent's transition events (docs/protocol.md, "Transitions"): one kind 1985 label per state change,
// chained by `prev` tags. Pure: the caller signs the template (the outbox does, in the same transaction
// as the state change).
import type { EventTemplate } from 'nostr-tools/pure';
import { InternalError } from '../domain/errors.ts';
import type { Resolution } from '../domain/types.ts';
import { KINDS, LABEL_NAMESPACE } from './constants.ts';
import { parseTransitionContent } from './parse-transition.ts';
import type { NostrEvent } from './schemas.ts';
import { verdictRefTags } from './transition-tags.ts';
import type { Settlement, Transition, TransitionInput } from './transition-types.ts';

/**
 * Builds the unsigned transition. Throws InternalError('Invariant') rather than return an event the
 * protocol's own parser would refuse: the agent must never sign a malformed entry into a task's history.
 */
export function buildTransition(input: TransitionInput): EventTemplate {
  const tags: string[][] = [
    ['L', LABEL_NAMESPACE],
    ['l', input.state, LABEL_NAMESPACE],
    ['e', input.taskId, input.relayHint ?? '', 'task'],
  ];
  if (input.prev !== null) tags.push(['e', input.prev, '', 'prev']);
  if (input.cause !== null) tags.push(['e', input.cause, '', 'cause']);
  tags.push(['p', input.poster, '', 'poster']);
  if (input.worker !== null) tags.push(['p', input.worker, '', 'worker']);
  tags.push(...stateTags(input));
  const template: EventTemplate = {
    kind: KINDS.label,
    created_at: input.createdAt,
    tags,
    content: input.state === 'offered' ? listingJson(input.details.listing) : '',
  };
  const check = parseTransitionContent(template);
  if (!check.ok) throw new InternalError('Invariant', `buildTransition(${input.state}): ${check.reason}`);
  return template;
}

function stateTags(transition: Transition): string[][] {
  switch (transition.state) {
    case 'offered': {
      const { details } = transition;
      const d = details.listing.tags.find((tag) => tag[0] === 'd')?.[1] ?? '';
      return [
        ['a', `${KINDS.listing}:${details.listing.pubkey}:${d}`],
        ['bolt11', details.bolt11],
        ['payment_hash', details.paymentHash],
        ['amount', details.amountMsat.toString()],
        ['fee', details.feeMsat.toString()],
        ['expires_at', String(details.expiresAt)],
        ['cltv', String(details.finalCltvDelta)],
        ...details.arbitration.arbitrators.map((arbitrator) => ['p', arbitrator, '', 'arbitrator']),
        ...(details.arbitration.arbitrators.length > 0
          ? [['threshold', String(details.arbitration.threshold)]]
          : []),
        ['dispute_deadline_rule', details.arbitration.deadlineRule],
        ['rules', details.arbitration.rulesSha256, String(details.arbitration.rulesVersion)],
      ];
    }
    case 'funded': {
      const { details } = transition;
      return [
        ['amount', details.amountMsat.toString()],
        ['htlc_expiry', String(details.htlcExpiryHeight)],
        ['claim_deadline', String(details.claimDeadlineHeight)],
        ['hold_deadline', String(details.holdDeadlineHeight)],
        ['window_end', String(details.windowEndsAt), 'claim'],
      ];
    }
    case 'claimed':
      return [['window_end', String(transition.details.windowEndsAt), 'work']];
    case 'submitted':
      return [['window_end', String(transition.details.windowEndsAt), 'review']];
    case 'disputed':
      return [
        ['window_end', String(transition.details.windowEndsAt), 'dispute'],
        ['opened_by', transition.details.openedBy],
        ...transition.details.arbitrators.map((arbitrator) => ['p', arbitrator, '', 'arbitrator']),
      ];
    case 'settling':
      return [
        ['reason', transition.details.reason],
        ...resolutionTags(transition.details.resolution),
        ...verdictRefTags(transition.details.verdicts),
      ];
    case 'settled':
      return [
        ...settlementTags(transition.details.settlement),
        ...verdictRefTags(transition.details.verdicts),
      ];
    case 'custody':
      return [
        ['held', transition.details.heldMsat.toString()],
        ...resolutionTags(transition.details.resolution),
        ...settlementTags(transition.details.settlement),
        ...verdictRefTags(transition.details.verdicts),
      ];
    case 'payout_pending':
      return [
        ...transition.details.recipients.map((recipient) => ['recipient', recipient]),
        ['reason', transition.details.reason],
        ['attempts', String(transition.details.attempts)],
        ...settlementTags(transition.details.settlement),
        ...verdictRefTags(transition.details.verdicts),
      ];
    case 'paid':
      return [
        ...transition.details.payouts.map((payout) => [
          'payout',
          payout.recipient,
          payout.amountMsat.toString(),
          payout.paymentHash,
          payout.preimage,
        ]),
        ['routing_fee', transition.details.routingFeeMsat.toString()],
      ];
    case 'refunding':
      return [['reason', transition.details.reason], ...verdictRefTags(transition.details.verdicts)];
    case 'refunded': {
      const { details } = transition;
      return [
        ['payment_hash', details.paymentHash],
        ['amount', details.amountMsat.toString()],
        ['reason', details.reason],
        ['height', String(details.height)],
      ];
    }
    case 'cancelled':
      return transition.details.paymentHash === null
        ? []
        : [['payment_hash', transition.details.paymentHash]];
    case 'expired':
      return [['payment_hash', transition.details.paymentHash]];
    default:
      return assertNever(transition);
  }
}

function resolutionTags(resolution: Resolution): string[][] {
  const tags = [['resolution', resolution.kind]];
  if (resolution.kind === 'split') tags.push(['share_bps', String(resolution.workerShareBps)]);
  return tags;
}

/** Only ever called with the settlement the node reported: the preimage is public from here on. */
function settlementTags(settlement: Settlement | null): string[][] {
  if (settlement === null) return [];
  return [
    ['payment_hash', settlement.paymentHash],
    ['preimage', settlement.preimage],
    ['amount', settlement.amountMsat.toString()],
    ['fee', settlement.feeMsat.toString()],
    ['height', String(settlement.height)],
  ];
}

/** The listing exactly as signed, with no other fields, so verifiers can recompute its id. */
function listingJson(listing: NostrEvent): string {
  const { id, pubkey, created_at, kind, tags, content, sig } = listing;
  return JSON.stringify({ id, pubkey, created_at, kind, tags, content, sig });
}

function assertNever(value: never): never {
  throw new InternalError('Invariant', `buildTransition: unknown state ${JSON.stringify(value)}`);
}
