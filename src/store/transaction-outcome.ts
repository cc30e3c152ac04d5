// What both dialects do around one transaction, apart from BEGIN / COMMIT / ROLLBACK themselves:
// - remember whether any statement failed, so a transaction whose `fn` swallowed a database error is rolled
//   back instead of committed (PostgreSQL would refuse to go on anyway; SQLite would commit the rest), and
//   both databases behave the same;
// - turn the driver's "a concurrent transaction got in the way" errors into one typed, retryable error.
import type { SqlSession } from './sql-session.ts';
import { driverErrorCode, StoreError } from './store-error.ts';

export interface TrackedSession {
  session: SqlSession;
  /** The first statement error seen in this transaction, if any. */
  readonly failure: unknown;
}

export function trackFailures(inner: SqlSession): TrackedSession {
  let failure: unknown;
  let failed = false;
  const remember = (error: unknown): never => {
    if (!failed) {
      failed = true;
      failure = error;
    }
    throw error;
  };
  return {
    session: {
      dialect: inner.dialect,
      rows: (query) => inner.rows(query).catch(remember),
      run: (query) => inner.run(query).catch(remember),
    },
    get failure() {
      return failed ? failure : undefined;
    },
  };
}

/** Turns a concurrency error from the driver into StoreError 'TransactionConflict'; other errors pass as is. */
export function classifyError(error: unknown, isConflictCode: (code: string) => boolean): unknown {
  if (error instanceof StoreError) return error;
  const code = driverErrorCode(error);
  if (code !== undefined && isConflictCode(code)) {
    return new StoreError(
      'TransactionConflict',
      `the transaction was rolled back by a concurrent one (${code})`,
      {
        cause: error,
      },
    );
  }
  return error;
}

/** The error to throw when `fn` returned normally although one of its statements failed. */
export function swallowedFailureError(failure: unknown, isConflictCode: (code: string) => boolean): unknown {
  const classified = classifyError(failure, isConflictCode);
  if (classified instanceof StoreError) return classified;
  return new StoreError(
    'TransactionAborted',
    'a statement failed inside the transaction; nothing was committed',
    {
      cause: failure,
    },
  );
}
