// Two error families with stable codes (see docs/protocol.md, "Reasons"):
// - CantDo: a refusal that is safe to tell the person who asked, over Nostr, with a NIP-01 prefix;
// - InternalError: something on our side went wrong; logged with its code, never sent as is.

export type ReasonPrefix = 'invalid' | 'blocked' | 'duplicate' | 'rate-limited' | 'error';

export const CANT_DO = {
  AmountOutOfPolicy: 'invalid',
  TitleTooLong: 'invalid',
  WindowsDoNotFitHold: 'invalid',
  InvalidWindows: 'invalid',
  InvalidVerdict: 'invalid',
  UnknownArbitrator: 'invalid',
  InvalidThreshold: 'invalid',
  StatementTooLong: 'invalid',
  WrongPaymentHash: 'invalid',
  AmountMismatch: 'invalid',
  NotYourTask: 'blocked',
  NotAnArbitrator: 'blocked',
  OwnTask: 'blocked',
  WrongState: 'blocked',
  AlreadyClaimed: 'blocked',
  DeadlinePassed: 'blocked',
  PayoutInFlight: 'blocked',
  DisputesNotOffered: 'blocked',
  ListingInUse: 'blocked',
  NotAcceptingTasks: 'blocked',
  NothingToDo: 'duplicate',
  VerdictAlreadyGiven: 'duplicate',
  TaskExists: 'duplicate',
} as const satisfies Record<string, ReasonPrefix>;
export type CantDoCode = keyof typeof CANT_DO;

export interface Rejection {
  code: CantDoCode;
  /** `prefix: text`, ready for an OK false / notice. */
  message: string;
}

export function reject(code: CantDoCode, text: string): Rejection {
  return { code, message: `${CANT_DO[code]}: ${text}` };
}

export const INTERNAL_ERRORS = ['Lightning', 'Store', 'Relay', 'Config', 'Invariant'] as const;
export type InternalErrorCode = (typeof INTERNAL_ERRORS)[number];

export class InternalError extends Error {
  constructor(
    readonly code: InternalErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = `InternalError.${code}`;
  }
}
