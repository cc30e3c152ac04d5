// Transactions on PostgreSQL: each one on its own pooled connection, READ COMMITTED for writers (a
// compare-and-set UPDATE that meets a concurrent one waits for it, then re-checks its WHERE on the new row:
// exactly one wins), REPEATABLE READ READ ONLY for readers (one snapshot across several SELECTs).
// Serialization failures and deadlocks surface as StoreError 'TransactionConflict'; the store never retries
// by itself, because only the caller knows whether its side effects allow it.
import { drizzle } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import type { TransactionMode, TransactionRunner } from '../escrow-store.ts';
import type { SqlSession } from '../sql-session.ts';
import { StoreError } from '../store-error.ts';
import { classifyError, guardSession, swallowedFailureError } from '../transaction-outcome.ts';

/** serialization_failure, deadlock_detected. */
export const isPostgresConflict = (code: string) => code === '40001' || code === '40P01';

function sessionOn(client: pg.PoolClient): SqlSession {
  const db = drizzle({ client });
  return {
    dialect: 'postgres',
    rows: async (query) => (await db.execute(query)).rows,
    run: async (query) => (await db.execute(query)).rowCount ?? 0,
  };
}

export function createPostgresRunner(pool: pg.Pool): TransactionRunner {
  async function run<T>(mode: TransactionMode, fn: (session: SqlSession) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let brokenConnection: Error | undefined;
    // A checked-out connection that dies between two statements (the server restarted, the network cut) emits
    // 'error' on the client, which the pool no longer listens to while it is lent out: unheard, it would crash the
    // process. The statement in progress, or the next one, fails on its own; the connection is then destroyed.
    const onConnectionError = (error: Error) => {
      brokenConnection = error;
    };
    client.on('error', onConnectionError);
    try {
      await client.query(mode === 'write' ? 'BEGIN' : 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const tracked = guardSession(sessionOn(client));
      const result = await fn(tracked.session).finally(() => tracked.end());
      if (tracked.failure !== undefined) throw swallowedFailureError(tracked.failure, isPostgresConflict);
      const commit = await client.query('COMMIT');
      // PostgreSQL answers COMMIT on a failed transaction with ROLLBACK, not with an error.
      if (commit.command !== 'COMMIT') {
        throw new StoreError('TransactionAborted', 'PostgreSQL rolled the transaction back at COMMIT');
      }
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is unusable: destroy it rather than return it to the pool.
        brokenConnection = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw classifyError(error, isPostgresConflict);
    } finally {
      client.removeListener('error', onConnectionError);
      client.release(brokenConnection);
    }
  }

  return {
    dialect: 'postgres',
    run,
    close: () => pool.end(),
  };
}
