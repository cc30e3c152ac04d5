// Settings: small JSON values the agent keeps across restarts and shares between replicas (maintenance mode).
import { sql } from 'drizzle-orm';
import { textValue } from '../column-values.ts';
import type { SettingsRepository } from '../port.ts';
import type { RepositoryContext } from '../sql-session.ts';

export function createSettingsRepository({ session, now }: RepositoryContext): SettingsRepository {
  return {
    async get(key) {
      const [row] = await session.rows(sql`SELECT value FROM agent_settings WHERE key = ${key}`);
      return row ? JSON.parse(textValue(row.value, 'agent_settings.value')) : null;
    },

    async set(key, value) {
      await session.run(sql`
        INSERT INTO agent_settings (key, value, updated_at) VALUES (${key}, ${JSON.stringify(value)}, ${now()})
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`);
    },
  };
}
