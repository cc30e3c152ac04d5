// The amount in the human-readable part: a positive decimal number of bitcoin, then an optional
// multiplier letter. Everything is integer msat (bigint); 1 BTC = 10^11 msat, so `p` (10^-12 BTC) is a
// tenth of a msat and a `p` amount must end in 0.
import { Bolt11Error } from './errors.ts';

const MSAT_PER_BITCOIN = 100_000_000_000n;
/** 21 million bitcoin: anything larger cannot be a real payment. */
export const MAX_AMOUNT_MSAT = 21_000_000n * MSAT_PER_BITCOIN;

/** msat per unit for each multiplier, `p` excepted (it divides). */
const MSAT_PER_UNIT = { '': MSAT_PER_BITCOIN, m: 100_000_000n, u: 100_000n, n: 100n } as const;

/** Parses what follows the currency prefix; '' means the invoice names no amount (null). */
export function parseAmount(text: string): bigint | null {
  if (text === '') return null;
  const match = /^([0-9]+)([a-z]?)$/.exec(text);
  if (!match) {
    throw new Bolt11Error(
      'InvalidAmount',
      `the amount "${text.slice(0, 32)}" is not a number with an optional multiplier`,
    );
  }
  const digits = match[1]!;
  const multiplier = match[2]!;
  // BOLT11: the amount is "a positive decimal integer with no leading 0s"; "0" is not positive either.
  if (digits.startsWith('0')) {
    throw new Bolt11Error(
      'InvalidAmount',
      'the amount starts with 0 (it must be a positive number without leading zeros)',
    );
  }
  if (digits.length > 30)
    throw new Bolt11Error('AmountOutOfRange', 'the amount is larger than 21 million bitcoin');
  const value = BigInt(digits);
  let msat: bigint;
  if (multiplier === 'p') {
    if (!digits.endsWith('0')) {
      throw new Bolt11Error('SubMillisatoshiAmount', `the amount ${digits}p is not a whole number of msat`);
    }
    msat = value / 10n;
  } else if (multiplier === '' || multiplier === 'm' || multiplier === 'u' || multiplier === 'n') {
    msat = value * MSAT_PER_UNIT[multiplier];
  } else {
    throw new Bolt11Error('InvalidAmount', `the amount multiplier "${multiplier}" is not one of m, u, n, p`);
  }
  if (msat > MAX_AMOUNT_MSAT)
    throw new Bolt11Error('AmountOutOfRange', 'the amount is larger than 21 million bitcoin');
  return msat;
}

/** The shortest form, as a writer SHOULD use: the largest multiplier that keeps the number whole. */
export function formatAmount(msat: bigint | null): string {
  if (msat === null) return '';
  if (msat <= 0n || msat > MAX_AMOUNT_MSAT) throw new RangeError(`cannot encode an amount of ${msat} msat`);
  for (const multiplier of ['', 'm', 'u', 'n'] as const) {
    const unit = MSAT_PER_UNIT[multiplier];
    if (msat % unit === 0n) return `${msat / unit}${multiplier}`;
  }
  return `${msat * 10n}p`;
}
