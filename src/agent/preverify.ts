// Signatures checked ahead, on worker threads (src/crypto/verify-pool.ts), for events that wait in the intake
// queue: when a burst arrives, the next events' signatures are being verified on other cores while the current one
// is handled, and the intake finds the verdict ready when it gets there. Only a verdict is kept, for the exact
// (signature, id, key) triple read from the raw text, which is a fact about those three strings whoever sent them:
// the intake still recomputes the id from the parsed event and uses the verdict only for that same triple. Events
// whose id is known already (duplicates) are not sent; at most `capacity` verdicts wait, and each is forgotten once
// its event left the intake.
import type { VerifyPool } from '../crypto/verify-pool.ts';
import type { BoundedSet } from './seen-ids.ts';

export interface Preverifier {
  /** Starts checking a waiting event's signature; the returned function forgets it once the event was handled. */
  ahead(id: string | null, pubkey: string | null, sig: string | null): () => void;
  /** The verdict started for this triple, if any (a rejected promise: verify on the caller's thread instead). */
  take(sig: string, id: string, pubkey: string): Promise<boolean> | undefined;
  /** Verdicts started and not yet forgotten. */
  readonly size: number;
  /** Verdicts started since creation (a figure for the bench and tests). */
  readonly started: number;
  close(): Promise<void>;
}

const nothing = () => {};

export function createPreverifier(pool: VerifyPool, seen: BoundedSet, capacity = 20_000): Preverifier {
  const verdicts = new Map<string, Promise<boolean>>();
  let started = 0;
  return {
    ahead(id, pubkey, sig) {
      if (id === null || pubkey === null || sig === null) return nothing;
      if (verdicts.size >= capacity || seen.has(id)) return nothing;
      const key = `${sig}${id}${pubkey}`;
      if (verdicts.has(key)) return nothing;
      const verdict = pool.verify(sig, id, pubkey);
      verdict.catch(() => {}); // a failed pool is seen by take(); never an unhandled rejection
      verdicts.set(key, verdict);
      started += 1;
      return () => verdicts.delete(key);
    },
    take(sig, id, pubkey) {
      return verdicts.get(`${sig}${id}${pubkey}`);
    },
    get size() {
      return verdicts.size;
    },
    get started() {
      return started;
    },
    close: () => pool.close(),
  };
}
