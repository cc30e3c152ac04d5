// Every reason a client (or the operator's logs) can get for an event the agent did not act on.
// The decider's refusals are the CantDo codes (src/domain/errors.ts); these are the intake's own.
// `answered`: whether the agent publishes a `rejected` label for it. Nothing that failed before the id and
// signature were verified is ever answered: its author could be forged, and an answer would let anyone make
// the agent talk to (or about) someone else.
import { CANT_DO, type CantDoCode, type ReasonPrefix } from '../domain/errors.ts';

export const INTAKE_REASONS = {
  TooLarge: { prefix: 'invalid', answered: false },
  NotJson: { prefix: 'invalid', answered: false },
  DuplicateKey: { prefix: 'invalid', answered: false },
  ForbiddenKey: { prefix: 'invalid', answered: false },
  BadShape: { prefix: 'invalid', answered: false },
  BadId: { prefix: 'invalid', answered: false },
  BadSignature: { prefix: 'invalid', answered: false },
  AlreadySeen: { prefix: 'duplicate', answered: false },
  NotForThisAgent: { prefix: 'invalid', answered: false },
  RateLimited: { prefix: 'rate-limited', answered: true },
  FutureTimestamp: { prefix: 'invalid', answered: true },
  UnknownAction: { prefix: 'invalid', answered: true },
  MalformedAction: { prefix: 'invalid', answered: true },
  MalformedListing: { prefix: 'invalid', answered: true },
  UnknownTask: { prefix: 'invalid', answered: true },
} as const satisfies Record<string, { prefix: ReasonPrefix; answered: boolean }>;
export type IntakeReasonCode = keyof typeof INTAKE_REASONS;

/** A code the `rejected` label's ["code", …] tag may carry. */
export type ReasonCode = CantDoCode | IntakeReasonCode;
export const REASON_CODES: readonly ReasonCode[] = [
  ...(Object.keys(CANT_DO) as CantDoCode[]),
  ...(Object.keys(INTAKE_REASONS) as IntakeReasonCode[]),
];

export interface IntakeFailure {
  ok: false;
  code: IntakeReasonCode;
  /** `prefix: text` (NIP-01 OK-message style). */
  reason: string;
}

export function intakeFailure(code: IntakeReasonCode, text: string): IntakeFailure {
  return { ok: false, code, reason: `${INTAKE_REASONS[code].prefix}: ${text}` };
}

export function isReasonCode(value: string): value is ReasonCode {
  return (REASON_CODES as readonly string[]).includes(value);
}
