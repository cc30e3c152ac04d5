// How `escrow-agent task` shows what the agent said: a transition as a state line and its important tags in words
// (amounts in sat, times in UTC, heights as blocks), a refusal as its code and reason, and both as JSON (msat and
// other big integers as strings). Preimages are never shown: a settled transition's proof is public on the relays,
// and `escrow-agent verify` checks it; the terminal says only that it was published.
import { npubEncode } from 'nostr-tools/nip19';
import { formatMsat } from '../../domain/money.ts';
import type { Resolution } from '../../domain/types.ts';
import type { ParsedTransition } from '../../protocol/parse-transition.ts';
import type { AgentAnswer, RejectedAnswer } from './answers.ts';

/** One transition in JSON: its ids, state and details as docs/protocol.md §5.2 names them (no preimages). */
export function transitionJson(transition: ParsedTransition): Record<string, unknown> {
  return {
    type: 'transition',
    eventId: transition.eventId,
    createdAt: transition.createdAt,
    state: transition.state,
    taskId: transition.taskId,
    prev: transition.prev,
    cause: transition.cause,
    poster: transition.poster,
    worker: transition.worker,
    details: detailsJson(transition),
  };
}

export function rejectedJson(answer: RejectedAnswer): Record<string, unknown> {
  return {
    type: 'rejected',
    eventId: answer.event.id,
    createdAt: answer.event.created_at,
    replyTo: answer.replyTo,
    taskId: answer.taskId,
    code: answer.code,
    reason: answer.reason,
  };
}

export function answerJson(answer: AgentAnswer): Record<string, unknown> {
  return answer.type === 'transition' ? transitionJson(answer.transition) : rejectedJson(answer);
}

function detailsJson(transition: ParsedTransition): Record<string, unknown> {
  switch (transition.state) {
    case 'offered': {
      const { listing, ...rest } = transition.details;
      return {
        ...rest,
        title: listing.tags.find((tag) => tag[0] === 'title')?.[1] ?? null,
        workerGetsMsat: rest.amountMsat - rest.feeMsat,
      };
    }
    case 'settled':
    case 'custody':
    case 'payout_pending': {
      const { settlement, ...rest } = transition.details;
      if (!settlement) return { ...rest, settlement: null };
      const { preimage: _preimage, ...proof } = settlement;
      return { ...rest, settlement: { ...proof, preimagePublished: true } };
    }
    case 'paid':
      return {
        ...transition.details,
        payouts: transition.details.payouts.map(({ preimage: _preimage, ...payout }) => ({
          ...payout,
          proofPublished: true,
        })),
      };
    default:
      return { ...transition.details };
  }
}

/** JSON text with big integers (msat) as strings. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_, item) => (typeof item === 'bigint' ? item.toString() : item), indent);
}

/** The transition as text: a heading line, then one line per important tag. */
export function transitionLines(transition: ParsedTransition, indent = '  '): string[] {
  const pairs = detailPairs(transition);
  const width = Math.max(0, ...pairs.map(([name]) => name.length));
  return [
    `${utc(transition.createdAt)}  ${transition.state}  (event ${transition.eventId})`,
    ...pairs.map(([name, value]) => `${indent}${name.padEnd(width)}  ${value}`),
  ];
}

export function rejectedLines(answer: RejectedAnswer): string[] {
  return [
    `${utc(answer.event.created_at)}  rejected  (event ${answer.event.id}, refusing ${answer.replyTo})`,
    `  code    ${answer.code}`,
    `  reason  ${answer.reason}`,
  ];
}

export function answerLines(answer: AgentAnswer): string[] {
  return answer.type === 'transition' ? transitionLines(answer.transition) : rejectedLines(answer);
}

