import type { AgentConfig } from '../../agent/config.ts';
import { openAgentStore } from '../../agent/open-agent-store.ts';
import type { Output } from '../output.ts';
import { redactUrl } from '../redact.ts';

/** Opening the store applies every pending migration (drizzle's migrator records them). */
export async function migrateCommand(config: AgentConfig, output: Output): Promise<number> {
  const { store } = await openAgentStore(config);
  await store.close();
  output.out(`database ${redactUrl(config.databaseUrl)} is up to date`);
  return 0;
}
