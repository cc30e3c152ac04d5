// Exponential backoff with jitter: initial, 2x, 4x, ... capped at max; jitter shortens each delay by up to that
// fraction so that many agents (or relays) restarting together do not retry in step.
import type { Backoff } from './pool-types.ts';

/** The delay before retry number `attempt` (1 = the first retry). */
export function backoffDelay(backoff: Backoff, attempt: number, random: () => number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent);
  return Math.max(0, Math.round(base * (1 - backoff.jitter * random())));
}
