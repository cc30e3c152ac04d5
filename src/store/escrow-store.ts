// The store both dialects share: a dialect only supplies a TransactionRunner (how to run a function inside
// one transaction on one connection); repositories, audit verification and the projection hash are the same
// code on SQLite and PostgreSQL.
import { AsyncLocalStorage } from 'node:async_hooks';
import { InternalError } from '../domain/errors.ts';
import type { Dialect, EscrowStore } from './port.ts';
import type { PreimageCipher } from './preimage-cipher.ts';
import { computeProjectionHash } from './projection-hash.ts';
import type { SqlSession } from './sql-session.ts';
import { createStoreTransaction } from './store-transaction.ts';
import { verifyAuditChains } from './verify-audit.ts';

export type TransactionMode = 'write' | 'read';

export interface TransactionRunner {
  readonly dialect: Dialect;
  /** Runs `fn` inside one transaction: commits when it resolves, rolls back when it throws. */
  run<T>(mode: TransactionMode, fn: (session: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function createEscrowStore(
  runner: TransactionRunner,
  { clock, cipher }: { clock: () => number; cipher: PreimageCipher },
): EscrowStore {
  // Marks the async context of a running transaction. A nested call would wait for the SQLite mutex held by
  // its own caller (or take a second PostgreSQL connection and lock against itself): refuse it at once.
  const activeTransaction = new AsyncLocalStorage<{ active: boolean }>();
  let closed = false;

  async function within<T>(mode: TransactionMode, fn: (session: SqlSession) => Promise<T>): Promise<T> {
    if (closed) throw new InternalError('Store', 'the store is closed');
    if (activeTransaction.getStore()?.active) {
      throw new InternalError('Invariant', 'store transactions do not nest: use the tx you were given');
    }
    const frame = { active: true };
    try {
      return await activeTransaction.run(frame, () => runner.run(mode, fn));
    } finally {
      // Callbacks scheduled from inside the transaction may run later, after it ended: they may open their own.
      frame.active = false;
    }
  }

  // Timestamps are integer columns on both databases: a fractional clock would fail on one and not the other.
  const now = () => {
    const seconds = clock();
    if (!Number.isSafeInteger(seconds)) {
      throw new InternalError('Invariant', `the store clock must give integer unix seconds, not ${seconds}`);
    }
    return seconds;
  };
  const transactionFor = (session: SqlSession) => createStoreTransaction({ session, now, cipher });

  return {
    dialect: runner.dialect,
    transaction: (fn) => within('write', (session) => fn(transactionFor(session))),
    read: (fn) => within('read', (session) => fn(transactionFor(session))),
    projectionHash: () => within('read', computeProjectionHash),
    verifyAudit: (options) => verifyAuditChains((fn) => within('read', fn), options),
    async close() {
      if (closed) return;
      closed = true;
      await runner.close();
    },
  };
}
