// What a repository needs from a database: run one statement inside the current transaction. The statements
// are drizzle `sql` templates written once in the SQL that SQLite and PostgreSQL share (drizzle renders the
// placeholders for each). Rows come back as plain objects keyed by column name; column-values.ts evens out
// the drivers' integer types.
import { type SQL, sql } from 'drizzle-orm';
import type { Dialect } from './port.ts';
import type { PreimageCipher } from './preimage-cipher.ts';

export type Row = Record<string, unknown>;

export interface SqlSession {
  readonly dialect: Dialect;
  rows(query: SQL): Promise<Row[]>;
  /** Runs a statement and returns how many rows it changed. */
  run(query: SQL): Promise<number>;
}

/** Everything a repository works with during one transaction. */
export interface RepositoryContext {
  session: SqlSession;
  /** Unix seconds, from the caller's clock. */
  now(): number;
  cipher: PreimageCipher;
}

/** `IN (...)` over bound values. Callers skip the query when the list is empty (`IN ()` is not valid SQL). */
export function inList(values: readonly (string | number)[]): SQL {
  return sql`(${sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  )})`;
}

/** Row lock for a read that precedes a write. PostgreSQL locks the row; on SQLite the transaction already
 * holds the database's single write lock (BEGIN IMMEDIATE), which excludes every other writer. */
export function lockForUpdate(session: SqlSession): SQL {
  return session.dialect === 'postgres' ? sql` FOR UPDATE` : sql``;
}
