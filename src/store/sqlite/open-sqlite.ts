// Opens the SQLite store: one better-sqlite3 connection in WAL mode with synchronous=FULL (a commit is on
// disk when COMMIT returns: we hold other people's money), foreign keys on, and the committed migrations
// applied by drizzle's migrator (its __drizzle_migrations table is the record of what ran).
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { InternalError } from '../../domain/errors.ts';
import { createEscrowStore } from '../escrow-store.ts';
import type { EscrowStore } from '../port.ts';
import type { PreimageCipher } from '../preimage-cipher.ts';
import { createSqliteRunner, type GroupCommitStats } from './sqlite-transactions.ts';

const MIGRATIONS = fileURLToPath(new URL('../../../drizzle/sqlite', import.meta.url));
/** How long one statement inside a transaction may wait synchronously for a lock. Under WAL such waits are
 * rare (readers never wait for the writer); the writer's own wait for the write lock is beginImmediate's. */
const STATEMENT_BUSY_TIMEOUT_MS = 250;

export interface SqliteSettings {
  journalMode: string;
  synchronous: number;
  foreignKeys: number;
  busyTimeoutMs: number;
}

export interface SqliteEscrowStore extends EscrowStore {
  /** The connection's pragmas, as SQLite reports them. */
  settings(): SqliteSettings;
  /** Write transactions and COMMITs since the store opened (group commit: sqlite-transactions.ts). */
  groupStats(): GroupCommitStats;
}

function applyMigrations(db: ReturnType<typeof drizzle>): void {
  try {
    migrate(db, { migrationsFolder: MIGRATIONS });
  } catch (error) {
    // Two processes opening a new file at once: the loser's CREATE TABLE finds the winner's table. The
    // winner has recorded its migrations by now, so running the migrator again is a no-op; a genuine
    // failure fails again and is thrown.
    try {
      migrate(db, { migrationsFolder: MIGRATIONS });
    } catch {
      throw error;
    }
  }
}

export async function openSqliteStore(
  path: string,
  options: { cipher: PreimageCipher; clock: () => number; busyTimeoutMs: number },
): Promise<SqliteEscrowStore> {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true });
    // The database holds sealed preimages and who paid whom: readable by its owner only. SQLite gives its -wal and
    // -shm files the main file's permissions, so creating that one with 0600 covers all three.
    if (!existsSync(path)) closeSync(openSync(path, 'wx', 0o600));
    // A database made by an older version (0644) is narrowed too.
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      if (existsSync(file) && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    }
  }
  // While opening, waiting synchronously for another opener is fine: nothing else runs yet.
  const database = new Database(path, { timeout: options.busyTimeoutMs });
  try {
    const journalMode = database.pragma('journal_mode = WAL', { simple: true });
    if (journalMode !== 'wal' && path !== ':memory:') {
      throw new InternalError('Store', `SQLite refused WAL mode (journal_mode is ${String(journalMode)})`);
    }
    database.pragma('synchronous = FULL');
    database.pragma('foreign_keys = ON');
    const db = drizzle({ client: database });
    applyMigrations(db);
    database.pragma(`busy_timeout = ${STATEMENT_BUSY_TIMEOUT_MS}`);
    // Every INTEGER comes back as a bigint: money beyond 2^53 msat must not be rounded.
    database.defaultSafeIntegers(true);
    const runner = createSqliteRunner(database, { busyTimeoutMs: options.busyTimeoutMs });
    const store = createEscrowStore(runner, { clock: options.clock, cipher: options.cipher });
    return {
      ...store,
      groupStats: () => runner.groupStats(),
      settings: () => ({
        journalMode: String(database.pragma('journal_mode', { simple: true })),
        synchronous: Number(database.pragma('synchronous', { simple: true })),
        foreignKeys: Number(database.pragma('foreign_keys', { simple: true })),
        busyTimeoutMs: Number(database.pragma('busy_timeout', { simple: true })),
      }),
    };
  } catch (error) {
    database.close();
    throw error;
  }
}
