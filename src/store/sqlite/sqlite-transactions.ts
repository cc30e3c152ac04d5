// Transactions on the one better-sqlite3 connection. drizzle's SQLite transaction API is synchronous and
// cannot await, so the store drives BEGIN / COMMIT / ROLLBACK itself, one transaction at a time (AsyncMutex).
// Writers start with BEGIN IMMEDIATE: the write lock is taken before the first read, so a compare-and-set
// read can never be overtaken by another process between its SELECT and its UPDATE.
import { AsyncResource } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import type { SQL } from 'drizzle-orm';
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core';
import type { TransactionMode, TransactionRunner } from '../escrow-store.ts';
import type { Row, SqlSession } from '../sql-session.ts';
import { StoreError } from '../store-error.ts';
import { classifyError, guardSession, swallowedFailureError } from '../transaction-outcome.ts';
import { writesAreUrgent } from '../write-priority.ts';
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

/** The most write transactions committed together (each in its own savepoint): bounds how long the first waits. */
export const MAX_GROUP = 16;

interface Writer {
  fn: (session: SqlSession) => Promise<unknown>;
  /** Urgent writes (write-priority.ts) go ahead of the waiting writers that are not, and end their group. */
  urgent: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Write transactions run, and COMMITs (each an fsync under synchronous=FULL) done, since the store opened. */
export interface GroupCommitStats {
  transactions: number;
  commits: number;
}

export function createSqliteRunner(
  database: Database.Database,
  { busyTimeoutMs }: { busyTimeoutMs: number },
): TransactionRunner & { groupStats(): GroupCommitStats } {
  const mutex = new AsyncMutex();
  const control = controlStatements(database);
  const prepared = cachedStatements(database);
  const savepoint = database.prepare('SAVEPOINT member');
  const release = database.prepare('RELEASE member');
  const rollbackTo = database.prepare('ROLLBACK TO member');
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
  const stats: GroupCommitStats = { transactions: 0, commits: 0 };

  async function readOnce<T>(fn: (session: SqlSession) => Promise<T>): Promise<T> {
    const tracked = guardSession(session);
    try {
      // A read transaction is a consistent snapshot (deferred BEGIN under WAL) that cannot write.
      control.queryOnly();
      control.begin.run();
      const result = await fn(tracked.session).finally(() => tracked.end());
      if (tracked.failure !== undefined) throw swallowedFailureError(tracked.failure, isSqliteConflict);
      control.commit.run();
      return result;
    } catch (error) {
      if (database.inTransaction) control.rollback.run();
      throw classifyError(error, isSqliteConflict);
    } finally {
      control.writable();
    }
  }

  // Group commit. Write transactions that wait for the connection while another one runs join it: each runs in a
  // savepoint of one BEGIN IMMEDIATE ... COMMIT, in the order they asked, each seeing what the ones before it wrote
  // (so every compare-and-set reads the state it would have read one transaction at a time). A member that throws,
  // or whose statement failed, is rolled back to its savepoint and rejected at once; the others go on. Every member
  // that succeeded resolves only after the one COMMIT (one fsync for all of them), so nothing acts on a write that
  // is not durable; if that COMMIT fails, or SQLite rolls the whole transaction back, all of them are rejected and
  // nothing of theirs is written. No member waits for others to arrive: a group is only what already waits. An
  // urgent writer (write-priority.ts: an action, money moving) goes ahead of the waiting writers that are not, and its
  // group commits once no urgent writer waits right behind it.
  const writers: Writer[] = [];
  let groupQueued = false;
  let groupOpen = false;

  function queueGroup() {
    if (groupQueued || groupOpen || writers.length === 0) return;
    groupQueued = true;
    void mutex.runExclusive(runGroup);
  }

  async function runGroup(): Promise<void> {
    groupQueued = false;
    groupOpen = true;
    const succeeded: Array<{ writer: Writer; result: unknown }> = [];
    const failAll = (error: unknown) => {
      for (const { writer } of succeeded.splice(0)) writer.reject(error);
    };
    try {
      try {
        await beginImmediate(control, busyTimeoutMs);
      } catch (error) {
        // The write lock did not come within busyTimeoutMs: every writer waiting now would wait as long.
        const classified = classifyError(error, isSqliteConflict);
        for (const writer of writers.splice(0)) writer.reject(classified);
        return;
      }
      let wholeRolledBack = false;
      let urgentDone = false;
      for (
        let members = 0;
        members < MAX_GROUP && writers.length > 0 && !wholeRolledBack && !urgentDone;
        members++
      ) {
        const writer = writers.shift() as Writer;
        stats.transactions += 1;
        const tracked = guardSession(session);
        try {
          savepoint.run();
          const result = await writer.fn(tracked.session).finally(() => tracked.end());
          if (tracked.failure !== undefined) throw swallowedFailureError(tracked.failure, isSqliteConflict);
          if (!database.inTransaction) {
            throw new StoreError('TransactionAborted', 'SQLite rolled the transaction back by itself');
          }
          release.run();
          succeeded.push({ writer, result });
        } catch (error) {
          writer.reject(classifyError(error, isSqliteConflict));
          if (database.inTransaction) {
            rollbackTo.run();
            release.run();
          } else {
            wholeRolledBack = true;
            failAll(
              new StoreError(
                'TransactionAborted',
                'SQLite rolled back a transaction committed together with this one; nothing was written',
                { cause: error },
              ),
            );
          }
        }
        // Urgent writers share a group with the urgent ones waiting right behind them, never with the others.
        urgentDone = writer.urgent && writers[0]?.urgent !== true;
      }
      if (!database.inTransaction) return;
      try {
        control.commit.run();
        stats.commits += 1;
      } catch (error) {
        if (database.inTransaction) control.rollback.run();
        failAll(classifyError(error, isSqliteConflict));
        return;
      }
      for (const { writer, result } of succeeded.splice(0)) writer.resolve(result);
    } catch (error) {
      // Only a savepoint statement itself can get here: nothing of the group is committed.
      if (database.inTransaction) control.rollback.run();
      failAll(classifyError(error, isSqliteConflict));
    } finally {
      groupOpen = false;
      queueGroup();
    }
  }

  return {
    dialect: 'sqlite',
    run: <T>(mode: TransactionMode, fn: (session: SqlSession) => Promise<T>) => {
      if (mode === 'read') return mutex.runExclusive(() => readOnce(fn));
      return new Promise<T>((resolve, reject) => {
        // The caller's async context (the store's "inside a transaction" mark) goes with its function.
        const writer: Writer = {
          fn: AsyncResource.bind(fn),
          urgent: writesAreUrgent(),
          resolve: resolve as (value: unknown) => void,
          reject,
        };
        // An urgent writer goes behind the urgent ones already waiting, ahead of the others.
        const ahead = writer.urgent ? writers.findIndex((waiting) => !waiting.urgent) : -1;
        if (ahead === -1) writers.push(writer);
        else writers.splice(ahead, 0, writer);
        queueGroup();
      });
    },
    groupStats: () => ({ ...stats }),
    // Waits for the running transaction, if any, to end.
    close: () =>
      mutex.runExclusive(async () => {
        database.close();
      }),
  };
}
