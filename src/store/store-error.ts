// Typed errors of the store. Each is an InternalError with code 'Store' (logged, never sent to a user as is)
// and a `kind` that callers branch on. Messages never carry a preimage or a key: at most a payment hash.
import { InternalError } from '../domain/errors.ts';

export type StoreErrorKind =
  /** A funding with this payment hash exists already: a hash (and its preimage) is never reused. */
  | 'DuplicatePaymentHash'
  /** Another payout for the same task and recipient is in flight or succeeded: never pay twice. */
  | 'PayoutConflict'
  /** No settled hold of the task covers the payout (with what is already paid or paying). */
  | 'PayoutNotCovered'
  /** The database refused the transaction because of a concurrent one (serialization failure, deadlock,
   * or the SQLite write lock held too long). Nothing was written; the caller may retry the whole transaction. */
  | 'TransactionConflict'
  /** A statement failed inside the transaction, so it was rolled back instead of committed. */
  | 'TransactionAborted'
  /** The stored preimage cannot be decrypted with this key (wrong key or tampered ciphertext). */
  | 'PreimageDecryption'
  /** The record asked for does not exist. */
  | 'NotFound'
  /** A stored row cannot be decoded, or disagrees with itself (for example body and columns). */
  | 'CorruptRow';

export class StoreError extends InternalError {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('Store', message, options);
    this.name = `StoreError.${kind}`;
  }

  /** Whether running the same transaction again may succeed. */
  get retryable(): boolean {
    return this.kind === 'TransactionConflict';
  }
}

export function isStoreError(error: unknown, kind?: StoreErrorKind): error is StoreError {
  return error instanceof StoreError && (kind === undefined || error.kind === kind);
}

/** The driver's own error code (pg's SQLSTATE, better-sqlite3's SQLITE_*), looked for through `cause`
 * because drizzle wraps driver errors in a DrizzleQueryError. */
export function driverErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && !(current instanceof InternalError)) return code;
    current = current.cause;
  }
  return undefined;
}
