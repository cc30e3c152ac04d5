// The projection hash: sha256 over the canonical JSON of every task (its decoded body, version and audit
// head), every funding and every payout. It covers what the history decides and nothing the database or
// the wall clock adds: no preimage ciphertext (random IV), no created_at / updated_at of store rows, no
// generated payout ids. Rows are sorted here, by code unit, not by the database's collation, so SQLite and
// PostgreSQL give the same bytes, and so does a projection rebuilt from relays.
import { sql } from 'drizzle-orm';
import { canonicalJson, sha256Hex } from '../domain/canonical.ts';
import { integerValue, textValue } from './column-values.ts';
import { FUNDING_COLUMNS, fundingFromRow } from './repositories/fundings.ts';
import { payoutFromRow } from './repositories/payouts.ts';
import { taskFromRow } from './repositories/tasks.ts';
import type { SqlSession } from './sql-session.ts';

function byKey<T>(key: (item: T) => string): (left: T, right: T) => number {
  return (left, right) => {
    const a = key(left);
    const b = key(right);
    return a < b ? -1 : a > b ? 1 : 0;
  };
}

export async function computeProjectionHash(session: SqlSession): Promise<string> {
  const taskRows = await session.rows(sql`SELECT id, state, version, audit_head, body FROM tasks`);
  const tasks = taskRows
    .map((row) => ({
      task: taskFromRow(row),
      version: integerValue(row.version, 'tasks.version'),
      auditHead: textValue(row.audit_head, 'tasks.audit_head'),
    }))
    .sort(byKey((entry) => entry.task.id));

  const fundings = (await session.rows(sql`SELECT ${FUNDING_COLUMNS} FROM fundings`))
    .map(fundingFromRow)
    .map(({ createdAt: _created, updatedAt: _updated, ...funding }) => funding)
    .sort(byKey((funding) => funding.paymentHash));

  const payouts = (await session.rows(sql`SELECT * FROM payouts`))
    .map(payoutFromRow)
    .map(({ id: _id, createdAt: _created, updatedAt: _updated, ...payout }) => payout)
    .sort(
      byKey((payout) => `${payout.taskId}/${payout.recipient}/${String(payout.attempt).padStart(10, '0')}`),
    );

  return sha256Hex(canonicalJson({ tasks, fundings, payouts }));
}
