// Transactions on the one better-sqlite3 connection. drizzle's SQLite transaction API is synchronous and
// cannot await, so the store drives BEGIN / COMMIT / ROLLBACK itself, one transaction at a time (AsyncMutex).
// Writers start with BEGIN IMMEDIATE: the write lock is taken before the first read, so a compare-and-set
// read can never be overtaken by another process between its SELECT and its UPDATE.
import type Database from 'better-sqlite3';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type { TransactionMode, TransactionRunner } from '../escrow-store.ts';
import type { Row, SqlSession } from '../sql-session.ts';
import { StoreError } from '../store-error.ts';
import { classifyError, guardSession, swallowedFailureError } from '../transaction-outcome.ts';
import { AsyncMutex } from './async-mutex.ts';

export const isSqliteConflict = (code: string) =>
  code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * BEGIN IMMEDIATE, waiting for another process's write lock without blocking the event loop.
 * better-sqlite3 waits for a lock synchronously (busy_timeout), which would freeze the whole process for
 * as long as another process writes (and a second store on the same file in this very process could never
 * release its lock). So each attempt does not wait (busy_timeout 0 for that one statement) and we yield
 * between attempts, until `busyTimeoutMs` has passed.
 */
async function beginImmediate(database: Database.Database, busyTimeoutMs: number): Promise<void> {
  const deadline = Date.now() + busyTimeoutMs;
  const statementTimeout = database.pragma('busy_timeout', { simple: true });
  for (let attempt = 0; ; attempt += 1) {
    database.pragma('busy_timeout = 0');
    try {
      database.exec('BEGIN IMMEDIATE');
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const busy = typeof code === 'string' && isSqliteConflict(code);
      if (!busy || Date.now() >= deadline) throw error;
    } finally {
      database.pragma(`busy_timeout = ${Number(statementTimeout)}`);
    }
    await sleep(Math.min(2 ** attempt, 20) + Math.random() * 5);
  }
}

export function createSqliteRunner(
  database: Database.Database,
  db: BetterSQLite3Database,
  { busyTimeoutMs }: { busyTimeoutMs: number },
): TransactionRunner {
  const mutex = new AsyncMutex();
  const session: SqlSession = {
    dialect: 'sqlite',
    rows: async (query) => db.all<Row>(query),
    run: async (query) => db.run(query).changes,
  };

  async function runOnce<T>(mode: TransactionMode, fn: (session: SqlSession) => Promise<T>): Promise<T> {
    const tracked = guardSession(session);
    try {
      // A read transaction is a consistent snapshot (deferred BEGIN under WAL) that cannot write.
      if (mode === 'write') await beginImmediate(database, busyTimeoutMs);
      else {
        database.pragma('query_only = ON');
        database.exec('BEGIN');
      }
      const result = await fn(tracked.session).finally(() => tracked.end());
      if (tracked.failure !== undefined) throw swallowedFailureError(tracked.failure, isSqliteConflict);
      if (!database.inTransaction) {
        throw new StoreError('TransactionAborted', 'SQLite rolled the transaction back by itself');
      }
      database.exec('COMMIT');
      return result;
    } catch (error) {
      if (database.inTransaction) database.exec('ROLLBACK');
      throw classifyError(error, isSqliteConflict);
    } finally {
      if (mode === 'read') database.pragma('query_only = OFF');
    }
  }

  return {
    dialect: 'sqlite',
    run: (mode, fn) => mutex.runExclusive(() => runOnce(mode, fn)),
    // Waits for the running transaction, if any, to end.
    close: () =>
      mutex.runExclusive(async () => {
        database.close();
      }),
  };
}
