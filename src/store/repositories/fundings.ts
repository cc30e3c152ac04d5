// Fundings: one row per hold invoice, with its preimage encrypted at rest. A payment hash is never reused
// (primary key), and state changes are compare-and-set along the hold invoice's own life:
// open -> accepted -> settled, open | accepted -> cancelled.
import { type SQL, sql } from 'drizzle-orm';
import { InternalError } from '../../domain/errors.ts';
import { integerValue, moneyValue, nullableIntegerValue, oneOf, textValue } from '../column-values.ts';
import type { FundingRecord, FundingRepository, FundingState } from '../port.ts';
import { FUNDING_STATES } from '../schema/values.ts';
import { inList, type RepositoryContext, type Row } from '../sql-session.ts';
import { StoreError } from '../store-error.ts';

const NEXT_FUNDING_STATES: Record<FundingState, readonly FundingState[]> = {
  open: ['accepted', 'cancelled'],
  accepted: ['settled', 'cancelled'],
  settled: [],
  cancelled: [],
};

export function fundingFromRow(row: Row): FundingRecord {
  return {
    paymentHash: textValue(row.payment_hash, 'fundings.payment_hash'),
    taskId: textValue(row.task_id, 'fundings.task_id'),
    state: oneOf(row.state, FUNDING_STATES, 'fundings.state'),
    amountMsat: moneyValue(row.amount_msat, 'fundings.amount_msat'),
    receivedMsat: moneyValue(row.received_msat, 'fundings.received_msat'),
    bolt11: textValue(row.bolt11, 'fundings.bolt11'),
    htlcExpiryHeight: nullableIntegerValue(row.htlc_expiry_height, 'fundings.htlc_expiry_height'),
    claimDeadlineHeight: nullableIntegerValue(row.claim_deadline_height, 'fundings.claim_deadline_height'),
    createdAt: integerValue(row.created_at, 'fundings.created_at'),
    updatedAt: integerValue(row.updated_at, 'fundings.updated_at'),
  };
}

// Every column but preimage_enc: the ciphertext is read only by revealPreimage.
export const FUNDING_COLUMNS = sql.raw(
  'payment_hash, task_id, state, amount_msat, received_msat, bolt11, htlc_expiry_height, ' +
    'claim_deadline_height, created_at, updated_at',
);

export function createFundingRepository({ session, now, cipher }: RepositoryContext): FundingRepository {
  return {
    async get(paymentHash) {
      const [row] = await session.rows(
        sql`SELECT ${FUNDING_COLUMNS} FROM fundings WHERE payment_hash = ${paymentHash}`,
      );
      return row ? fundingFromRow(row) : null;
    },

    async listByState(states) {
      if (states.length === 0) return [];
      const rows = await session.rows(
        sql`SELECT ${FUNDING_COLUMNS} FROM fundings WHERE state IN ${inList(states)} ORDER BY payment_hash`,
      );
      return rows.map(fundingFromRow);
    },

    async insert({ taskId, paymentHash, preimage, bolt11, amountMsat }) {
      const sealed = cipher.seal(paymentHash, preimage);
      const at = now();
      // ON CONFLICT DO NOTHING instead of catching a unique violation: on PostgreSQL a failed statement
      // aborts the whole transaction, and the caller must be able to carry on after this refusal.
      const inserted = await session.run(sql`
        INSERT INTO fundings (payment_hash, task_id, preimage_enc, state, amount_msat, received_msat, bolt11,
                              htlc_expiry_height, claim_deadline_height, created_at, updated_at)
        VALUES (${paymentHash}, ${taskId}, ${sealed}, 'open', ${amountMsat}, ${0n}, ${bolt11}, NULL, NULL,
                ${at}, ${at})
        ON CONFLICT (payment_hash) DO NOTHING`);
      if (inserted === 0) {
        throw new StoreError('DuplicatePaymentHash', `payment hash ${paymentHash} was used before`);
      }
    },

    async revealPreimage(paymentHash) {
      const [row] = await session.rows(
        sql`SELECT preimage_enc FROM fundings WHERE payment_hash = ${paymentHash}`,
      );
      if (!row) throw new StoreError('NotFound', `no funding with payment hash ${paymentHash}`);
      return cipher.open(paymentHash, textValue(row.preimage_enc, 'fundings.preimage_enc'));
    },

    async transition(paymentHash, from, to, patch = {}) {
      const allowed = from.filter((state) => NEXT_FUNDING_STATES[state].includes(to));
      if (allowed.length !== from.length || from.length === 0) {
        throw new InternalError('Invariant', `a funding cannot go from ${from.join('|')} to ${to}`);
      }
      const assignments: SQL[] = [sql`state = ${to}`, sql`updated_at = ${now()}`];
      if (patch.receivedMsat !== undefined) assignments.push(sql`received_msat = ${patch.receivedMsat}`);
      if (patch.htlcExpiryHeight !== undefined) {
        assignments.push(sql`htlc_expiry_height = ${patch.htlcExpiryHeight}`);
      }
      if (patch.claimDeadlineHeight !== undefined) {
        assignments.push(sql`claim_deadline_height = ${patch.claimDeadlineHeight}`);
      }
      // Compare-and-set: node events arrive twice or late; only the first one that finds the expected
      // state changes anything.
      const changed = await session.run(sql`
        UPDATE fundings SET ${sql.join(assignments, sql`, `)}
        WHERE payment_hash = ${paymentHash} AND state IN ${inList(from)}`);
      return changed > 0;
    },
  };
}
