// The arbitrators the running agent offers: the configuration's `policy.arbitrators` are seeded into the store at
// start, beside those the operator added with `escrow-agent arbitrators add`, and the active set is read back from
// the store (the policy's arbitrators and the announced profiles). A task names its arbitrators when it is posted
// and keeps them: deactivating one changes only what later tasks are offered.
import type { ArbitratorProfile } from '../domain/types.ts';
import type { EscrowStore } from '../store/index.ts';
import type { ArbitratorEntry } from './config.ts';

export interface SeedReport {
  /** Pubkeys recorded for the first time. */
  created: string[];
  /** Pubkeys whose name, fee, active flag or source changed. */
  updated: string[];
  /** Pubkeys the configuration seeded earlier and no longer names: deactivated. */
  deactivated: string[];
}

/**
 * Upserts the configuration's entries (source 'config'), in one transaction: an entry with `active = false`
 * deactivates (or records a retired arbitrator inactive). An arbitrator the configuration seeded before and no
 * longer names is deactivated; those added with the command line (source 'cli') are left as they are, unless the
 * configuration names them (the configuration then wins, and the row's source becomes 'config').
 */
export async function seedArbitrators(
  store: EscrowStore,
  entries: readonly ArbitratorEntry[],
  now: number,
): Promise<SeedReport> {
  return store.transaction(async (tx) => {
    const report: SeedReport = { created: [], updated: [], deactivated: [] };
    const named = new Set<string>();
    for (const entry of entries) {
      named.add(entry.pubkey);
      const outcome = await tx.arbitrators.upsert(entry, 'config', now);
      if (outcome === 'created') report.created.push(entry.pubkey);
      else if (outcome === 'updated' && !report.updated.includes(entry.pubkey))
        report.updated.push(entry.pubkey);
    }
    for (const row of await tx.arbitrators.active()) {
      if (row.source !== 'config' || named.has(row.pubkey)) continue;
      if (await tx.arbitrators.deactivate(row.pubkey, now)) report.deactivated.push(row.pubkey);
    }
    return report;
  });
}

/** The active arbitrators as the policy announces them, sorted by pubkey. */
export async function activeArbitrators(store: EscrowStore): Promise<ArbitratorProfile[]> {
  const rows = await store.read((tx) => tx.arbitrators.active());
  return rows
    .map(({ pubkey, name, feeBaseMsat, feePpm }) => ({ pubkey, name, feeBaseMsat, feePpm }))
    .sort((left, right) => (left.pubkey < right.pubkey ? -1 : left.pubkey > right.pubkey ? 1 : 0));
}
