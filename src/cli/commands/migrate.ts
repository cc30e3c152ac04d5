import type { AgentConfig } from '../../agent/config.ts';
import { DataFolderInUseError } from '../../agent/data-folder-lock.ts';
import { openAgentStore } from '../../agent/open-agent-store.ts';
import type { EscrowStore } from '../../store/index.ts';
import { CliError } from '../cli-error.ts';
import type { Output } from '../output.ts';
import { redactUrl } from '../redact.ts';

/** Opening the store applies every pending migration (drizzle's migrator records them). */
export async function migrateCommand(config: AgentConfig, output: Output): Promise<number> {
  let store: EscrowStore;
  try {
    ({ store } = await openAgentStore(config));
  } catch (error) {
    if (!(error instanceof DataFolderInUseError)) throw error;
    throw new CliError(
      `migrate: the agent (pid ${error.pid ?? 'unknown'}) is running on ${error.folder}; it applied every migration of its version when it started. To upgrade: stop it, run \`escrow-agent migrate\` with the new version (start also migrates first), start it again`,
    );
  }
  await store.close();
  output.out(`database ${redactUrl(config.databaseUrl)} is up to date`);
  return 0;
}
