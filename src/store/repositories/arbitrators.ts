// Arbitrators: who the agent may name to decide a task's dispute, with the name and fee it announces for them.
// Seeded from the configuration at start (source 'config') and managed with `escrow-agent arbitrators` (source
// 'cli'). A row is never deleted, only deactivated: a task committed to an arbitrator keeps them (the task's own
// record names its arbitrators), and the row keeps their name and fee for the operator.
import { sql } from 'drizzle-orm';
import { InternalError } from '../../domain/errors.ts';
import { isHex32 } from '../../domain/hex.ts';
import { integerValue, moneyValue, oneOf, textValue } from '../column-values.ts';
import {
  ARBITRATOR_SOURCES,
  type ArbitratorInput,
  type ArbitratorRecord,
  type ArbitratorRepository,
  type ArbitratorSource,
} from '../port.ts';
import type { RepositoryContext, Row } from '../sql-session.ts';
import { StoreError } from '../store-error.ts';

const COLUMNS = sql`pubkey, name, fee_base_msat, fee_ppm, active, source, created_at, updated_at`;

export function createArbitratorRepository({ session }: RepositoryContext): ArbitratorRepository {
  async function get(pubkey: string): Promise<ArbitratorRecord | null> {
    const [row] = await session.rows(sql`SELECT ${COLUMNS} FROM arbitrators WHERE pubkey = ${pubkey}`);
    return row ? decode(row) : null;
  }

  return {
    get,

    async list() {
      const rows = await session.rows(sql`SELECT ${COLUMNS} FROM arbitrators ORDER BY pubkey`);
      return rows.map(decode);
    },

    async active() {
      const rows = await session.rows(
        sql`SELECT ${COLUMNS} FROM arbitrators WHERE active = 1 ORDER BY pubkey`,
      );
      return rows.map(decode);
    },

    async upsert(entry, source, now) {
      // Checked before anything is written: on PostgreSQL a refused statement would end the transaction.
      checkEntry(entry, source, now);
      const before = await get(entry.pubkey);
      if (before && sameSettings(before, entry, source)) return 'unchanged';
      const active = entry.active ? 1 : 0;
      await session.run(sql`
        INSERT INTO arbitrators (${COLUMNS})
        VALUES (${entry.pubkey}, ${entry.name}, ${entry.feeBaseMsat}, ${entry.feePpm}, ${active}, ${source},
                ${now}, ${now})
        ON CONFLICT (pubkey) DO UPDATE SET
          name = excluded.name, fee_base_msat = excluded.fee_base_msat, fee_ppm = excluded.fee_ppm,
          active = excluded.active, source = excluded.source, updated_at = excluded.updated_at`);
      return before ? 'updated' : 'created';
    },

    async deactivate(pubkey, now) {
      checkTime(now);
      const changed = await session.run(
        sql`UPDATE arbitrators SET active = 0, updated_at = ${now} WHERE pubkey = ${pubkey} AND active = 1`,
      );
      return changed > 0;
    },
  };
}

function sameSettings(row: ArbitratorRecord, entry: ArbitratorInput, source: ArbitratorSource): boolean {
  return (
    row.name === entry.name &&
    row.feeBaseMsat === entry.feeBaseMsat &&
    row.feePpm === entry.feePpm &&
    row.active === entry.active &&
    row.source === source
  );
}

/** The callers (the configuration's schema, the command line) check what a person typed; this catches a bug. */
function checkEntry(entry: ArbitratorInput, source: ArbitratorSource, now: number): void {
  const problem = !isHex32(entry.pubkey)
    ? 'the pubkey must be 64 lowercase hex characters'
    : typeof entry.name !== 'string'
      ? 'the name must be text'
      : typeof entry.feeBaseMsat !== 'bigint' || entry.feeBaseMsat < 0n
        ? 'fee_base_msat must be a bigint of at least 0'
        : !Number.isSafeInteger(entry.feePpm) || entry.feePpm < 0 || entry.feePpm > 1_000_000
          ? 'fee_ppm must be a whole number from 0 to 1000000'
          : typeof entry.active !== 'boolean'
            ? 'active must be a boolean'
            : !(ARBITRATOR_SOURCES as readonly string[]).includes(source)
              ? `the source must be one of ${ARBITRATOR_SOURCES.join(', ')}`
              : undefined;
  if (problem) throw new InternalError('Invariant', `arbitrators.upsert: ${problem}`);
  checkTime(now);
}

function checkTime(now: number): void {
  if (!Number.isSafeInteger(now)) {
    throw new InternalError('Invariant', `arbitrators: the time must be integer unix seconds, not ${now}`);
  }
}

function decode(row: Row): ArbitratorRecord {
  const active = integerValue(row.active, 'arbitrators.active');
  if (active !== 0 && active !== 1)
    throw new StoreError('CorruptRow', 'column arbitrators.active is not 0 or 1');
  return {
    pubkey: textValue(row.pubkey, 'arbitrators.pubkey'),
    name: textValue(row.name, 'arbitrators.name'),
    feeBaseMsat: moneyValue(row.fee_base_msat, 'arbitrators.fee_base_msat'),
    feePpm: integerValue(row.fee_ppm, 'arbitrators.fee_ppm'),
    active: active === 1,
    source: oneOf(row.source, ARBITRATOR_SOURCES, 'arbitrators.source'),
    createdAt: integerValue(row.created_at, 'arbitrators.created_at'),
    updatedAt: integerValue(row.updated_at, 'arbitrators.updated_at'),
  };
}
