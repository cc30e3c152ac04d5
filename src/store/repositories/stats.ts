// Stats: what the metrics and /health count, each a GROUP BY or an aggregate over indexed columns, so a scrape
// costs the same with a hundred tasks or a hundred thousand.
import { sql } from 'drizzle-orm';
import { integerValue, nullableIntegerValue, textValue } from '../column-values.ts';
import type { StatsReader } from '../port.ts';
import type { RepositoryContext, Row } from '../sql-session.ts';

function countsOf(rows: Row[], table: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) counts[textValue(row.state, `${table}.state`)] = integerValue(row.n, 'count');
  return counts;
}

export function createStatsReader({ session }: RepositoryContext): StatsReader {
  return {
    async snapshot() {
      const tasks = await session.rows(sql`SELECT state, COUNT(*) AS n FROM tasks GROUP BY state`);
      const fundings = await session.rows(sql`SELECT state, COUNT(*) AS n FROM fundings GROUP BY state`);
      const [payouts] = await session.rows(
        sql`SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM payouts WHERE state = 'in_flight'`,
      );
      const [outbox] = await session.rows(sql`
        SELECT COUNT(*) AS n, MIN(o.created_at) AS oldest
        FROM outbox_relays d JOIN outbox o ON o.id = d.event_id WHERE d.status = 'pending'`);
      return {
        tasksByState: countsOf(tasks, 'tasks'),
        fundingsByState: countsOf(fundings, 'fundings'),
        payoutsInFlight: integerValue(payouts?.n ?? 0, 'count'),
        oldestPayoutInFlightAt: nullableIntegerValue(payouts?.oldest ?? null, 'payouts.created_at'),
        outboxPending: integerValue(outbox?.n ?? 0, 'count'),
        oldestOutboxPendingAt: nullableIntegerValue(outbox?.oldest ?? null, 'outbox.created_at'),
      };
    },
  };
}
