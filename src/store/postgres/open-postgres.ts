// Opens the PostgreSQL store: a pg Pool, and the committed migrations applied by drizzle's migrator (its
// drizzle.__drizzle_migrations table is the record of what ran) under an advisory lock, so replicas that
// start together migrate once.
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { createEscrowStore } from '../escrow-store.ts';
import type { EscrowStore } from '../port.ts';
import type { PreimageCipher } from '../preimage-cipher.ts';
import { createPostgresRunner } from './postgres-transactions.ts';

const MIGRATIONS = fileURLToPath(new URL('../../../drizzle/pg', import.meta.url));
/** An arbitrary constant naming "the escrow store's migration" among advisory locks. */
const MIGRATION_LOCK = 7_340_271_513;

async function applyMigrations(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  // Lent out, the connection's own 'error' (the server gone mid-migration) is ours to hear: the query fails anyway.
  let broken: Error | undefined;
  const onConnectionError = (error: Error) => {
    broken = error;
  };
  client.on('error', onConnectionError);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.removeListener('error', onConnectionError);
    client.release(broken);
  }
}

export async function openPostgresStore(
  url: string,
  options: {
    cipher: PreimageCipher;
    clock: () => number;
    maxConnections: number;
    onBackgroundError: (error: Error) => void;
  },
): Promise<EscrowStore> {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections });
  // An idle connection that dies emits 'error' on the pool; unheard, it would crash the process.
  pool.on('error', options.onBackgroundError);
  try {
    await applyMigrations(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return createEscrowStore(createPostgresRunner(pool), { clock: options.clock, cipher: options.cipher });
}
