// Urgent writes: the store transactions of work that moves money or answers a person's action (an approval, the
// settle that follows it, a payout, the relay record of a settlement) go before those of bulk work (new offers,
// their outbox rounds) wherever writers wait for each other. On SQLite, write transactions wait in one queue and
// commit in groups (sqlite-transactions.ts): an urgent one goes ahead of the waiting ones that are not, and its
// group (shared with the urgent ones waiting right behind it) commits right after, so it never waits for offers.
// The mark follows the async context: everything a job awaits inside urgentWrites() is urgent. PostgreSQL commits
// each transaction alone and ignores the mark.
import { AsyncLocalStorage } from 'node:async_hooks';

const urgent = new AsyncLocalStorage<true>();

/** Runs `fn` with every store write it makes (awaited or not) marked urgent. */
export function urgentWrites<T>(fn: () => T): T {
  return urgent.run(true, fn);
}

/** Whether the caller's writes are urgent. */
export function writesAreUrgent(): boolean {
  return urgent.getStore() === true;
}
