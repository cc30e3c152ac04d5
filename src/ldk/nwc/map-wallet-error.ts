// NIP-47 errors to the port's typed errors. NIP-47's codes are coarse (NOT_FOUND, INSUFFICIENT_BALANCE, OTHER,
// INTERNAL...), so a message that starts with one of the port's codes ("HashReused: ...", as our sandbox
// service writes them) is read first; then the NIP-47 code. Callers that must know the state (settle, cancel,
// pay) do not rely on this alone: they look the hash up.
import { LightningError, type LightningErrorCode } from '../lightning-error.ts';
import type { PayFailureReason } from '../port.ts';
import { isPayFailureReason } from './map-transaction.ts';
import type { Nip47Error } from './nip47.ts';

const PORT_CODES: readonly LightningErrorCode[] = [
  'UnknownHash',
  'WrongPreimage',
  'AlreadySettled',
  'AlreadyCanceled',
  'HashReused',
  'AmountInvalid',
  'CltvInvalid',
  'ExpiryInvalid',
  'InvoiceInvalid',
  'WrongNetwork',
  'NotAccepted',
  'InvalidArgument',
  'Timeout',
  'NodeUnavailable',
];

/** Errors a wallet gives before it tries to send anything: the payment surely did not leave. */
export const PAY_REFUSAL_CODES: ReadonlySet<string> = new Set([
  'PAYMENT_FAILED',
  'INSUFFICIENT_BALANCE',
  'QUOTA_EXCEEDED',
  'RESTRICTED',
  'UNAUTHORIZED',
  'RATE_LIMITED',
  'NOT_IMPLEMENTED',
  'BAD_REQUEST',
]);

function leadingWord(message: string): string | undefined {
  return /^([A-Za-z_]+):/.exec(message)?.[1];
}

export function portCodeIn(error: Nip47Error): LightningErrorCode | null {
  const word = leadingWord(error.message);
  return PORT_CODES.find((code) => code === word) ?? null;
}

export function toLightningError(method: string, error: Nip47Error): LightningError {
  const code = portCodeIn(error) ?? codeFor(error.code);
  const detail = portCodeIn(error)
    ? error.message.slice(error.message.indexOf(':') + 1).trim()
    : error.message;
  return new LightningError(code, `${method}: the wallet service answered ${error.code}: ${detail}`);
}

function codeFor(nip47Code: string): LightningErrorCode {
  switch (nip47Code) {
    case 'NOT_FOUND':
      return 'UnknownHash';
    case 'INSUFFICIENT_BALANCE':
      return 'AmountInvalid';
    case 'BAD_REQUEST':
    case 'OTHER':
      return 'InvalidArgument';
    default:
      // RATE_LIMITED, INTERNAL, UNAUTHORIZED, RESTRICTED, QUOTA_EXCEEDED, NOT_IMPLEMENTED, ...: the wallet
      // would not or could not do it now; nothing the caller sent was wrong.
      return 'NodeUnavailable';
  }
}

export function payFailureReasonOf(error: Nip47Error): PayFailureReason {
  if (error.code === 'INSUFFICIENT_BALANCE') return 'insufficient_balance';
  const word = leadingWord(error.message);
  return word !== undefined && isPayFailureReason(word) ? word : 'error';
}
