// Typed refusals of the Lightning port. Codes are stable strings that callers switch on; messages are for logs
// and never carry a preimage.

export type LightningErrorCode =
  /** No invoice with this payment hash exists on this node. */
  | 'UnknownHash'
  /** The preimage does not hash to the payment hash the caller expected (or is not 32 bytes of hex). */
  | 'WrongPreimage'
  /** Cancel of a hold that is settled (or whose settlement has started). */
  | 'AlreadySettled'
  /** Settle of a hold that is canceled. */
  | 'AlreadyCanceled'
  /** An invoice with this payment hash was created before, whatever its state. */
  | 'HashReused'
  /** Zero, negative, not an integer, or more than the node can receive or send. */
  | 'AmountInvalid'
  /** Final CLTV delta out of the range payers can route. */
  | 'CltvInvalid'
  /** Expiry not a positive whole number of seconds. */
  | 'ExpiryInvalid'
  /** The invoice cannot be decoded, has no amount, or its signature does not check. */
  | 'InvoiceInvalid'
  /** The invoice is for another network than the node's. */
  | 'WrongNetwork'
  /** Settle of a hold that holds no payment yet (OPEN). */
  | 'NotAccepted'
  /** Any other malformed argument (hash not hex, description too long, ...). */
  | 'InvalidArgument'
  /** The node did not confirm an operation in time; the state is unknown until the next lookup. */
  | 'Timeout'
  /** The node is stopped (or restarting). */
  | 'NodeUnavailable';

export class LightningError extends Error {
  readonly code: LightningErrorCode;

  constructor(code: LightningErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'LightningError';
    this.code = code;
  }
}

export function isLightningError(error: unknown, code?: LightningErrorCode): error is LightningError {
  return error instanceof LightningError && (code === undefined || error.code === code);
}
