// drizzle-kit configuration for the SQLite migrations (`npm run db:generate`). The generated SQL is committed
// under drizzle/sqlite and applied by drizzle's migrator when the store opens.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './src/store/schema/sqlite.ts',
  out: './drizzle/sqlite',
  strict: true,
});
