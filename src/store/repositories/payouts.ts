// Payouts: the agent's Lightning payments to a worker or a poster. The intent (state in_flight) is committed
// before the payment is sent; a partial unique index lets at most one payout per task and recipient be
// in flight or succeeded, so the database itself refuses to pay twice. A payout is also refused unless a
// settled hold of the task covers it (with what is already paid or paying): never pay out money not received.
import { sql } from 'drizzle-orm';
import {
  integerValue,
  moneyValue,
  nullableIntegerValue,
  nullableTextValue,
  oneOf,
  textValue,
} from '../column-values.ts';
import type { NewPayout, PayoutAttempt, PayoutRecord, PayoutRepository } from '../port.ts';
import { LIVE_PAYOUT_STATES, PAYOUT_RECIPIENTS, PAYOUT_STATES } from '../schema/values.ts';
import { inList, lockForUpdate, type RepositoryContext, type Row, type SqlSession } from '../sql-session.ts';
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

/** The row with its retry state (payoutFromRow leaves it out: the projection hash must not see the clock). */
export function payoutAttemptFromRow(row: Row): PayoutAttempt {
  return {
    ...payoutFromRow(row),
    nextAttemptAt: nullableIntegerValue(row.next_attempt_at, 'payouts.next_attempt_at'),
    lastError: nullableTextValue(row.last_error, 'payouts.last_error'),
  };
}

/**
 * Refuses a payout when another one to the same recipient is live (PayoutConflict), or when no settled hold
 * of the task covers it with what is already paid or paying (PayoutNotCovered). The funding and task rows
 * are locked first (PostgreSQL) and stay locked until the transaction ends, so concurrent payouts of one
 * task are checked one after the other. The partial unique index stays the last line of defence.
 */
async function checkPayoutAllowed(session: SqlSession, payout: NewPayout): Promise<void> {
  const { taskId, recipient, amountMsat } = payout;
  const [funding] = await session.rows(sql`
    SELECT f.received_msat, t.fee_msat FROM fundings f JOIN tasks t ON t.id = f.task_id
    WHERE f.task_id = ${taskId} AND f.state = 'settled'${lockForUpdate(session)}`);
  const live = await session.rows(sql`
    SELECT recipient, amount_msat FROM payouts WHERE task_id = ${taskId} AND state IN ${inList(LIVE_PAYOUT_STATES)}`);
  if (live.some((row) => row.recipient === recipient)) throw payoutConflict(taskId, recipient);
  if (!funding) {
    throw new StoreError('PayoutNotCovered', `task ${taskId}: no settled hold; a payout must wait for one`);
  }
  const available = live.reduce(
    (left, row) => left - moneyValue(row.amount_msat, 'payouts.amount_msat'),
    moneyValue(funding.received_msat, 'fundings.received_msat') -
      moneyValue(funding.fee_msat, 'tasks.fee_msat'),
  );
  if (amountMsat <= 0n || amountMsat > available) {
    throw new StoreError(
      'PayoutNotCovered',
      `task ${taskId}: a payout of ${amountMsat} msat is not covered (${available} msat left to pay out)`,
    );
  }
}

function payoutConflict(taskId: string, recipient: string): StoreError {
  return new StoreError(
    'PayoutConflict',
    `task ${taskId}: a payout to the ${recipient} is already in flight or succeeded`,
  );
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

    async latestAttempt(taskId, recipient) {
      const [row] = await session.rows(sql`
        SELECT * FROM payouts WHERE task_id = ${taskId} AND recipient = ${recipient}
        ORDER BY attempt DESC LIMIT 1`);
      return row ? payoutAttemptFromRow(row) : null;
    },

    async start(payout) {
      await checkPayoutAllowed(session, payout);
      const { taskId, recipient, bolt11, paymentHash, amountMsat } = payout;
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
      if (!row) throw payoutConflict(taskId, recipient);
      return integerValue(row.id, 'payouts.id');
    },

    async finish(id, outcome, patch = {}) {
      const assignments = [sql`state = ${outcome}`, sql`updated_at = ${now()}`];
      if (patch.routingFeeMsat !== undefined) {
        assignments.push(sql`routing_fee_msat = ${patch.routingFeeMsat}`);
      }
      if (patch.error !== undefined) assignments.push(sql`last_error = ${patch.error}`);
      if (patch.nextAttemptAt !== undefined) assignments.push(sql`next_attempt_at = ${patch.nextAttemptAt}`);
      // Compare-and-set from in_flight: a payment result may be reported twice (node event and reconciler).
      const changed = await session.run(sql`
        UPDATE payouts SET ${sql.join(assignments, sql`, `)} WHERE id = ${id} AND state = 'in_flight'`);
      return changed > 0;
    },
  };
}