/** The important tags of a transition, in words. */
export function detailPairs(transition: ParsedTransition): Array<[string, string]> {
  switch (transition.state) {
    case 'offered': {
      const { amountMsat, feeMsat, paymentHash, expiresAt, finalCltvDelta, arbitration, bolt11 } =
        transition.details;
      return [
        ['amount', formatMsat(amountMsat)],
        ['fee', formatMsat(feeMsat)],
        ['worker gets', `${formatMsat(amountMsat - feeMsat)} (amount - fee)`],
        ['payment hash', paymentHash],
        ['pay before', utc(expiresAt)],
        ['hold cltv', `${finalCltvDelta} blocks`],
        [
          'disputes',
          arbitration.arbitrators.length === 0
            ? 'none (this task takes no disputes)'
            : `${arbitration.arbitrators.length} arbitrator(s), ${arbitration.threshold} must agree (${arbitration.deadlineRule} at the hold deadline)`,
        ],
        ['hold invoice', bolt11],
      ];
    }
    case 'funded':
      return [
        ['held', formatMsat(transition.details.amountMsat)],
        ['claim window until', utc(transition.details.windowEndsAt)],
        ['hold deadline', `block ${transition.details.holdDeadlineHeight}`],
      ];
    case 'claimed':
      return [
        ['worker', npub(transition.worker)],
        ['work window until', utc(transition.details.windowEndsAt)],
      ];
    case 'submitted':
      return [['review window until', `${utc(transition.details.windowEndsAt)} (silence approves)`]];
    case 'disputed':
      return [
        ['opened by', `the ${transition.details.openedBy}`],
        ['arbitrators', transition.details.arbitrators.map(npub).join(', ')],
        ['dispute window until', utc(transition.details.windowEndsAt)],
      ];
    case 'settling':
      return [
        ['reason', transition.details.reason],
        ['resolution', resolutionText(transition.details.resolution)],
      ];
    case 'settled':
      return settlementPairs(transition.details.settlement);
    case 'custody':
      return [
        ['held by the agent', formatMsat(transition.details.heldMsat)],
        ['resolution', resolutionText(transition.details.resolution)],
        ...settlementPairs(transition.details.settlement),
      ];
    case 'payout_pending':
      return [
        [
          'waiting for an invoice from',
          transition.details.recipients.map((who) => `the ${who}`).join(' and '),
        ],
        ['reason', transition.details.reason],
        ['attempts', String(transition.details.attempts)],
        ...settlementPairs(transition.details.settlement),
      ];
    case 'paid':
      return [
        ...transition.details.payouts.map((payout): [string, string] => [
          `paid to the ${payout.recipient}`,
          `${formatMsat(payout.amountMsat)} (payment hash ${payout.paymentHash}; proof published)`,
        ]),
        ['routing fee', `${formatMsat(transition.details.routingFeeMsat)} (paid by the agent)`],
      ];
    case 'refunding':
      return [['reason', transition.details.reason]];
    case 'refunded':
      return [
        ['back to the poster', formatMsat(transition.details.amountMsat)],
        ['reason', transition.details.reason],
        ['at', `block ${transition.details.height}`],
      ];
    case 'cancelled':
      return [
        [
          'invoice',
          transition.details.paymentHash
            ? `${transition.details.paymentHash} will never be paid`
            : 'none was made; nothing was paid',
        ],
      ];
    case 'expired':
      return [['invoice', `${transition.details.paymentHash} expired unpaid`]];
    default:
      return [];
  }
}

function settlementPairs(
  settlement: { amountMsat: bigint; feeMsat: bigint; height: number } | null,
): Array<[string, string]> {
  if (!settlement) return [];
  return [
    ['settled', `${formatMsat(settlement.amountMsat)} at block ${settlement.height}`],
    ['fee kept', formatMsat(settlement.feeMsat)],
    ['preimage', 'published (anyone can check it: escrow-agent task show)'],
  ];
}

export function resolutionText(resolution: Resolution): string {
  switch (resolution.kind) {
    case 'split':
      return `split: ${resolution.workerShareBps / 100}% of amount - fee to the worker, the rest to the poster`;
    case 'pending_verdict':
      return 'held until the arbitrators decide';
    default:
      return `all of amount - fee to the ${resolution.kind}`;
  }
}

export function utc(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('T', ' ').replace('.000Z', 'Z');
}

export function npub(pubkey: string | null): string {
  if (pubkey === null) return '(none)';
  try {
    return npubEncode(pubkey);
  } catch {
    return pubkey;
  }
}
