// Payouts: the agent's Lightning payments to a worker or a poster. The intent (state in_flight) is committed
// before the payment is sent; a partial unique index lets at most one payout per task and recipient be
// in flight or succeeded, so the database itself refuses to pay twice.
import { sql } from 'drizzle-orm';
import { integerValue, moneyValue, nullableIntegerValue, oneOf, textValue } from '../column-values.ts';
import type { PayoutRecord, PayoutRepository } from '../port.ts';
import { PAYOUT_RECIPIENTS, PAYOUT_STATES } from '../schema/values.ts';
import type { RepositoryContext, Row } from '../sql-session.ts';
import { StoreError } from '../store-error.ts';

export function payoutFromRow(row: Row): PayoutRecord {
  return {
    id: integerValue(row.id, 'payouts.id'),
    taskId: textValue(row.task_id, 'payouts.task_id'),
    recipient: oneOf(row.recipient, PAYOUT_RECIPIENTS, 'payouts.recipient'),
    bolt11: textValue(row.bolt11, 'payouts.bolt11'),
    paymentHash: textValue(row.payment_hash, 'payouts.payment_hash'),
    amountMsat: moneyValue(row.amount_msat, 'payouts.amount_msat'),
    state: oneOf(row.state, PAYOUT_STATES, 'payouts.state'),
    routingFeeMsat: moneyValue(row.routing_fee_msat, 'payouts.routing_fee_msat'),
    attempt: integerValue(row.attempt, 'payouts.attempt'),
    createdAt: integerValue(row.created_at, 'payouts.created_at'),
    updatedAt: integerValue(row.updated_at, 'payouts.updated_at'),
  };
}

export function createPayoutRepository({ session, now }: RepositoryContext): PayoutRepository {
  return {
    async listInFlight() {
      const rows = await session.rows(sql`SELECT * FROM payouts WHERE state = 'in_flight' ORDER BY id`);
      return rows.map(payoutFromRow);
    },

    async forTask(taskId) {
      const rows = await session.rows(
        sql`SELECT * FROM payouts WHERE task_id = ${taskId} ORDER BY recipient, attempt`,
      );
      return rows.map(payoutFromRow);
    },

    async start({ taskId, recipient, bolt11, paymentHash, amountMsat }) {
      const [last] = await session.rows(sql`
        SELECT MAX(attempt) AS attempt FROM payouts WHERE task_id = ${taskId} AND recipient = ${recipient}`);
      const attempt = (nullableIntegerValue(last?.attempt, 'payouts.attempt') ?? 0) + 1;
      const at = now();
      // ON CONFLICT DO NOTHING covers the partial unique index (one live payout) and the attempt number
      // (a concurrent start that read the same last attempt): either way this payout is refused, and the
      // transaction stays usable (on PostgreSQL a failed statement would abort it).
      const [row] = await session.rows(sql`
        INSERT INTO payouts (task_id, recipient, bolt11, payment_hash, amount_msat, state, routing_fee_msat,
                             attempt, created_at, updated_at)
        VALUES (${taskId}, ${recipient}, ${bolt11}, ${paymentHash}, ${amountMsat}, 'in_flight', ${0n},
                ${attempt}, ${at}, ${at})
        ON CONFLICT DO NOTHING
        RETURNING id`);
      if (!row) {
        throw new StoreError(
          'PayoutConflict',
          `task ${taskId}: a payout to the ${recipient} is already in flight or succeeded`,
        );
      }
      return integerValue(row.id, 'payouts.id');
    },

    async finish(id, outcome, patch = {}) {
      const assignments = [sql`state = ${outcome}`, sql`updated_at = ${now()}`];
      if (patch.routingFeeMsat !== undefined)
        assignments.push(sql`routing_fee_msat = ${patch.routingFeeMsat}`);
      // Compare-and-set from in_flight: a payment result may be reported twice (node event and reconciler).
      const changed = await session.run(sql`
        UPDATE payouts SET ${sql.join(assignments, sql`, `)} WHERE id = ${id} AND state = 'in_flight'`);
      return changed > 0;
    },
  };
}
