// Why a string is not an invoice we may act on. Every refusal of the decoder is a Bolt11Error with one of
// these stable codes; its message is plain text that is safe to show to the person who sent the invoice
// (it never echoes the whole string back).

export const BOLT11_ERROR_CODES = [
  // the string
  'NotAString',
  'TooLong',
  'MixedCase',
  'Malformed',
  'BadChecksum',
  // the human-readable part
  'NotAnInvoice',
  'UnknownNetwork',
  'InvalidAmount',
  'SubMillisatoshiAmount',
  'AmountOutOfRange',
  // the data part
  'TooShort',
  'TruncatedField',
  'NonZeroPadding',
  'NonMinimalField',
  'InvalidField',
  'DuplicateField',
  'MissingPaymentHash',
  'MissingPaymentSecret',
  'MissingDescription',
  'ConflictingDescription',
  'UnknownRequiredFeature',
  // the signature
  'InvalidRecoveryId',
  'SignatureNotRecoverable',
  'HighSSignature',
  'SignatureMismatch',
] as const;
export type Bolt11ErrorCode = (typeof BOLT11_ERROR_CODES)[number];

export class Bolt11Error extends Error {
  constructor(
    readonly code: Bolt11ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = `Bolt11Error.${code}`;
  }
}
