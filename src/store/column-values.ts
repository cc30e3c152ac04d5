// Drivers disagree on how integers come back: better-sqlite3 (safe integers on) gives bigint for every
// INTEGER, pg gives BIGINT as a decimal string and INTEGER as a number. Every value read from a row goes
// through one of these, so the rest of the store sees one shape on both databases.
import { StoreError } from './store-error.ts';

/** A money column (bigint msat). */
export function moneyValue(value: unknown, column: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new StoreError('CorruptRow', `column ${column} is not an integer`);
}

/** An integer column that fits a JS number (versions, heights, unix seconds, counts). */
export function integerValue(value: unknown, column: string): number {
  const asBigint = moneyValue(value, column);
  if (asBigint > BigInt(Number.MAX_SAFE_INTEGER) || asBigint < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new StoreError('CorruptRow', `column ${column} is out of the safe integer range`);
  }
  return Number(asBigint);
}

export function nullableIntegerValue(value: unknown, column: string): number | null {
  return value === null || value === undefined ? null : integerValue(value, column);
}

export function textValue(value: unknown, column: string): string {
  if (typeof value === 'string') return value;
  throw new StoreError('CorruptRow', `column ${column} is not text`);
}

export function nullableTextValue(value: unknown, column: string): string | null {
  return value === null || value === undefined ? null : textValue(value, column);
}

/** A text column restricted to a closed set of values (the schema's CHECK constraints say the same). */
export function oneOf<const Allowed extends string>(
  value: unknown,
  allowed: readonly Allowed[],
  column: string,
): Allowed {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as Allowed;
  throw new StoreError('CorruptRow', `column ${column} has an unknown value`);
}
