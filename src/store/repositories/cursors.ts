// Relay cursors: the `since` (unix seconds) from which catch-up resumes at each relay.
import { sql } from 'drizzle-orm';
import { integerValue } from '../column-values.ts';
import type { CursorRepository } from '../port.ts';
import type { RepositoryContext } from '../sql-session.ts';

export function createCursorRepository({ session, now }: RepositoryContext): CursorRepository {
  return {
    async get(relay) {
      const [row] = await session.rows(sql`SELECT since FROM relay_cursors WHERE relay = ${relay}`);
      return row ? integerValue(row.since, 'relay_cursors.since') : null;
    },

    async set(relay, since) {
      await session.run(sql`
        INSERT INTO relay_cursors (relay, since, updated_at) VALUES (${relay}, ${since}, ${now()})
        ON CONFLICT (relay) DO UPDATE SET since = excluded.since, updated_at = excluded.updated_at`);
    },
  };
}
