// Small helpers shared by the contract's test files.
import { inspect } from 'node:util';
import * as assert from 'uvu/assert';
import type { EscrowStore } from '../../src/store/port.ts';
import type { StoreErrorKind } from '../../src/store/store-error.ts';
import { StoreError } from '../../src/store/store-error.ts';

/** Fails (instead of hanging the suite) when a concurrency test deadlocks. */
export async function withinSeconds<T>(seconds: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${seconds} s`)), seconds * 1000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts that `promise` rejects, and returns the error. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.unreachable('expected a rejection');
  return undefined;
}

/** Asserts that `promise` rejects with a StoreError of `kind`, and returns it. */
export async function storeRejection(promise: Promise<unknown>, kind: StoreErrorKind): Promise<StoreError> {
  const error = await rejection(promise);
  assert.instance(error, StoreError, `expected StoreError.${kind}, got ${String(error)}`);
  assert.is((error as StoreError).kind, kind);
  return error as StoreError;
}

/** Everything a value shows to a log: String(), JSON, and util.inspect deep enough to reach the error's
 * causes and properties (what pino or console.error would print). */
export function everythingPrintable(value: unknown): string {
  const parts = [String(value), inspect(value, { depth: 8, showHidden: true })];
  if (value instanceof Error) parts.push(value.message, value.stack ?? '');
  try {
    parts.push(JSON.stringify(value, (_, item) => (typeof item === 'bigint' ? item.toString() : item)));
  } catch {
    // A circular value has no JSON form to leak through.
  }
  return parts.join('\n');
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** A meeting point for concurrent transactions: `arrive()` resolves once `parties` callers have arrived. */
export function barrier(parties: number): { arrive(): Promise<void> } {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    arrive() {
      arrived += 1;
      if (arrived === parties) open();
      return opened;
    },
  };
}

/** After a race on one task: exactly one racer won, and the chain holds exactly `length` rows, intact. */
export async function assertOneWinner(
  store: EscrowStore,
  taskId: string,
  results: readonly boolean[],
  length: number,
): Promise<void> {
  assert.is(results.filter(Boolean).length, 1, `winners among ${results.join(', ')}`);
  assert.is((await store.read((tx) => tx.tasks.history(taskId))).length, length);
  assert.ok((await store.verifyAudit()).ok);
}
