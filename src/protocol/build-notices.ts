// What the agent says to one person: the NIP-90 payment prompt (a mirror of the offer for DVM-aware
// clients) and the `rejected` answer to an action it refuses (docs/protocol.md, "Payment prompt",
// "Rejections").
import type { EventTemplate } from 'nostr-tools/pure';
import { InternalError } from '../domain/errors.ts';
import type { Hex32 } from '../domain/types.ts';
import { rejectionSchema } from './agent-schemas.ts';
import { KINDS, LABEL_NAMESPACE, REJECTED_LABEL } from './constants.ts';
import { INTAKE_REASONS, type ReasonCode } from './reasons.ts';
import { parseLabelled } from './schemas.ts';

export interface PaymentPromptInput {
  taskId: Hex32;
  poster: Hex32;
  amountMsat: bigint;
  bolt11: string;
  /** The invoice's expiry: relays may drop the prompt after it (NIP-40); the log keeps the offer. */
  expiresAt: number;
  createdAt: number;
  relayHint?: string;
  /** Human text; clients show it next to the invoice. */
  content?: string;
}

export function buildPaymentPrompt(input: PaymentPromptInput): EventTemplate {
  const sats = input.amountMsat / 1000n;
  return {
    kind: KINDS.jobFeedback,
    created_at: input.createdAt,
    tags: [
      ['status', 'payment-required', 'fund the escrow to publish the task to workers'],
      ['amount', input.amountMsat.toString(), input.bolt11],
      ['e', input.taskId, input.relayHint ?? ''],
      ['p', input.poster],
      ['expiration', String(input.expiresAt)],
    ],
    content:
      input.content ?? `Pay ${sats} sat to fund the escrow of this task. The money is held, not taken.`,
  };
}

export interface RejectionInput {
  /** The refused event. */
  eventId: Hex32;
  /** Its (verified) author. */
  author: Hex32;
  taskId: Hex32 | null;
  code: ReasonCode;
  /** `prefix: text`, e.g. from reject() or intakeFailure(). */
  reason: string;
  createdAt: number;
}

/**
 * Throws InternalError('Invariant') for a code that is never answered (the event was not verified, or is not
 * addressed to this agent) or a reason whose prefix does not match its code.
 */
export function buildRejection(input: RejectionInput): EventTemplate {
  if (
    Object.hasOwn(INTAKE_REASONS, input.code) &&
    !INTAKE_REASONS[input.code as keyof typeof INTAKE_REASONS].answered
  ) {
    throw new InternalError('Invariant', `buildRejection: ${input.code} is never answered`);
  }
  const tags = [
    ['L', LABEL_NAMESPACE],
    ['l', REJECTED_LABEL, LABEL_NAMESPACE],
    ['e', input.eventId, '', 'reply'],
  ];
  if (input.taskId !== null) tags.push(['e', input.taskId, '', 'task']);
  tags.push(['p', input.author], ['code', input.code]);
  const template: EventTemplate = {
    kind: KINDS.label,
    created_at: input.createdAt,
    tags,
    content: input.reason,
  };
  const check = parseLabelled(rejectionSchema, template);
  if (!check.ok) throw new InternalError('Invariant', `buildRejection: ${check.text}`);
  return template;
}
