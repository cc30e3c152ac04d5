// Polling helpers for Lightning tests: nodes answer asynchronously, so tests wait for a condition with a
// deadline and fail with a message that says what never happened.
import { randomBytes } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';

export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function newPreimage(): { preimage: string; paymentHash: string } {
  const preimage = randomBytes(32);
  return { preimage: preimage.toString('hex'), paymentHash: Buffer.from(sha256(preimage)).toString('hex') };
}

/** Runs `action` and returns the error it throws (or fails if it does not throw). */
export async function thrown(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, got none');
}
