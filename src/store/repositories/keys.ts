// Key fingerprints: the database records, on first use, a fingerprint of each key it is bound to (the preimage
// key that seals its preimages, the agent's Nostr key that signs its events), so an agent started with another
// key, or with a fresh one next to a database restored without its key, is refused instead of running on with
// preimages it can never open. The store keeps what it is given: computing a fingerprint is the caller's.
import { sql } from 'drizzle-orm';
import { InternalError } from '../../domain/errors.ts';
import { integerValue, textValue } from '../column-values.ts';
import type { KeyRecordRepository } from '../port.ts';
import type { RepositoryContext } from '../sql-session.ts';

export function createKeyRecordRepository({ session, now }: RepositoryContext): KeyRecordRepository {
  async function fingerprint(name: string): Promise<string | null> {
    const [row] = await session.rows(sql`SELECT fingerprint FROM key_fingerprints WHERE name = ${name}`);
    return row ? textValue(row.fingerprint, 'key_fingerprints.fingerprint') : null;
  }

  return {
    fingerprint,

    async usage() {
      const [counted] = await session.rows(sql`SELECT COUNT(*) AS sealed FROM fundings`);
      const [sample] = await session.rows(
        sql`SELECT payment_hash FROM fundings ORDER BY created_at, payment_hash LIMIT 1`,
      );
      const [signed] = await session.rows(sql`SELECT event FROM outbox ORDER BY created_at, id LIMIT 1`);
      let signerPubkey: string | null = null;
      if (signed) {
        try {
          const event = JSON.parse(textValue(signed.event, 'outbox.event')) as { pubkey?: unknown };
          signerPubkey = typeof event.pubkey === 'string' ? event.pubkey : null;
        } catch {
          // An unreadable outbox row names no signer; the outbox's own reads report it.
        }
      }
      return {
        sealedPreimages: integerValue(counted?.sealed ?? 0, 'count(fundings)'),
        samplePaymentHash: sample ? textValue(sample.payment_hash, 'fundings.payment_hash') : null,
        signerPubkey,
      };
    },

    async record(name, value) {
      await session.run(sql`
        INSERT INTO key_fingerprints (name, fingerprint, recorded_at) VALUES (${name}, ${value}, ${now()})
        ON CONFLICT (name) DO NOTHING`);
      const recorded = await fingerprint(name);
      if (recorded === null)
        throw new InternalError('Invariant', `the fingerprint of the ${name} key was not recorded`);
      return recorded;
    },

    async replace(name, from, to) {
      await session.run(sql`
        UPDATE key_fingerprints SET fingerprint = ${to}, recorded_at = ${now()}
        WHERE name = ${name} AND fingerprint = ${from}`);
      return (await fingerprint(name)) === to;
    },
  };
}
