// A token bucket per pubkey: `burst` events at once, refilled at `perMinute`. In memory: a restart forgives.
/** `limited` the first time a pubkey runs out (answer it once), `silenced` after that until it refills. */
export type RateVerdict = 'allowed' | 'limited' | 'silenced';

export interface RateGate {
  check(pubkey: string, now: number): RateVerdict;
}

export function createRateGate(options: { perMinute: number; burst: number; maxKeys?: number }): RateGate {
  const buckets = new Map<string, { tokens: number; at: number; told: boolean }>();
  const maxKeys = options.maxKeys ?? 100_000;
  return {
    check(pubkey, now) {
      const bucket = buckets.get(pubkey) ?? { tokens: options.burst, at: now, told: false };
      const refill = ((now - bucket.at) * options.perMinute) / 60;
      bucket.tokens = Math.min(options.burst, bucket.tokens + refill);
      bucket.at = now;
      let verdict: RateVerdict = 'allowed';
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        bucket.told = false;
      } else {
        verdict = bucket.told ? 'silenced' : 'limited';
        bucket.told = true;
      }
      buckets.delete(pubkey);
      buckets.set(pubkey, bucket);
      // Forget the least recently seen keys first, so a flood of new keys cannot exhaust memory.
      if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string);
      return verdict;
    },
  };
}
