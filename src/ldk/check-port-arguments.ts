// The Lightning port's argument checks, once for every adapter (sandbox, NWC, LND): what the port's contract
// says about hashes, preimages, amounts, descriptions, expiries and final CLTV deltas, refused with the port's
// typed LightningError before anything reaches a node. What depends on the backend (the CLTV range it can
// honour, the most it can receive) is passed in. Pure: no Node built-ins (sha256 from @noble/hashes).
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { isHex32 } from '../domain/hex.ts';
import { LightningError } from './lightning-error.ts';
import type { CreateHoldInvoiceRequest, Hex32 } from './port.ts';

/** What a BOLT 11 description field can carry (639 bytes). */
export const MAX_DESCRIPTION_BYTES = 639;
/** Invoices expire after at most a year (LND's own limit). */
export const MAX_EXPIRY_SECONDS = 365 * 24 * 3600;

/** The final CLTV deltas a backend can honour, both ends included. */
export interface CltvRange {
  minFinalCltvDelta: number;
  maxFinalCltvDelta: number;
  /** Where the range comes from, appended to the refusal (e.g. the backend's own limits). */
  why?: string;
}

/** A payment hash (cancel, lookup, paymentStatus, createHoldInvoice): InvalidArgument unless 64 lowercase hex. */
export function checkPaymentHash(paymentHash: unknown): asserts paymentHash is Hex32 {
  if (!isHex32(paymentHash)) {
    throw new LightningError('InvalidArgument', 'payment hash must be 64 lowercase hex characters');
  }
}

/** sha256 of a 32-byte preimage given as hex, as hex: the payment hash the preimage unlocks. */
export function paymentHashOf(preimage: Hex32): Hex32 {
  return bytesToHex(sha256(hexToBytes(preimage)));
}

/**
 * settle()'s arguments: the preimage must be 64 lowercase hex and, when the caller says which hash it expects,
 * hash to it (WrongPreimage otherwise). Returns the payment hash of the preimage.
 */
export function checkSettleArguments(preimage: unknown, expectedPaymentHash?: Hex32): Hex32 {
  if (!isHex32(preimage)) {
    throw new LightningError('WrongPreimage', 'a preimage is 64 lowercase hex characters');
  }
  const paymentHash = paymentHashOf(preimage);
  if (expectedPaymentHash !== undefined && expectedPaymentHash !== paymentHash) {
    throw new LightningError('WrongPreimage', `the preimage does not hash to ${expectedPaymentHash}`);
  }
  return paymentHash;
}

/**
 * What any invoice needs: a positive whole amount of msat (at most `maxAmountMsat` when the backend has a
 * ceiling of its own), a description of at most 639 UTF-8 bytes, an expiry of 1 s to a year.
 */
export function checkInvoiceArguments(
  request: Pick<CreateHoldInvoiceRequest, 'amountMsat' | 'description' | 'expirySeconds'>,
  maxAmountMsat?: bigint,
): void {
  const { amountMsat, description, expirySeconds } = request;
  if (typeof amountMsat !== 'bigint' || amountMsat <= 0n) {
    throw new LightningError('AmountInvalid', `amount ${String(amountMsat)} msat must be a positive bigint`);
  }
  if (maxAmountMsat !== undefined && amountMsat > maxAmountMsat) {
    throw new LightningError('AmountInvalid', `amount ${amountMsat} msat is above ${maxAmountMsat} msat`);
  }
  if (typeof description !== 'string' || utf8ToBytes(description).length > MAX_DESCRIPTION_BYTES) {
    throw new LightningError(
      'InvalidArgument',
      `description must be a string of at most ${MAX_DESCRIPTION_BYTES} bytes`,
    );
  }
  if (!Number.isInteger(expirySeconds) || expirySeconds <= 0 || expirySeconds > MAX_EXPIRY_SECONDS) {
    throw new LightningError(
      'ExpiryInvalid',
      `expiry ${expirySeconds} s must be a whole number of seconds, 1..${MAX_EXPIRY_SECONDS}`,
    );
  }
}

/** A final CLTV delta the backend can honour: a whole number of blocks inside its range (CltvInvalid). */
export function checkFinalCltvDelta(finalCltvDelta: number, range: CltvRange): void {
  const { minFinalCltvDelta, maxFinalCltvDelta, why } = range;
  if (
    !Number.isInteger(finalCltvDelta) ||
    finalCltvDelta < minFinalCltvDelta ||
    finalCltvDelta > maxFinalCltvDelta
  ) {
    throw new LightningError(
      'CltvInvalid',
      `final CLTV delta ${finalCltvDelta} is outside ${minFinalCltvDelta}..${maxFinalCltvDelta} blocks` +
        (why ? ` (${why})` : ''),
    );
  }
}

/**
 * createHoldInvoice()'s arguments, in the order every adapter checks them: the payment hash, then the invoice
 * arguments, then the final CLTV delta against the backend's range. What the node can receive right now is
 * the adapter's own check, after this one.
 */
export function checkHoldRequest(
  request: CreateHoldInvoiceRequest,
  backend: CltvRange & { maxAmountMsat?: bigint },
): void {
  checkPaymentHash(request.paymentHash);
  checkInvoiceArguments(request, backend.maxAmountMsat);
  checkFinalCltvDelta(request.finalCltvDelta, backend);
}
