// Work leases between replicas (src/agent/jobs/task-leases.ts): a named lease is held by one holder until it
// expires; taking it over increments its fence, so a holder that lost it (paused past its expiry) can tell when it
// is about to write. Times are the store clock's unix seconds.
import { sql } from 'drizzle-orm';
import { integerValue } from '../column-values.ts';
import type { LeaseRepository } from '../port.ts';
import type { RepositoryContext } from '../sql-session.ts';

export function createLeaseRepository({ session, now }: RepositoryContext): LeaseRepository {
  return {
    async acquire(name, holder, seconds) {
      const at = now();
      // Free (never taken, expired, released) or already ours: taken, with the next fence. Else nothing.
      const [row] = await session.rows(sql`
        INSERT INTO leases (name, holder, fence, expires_at) VALUES (${name}, ${holder}, ${1}, ${at + seconds})
        ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, fence = leases.fence + 1,
          expires_at = excluded.expires_at
        WHERE leases.expires_at <= ${at} OR leases.holder = excluded.holder
        RETURNING fence`);
      return row ? integerValue(row.fence, 'leases.fence') : null;
    },

    async holds(name, holder, fence) {
      const [row] = await session.rows(sql`
        SELECT 1 AS held FROM leases
        WHERE name = ${name} AND holder = ${holder} AND fence = ${fence} AND expires_at > ${now()}`);
      return row !== undefined;
    },

    async renew(name, holder, fence, seconds) {
      const at = now();
      const changed = await session.run(sql`
        UPDATE leases SET expires_at = ${at + seconds}
        WHERE name = ${name} AND holder = ${holder} AND fence = ${fence} AND expires_at > ${at}`);
      return changed === 1;
    },

    async release(name, holder, fence) {
      const changed = await session.run(sql`
        UPDATE leases SET expires_at = ${0} WHERE name = ${name} AND holder = ${holder} AND fence = ${fence}`);
      return changed === 1;
    },
  };
}
