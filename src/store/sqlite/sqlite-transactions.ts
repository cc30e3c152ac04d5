// Transactions on the one better-sqlite3 connection. drizzle's SQLite transaction API is synchronous and
// cannot await, so the store drives BEGIN / COMMIT / ROLLBACK itself, one transaction at a time (AsyncMutex).
// Writers start with BEGIN IMMEDIATE: the write lock is taken before the first read, so a compare-and-set
// read can never be overtaken by another process between its SELECT and its UPDATE.
import type Database from 'better-sqlite3';
import type { SQL } from 'drizzle-orm';
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core';
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
async function beginImmediate(control: Control, busyTimeoutMs: number): Promise<void> {
  const deadline = Date.now() + busyTimeoutMs;
  for (let attempt = 0; ; attempt += 1) {
    control.noBusyWait();
    try {
      control.beginImmediate.run();
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const busy = typeof code === 'string' && isSqliteConflict(code);
      if (!busy || Date.now() >= deadline) throw error;
    } finally {
      control.restoreBusyWait();
    }
    await sleep(Math.min(2 ** attempt, 20) + Math.random() * 5);
  }
}

/**
 * The statements every transaction runs: BEGIN, COMMIT and ROLLBACK prepared once. A PRAGMA takes effect when it is
 * compiled, not when a prepared copy runs again, so those are compiled each time (exec).
 */
function controlStatements(database: Database.Database) {
  const statementTimeout = Number(database.pragma('busy_timeout', { simple: true }));
  return {
    noBusyWait: () => database.exec('PRAGMA busy_timeout = 0'),
    restoreBusyWait: () => database.exec(`PRAGMA busy_timeout = ${statementTimeout}`),
    queryOnly: () => database.exec('PRAGMA query_only = ON'),
    writable: () => database.exec('PRAGMA query_only = OFF'),
    beginImmediate: database.prepare('BEGIN IMMEDIATE'),
    begin: database.prepare('BEGIN'),
    commit: database.prepare('COMMIT'),
    rollback: database.prepare('ROLLBACK'),
  };
}
type Control = ReturnType<typeof controlStatements>;

/** Prepared statements by SQL text, the least recently used dropped past this many. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Runs drizzle `sql` templates on prepared statements kept by their text: preparing a statement costs more than
 * running most of ours (a profile of the intake found a third of SQLite's time in preparing). The templates are
 * rendered by drizzle's SQLite dialect, as drizzle's own `db.all` / `db.run` do, with the same parameters.
 */
function cachedStatements(database: Database.Database) {
  const dialect = new SQLiteSyncDialect();
  const cache = new Map<string, Database.Statement>();
  return (query: SQL) => {
    const rendered = dialect.sqlToQuery(query);
    let statement = cache.get(rendered.sql);
    if (statement === undefined) {
      statement = database.prepare(rendered.sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    } else cache.delete(rendered.sql);
    cache.set(rendered.sql, statement);
    return { statement, params: rendered.params };
  };
}

export function createSqliteRunner(
  database: Database.Database,
  { busyTimeoutMs }: { busyTimeoutMs: number },
): TransactionRunner {
  const mutex = new AsyncMutex();
  const control = controlStatements(database);
  const prepared = cachedStatements(database);
  const session: SqlSession = {
    dialect: 'sqlite',
    rows: async (query) => {
      const { statement, params } = prepared(query);
      return statement.all(...params) as Row[];
    },
    run: async (query) => {
      const { statement, params } = prepared(query);
      return statement.run(...params).changes;
    },
  };

  async function runOnce<T>(mode: TransactionMode, fn: (session: SqlSession) => Promise<T>): Promise<T> {
    const tracked = guardSession(session);
    try {
      // A read transaction is a consistent snapshot (deferred BEGIN under WAL) that cannot write.
      if (mode === 'write') await beginImmediate(control, busyTimeoutMs);
      else {
        control.queryOnly();
        control.begin.run();
      }
      const result = await fn(tracked.session).finally(() => tracked.end());
      if (tracked.failure !== undefined) throw swallowedFailureError(tracked.failure, isSqliteConflict);
      if (!database.inTransaction) {
        throw new StoreError('TransactionAborted', 'SQLite rolled the transaction back by itself');
      }
      control.commit.run();
      return result;
    } catch (error) {
      if (database.inTransaction) control.rollback.run();
      throw classifyError(error, isSqliteConflict);
    } finally {
      if (mode === 'read') control.writable();
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
