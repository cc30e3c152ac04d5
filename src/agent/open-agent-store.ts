// Opens the configured database with the preimage key (created with mode 0600 on first use).
import { mkdirSync } from 'node:fs';
import { type EscrowStore, openStore } from '../store/index.ts';
import type { AgentConfig } from './config.ts';
import { readOrCreateSecret } from './secret-files.ts';

export async function openAgentStore(
  config: AgentConfig,
): Promise<{ store: EscrowStore; createdKey: boolean }> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const { secret, created } = readOrCreateSecret(config.preimageKeyFile, 'preimage key');
  const store = await openStore({ url: config.databaseUrl, preimageKey: secret });
  return { store, createdKey: created };
}
