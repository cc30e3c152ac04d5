// The port's typed errors as NIP-47 errors. NIP-47's codes are coarse, so the message starts with the port's
// code ("HashReused: ..."), which the NWC adapter reads back; other clients see a readable message.
import { isLightningError, type LightningErrorCode } from '../lightning-error.ts';
import type { Nip47Error } from '../nwc/nip47.ts';

const NIP47_CODES: Record<LightningErrorCode, string> = {
  UnknownHash: 'NOT_FOUND',
  WrongPreimage: 'OTHER',
  AlreadySettled: 'OTHER',
  AlreadyCanceled: 'OTHER',
  HashReused: 'OTHER',
  AmountInvalid: 'OTHER',
  CltvInvalid: 'OTHER',
  ExpiryInvalid: 'OTHER',
  InvoiceInvalid: 'OTHER',
  WrongNetwork: 'OTHER',
  NotAccepted: 'OTHER',
  InvalidArgument: 'OTHER',
  Timeout: 'INTERNAL',
  NodeUnavailable: 'INTERNAL',
};

/** Never echoes an unexpected error's text (it could carry anything): that stays in the service's log. */
export function toNip47Error(error: unknown): Nip47Error {
  if (isLightningError(error)) return { code: NIP47_CODES[error.code], message: error.message };
  return { code: 'INTERNAL', message: 'internal error of the wallet service' };
}

export function invalidArgument(message: string): Nip47Error {
  return { code: 'OTHER', message: `InvalidArgument: ${message}` };
}
