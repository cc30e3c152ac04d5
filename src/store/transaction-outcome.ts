// What both dialects do around one transaction, apart from BEGIN / COMMIT / ROLLBACK themselves:
// - refuse statements once the transaction ended;
// - remember whether any statement failed, so a transaction whose `fn` swallowed a database error is rolled
//   back instead of committed (PostgreSQL would refuse to go on anyway; SQLite would commit the rest), and
//   both databases behave the same;
// - turn the driver's "a concurrent transaction got in the way" errors into one typed, retryable error.
import { InternalError } from '../domain/errors.ts';
import type { SqlSession } from './sql-session.ts';
import { driverErrorCode, StoreError } from './store-error.ts';

export interface GuardedSession {
  session: SqlSession;
  /** The first statement error seen in this transaction, if any. */
  readonly failure: unknown;
  /** Called when the transaction ends: any later statement is refused. A statement still running after
   * COMMIT (an un-awaited call) would otherwise run outside the transaction, or inside somebody else's on the
   * same connection. */
  end(): void;
}

export function guardSession(inner: SqlSession): GuardedSession {
  let failure: unknown;
  let failed = false;
  let ended = false;
  const remember = (error: unknown): never => {
    if (!failed) {
      failed = true;
      failure = error;
    }
    throw error;
  };
  const checkOpen = () => {
    if (ended)
      throw new InternalError('Invariant', 'a store transaction was used after it ended (missing await?)');
  };
  return {
    session: {
      dialect: inner.dialect,
      rows: async (query) => {
        checkOpen();
        return inner.rows(query).catch(remember);
      },
      run: async (query) => {
        checkOpen();
        return inner.run(query).catch(remember);
      },
    },
    get failure() {
      return failed ? failure : undefined;
    },
    end() {
      ended = true;
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
