// drizzle-kit configuration for the PostgreSQL migrations (`npm run db:generate`). The generated SQL is
// committed under drizzle/pg and applied by drizzle's migrator when the store opens.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/schema/pg.ts',
  out: './drizzle/pg',
  strict: true,
});
