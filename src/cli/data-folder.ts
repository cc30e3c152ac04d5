// The data folder, checked before a command opens it: a folder that is a file, cannot be written, or lies on a
// system pseudo-filesystem (/proc, /sys, where creating a folder can hang) is refused with one message that names
// it and the fix, before anything is created. Read commands (verify-db) refuse a folder with no database instead
// of creating an empty one and fresh keys.
import { existsSync, realpathSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AgentConfig } from '../agent/config.ts';
import { DataFolderInUseError } from '../agent/data-folder-lock.ts';
import { openAgentStore } from '../agent/open-agent-store.ts';
import type { EscrowStore } from '../store/index.ts';
import { CliError } from './cli-error.ts';

const FIX = 'set agent.data_dir (AGENT_DATA_DIR) to a folder this user may write';
const PSEUDO = ['/proc', '/sys'];

/**
 * Checks that the data folder can be created (or is there) and written, without creating it: the nearest existing
 * folder on its path must be a folder on a real filesystem that this user can write to (a file is created there
 * and removed at once). Returns one line for check-config. Throws CliError.
 */
export function checkDataFolder(config: AgentConfig): string {
  const dir = config.dataDir;
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  let real = existing;
  try {
    real = realpathSync(existing);
  } catch {
    // a dangling link: reported below as not a folder
  }
  const pseudo = PSEUDO.find((root) => real === root || real.startsWith(`${root}/`));
  if (pseudo) {
    throw new CliError(
      `data folder ${dir} is under ${pseudo}, a system pseudo-filesystem that cannot hold files: ${FIX}`,
    );
  }
  let isFolder = false;
  try {
    isFolder = statSync(existing).isDirectory();
  } catch {
    isFolder = false;
  }
  if (!isFolder) {
    throw new CliError(
      existing === dir
        ? `data folder ${dir} is a file, not a folder: ${FIX}`
        : `data folder ${dir} cannot be created: ${existing} is a file, not a folder: ${FIX}`,
    );
  }
  const probe = join(existing, `.escrow-agent-write-test-${process.pid}`);
  try {
    writeFileSync(probe, '', { flag: 'wx', mode: 0o600 });
    unlinkSync(probe);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new CliError(
      existing === dir
        ? `data folder ${dir} is not writable (${code}): ${FIX}`
        : `data folder ${dir} cannot be created: ${existing} is not writable (${code}): ${FIX}`,
    );
  }
  return existing === dir ? `${dir} (writable)` : `${dir} (does not exist yet; ${existing} is writable)`;
}

/** For commands that read an existing set-up (verify-db): the database must be there (nothing is created). */
export function requireExistingDatabase(config: AgentConfig): void {
  const fix = 'check --config / AGENT_DATA_DIR (or DATABASE_URL)';
  if (config.databaseUrl.startsWith('sqlite:')) {
    const path = config.databaseUrl.slice('sqlite:'.length);
    if (path !== ':memory:' && !existsSync(path)) {
      throw new CliError(`no database at ${path}: ${fix}; \`escrow-agent migrate\` creates a new one`);
    }
  }
  // A missing preimage key is refused when the store opens (src/agent/key-fingerprints.ts), with the fingerprint of
  // the key to restore, which only the database knows.
}

/**
 * Runs `run` on the agent's store, opened as the agent opens it (the data-folder lock, the key fingerprints), and
 * closes it. Only one process opens a data folder at a time: while the agent runs, the command is refused with a
 * message saying to stop it first (`after` says what happens once the agent starts again, if anything).
 */
export async function withAgentStore<T>(
  config: AgentConfig,
  command: string,
  run: (store: EscrowStore) => Promise<T>,
  after = '',
): Promise<T> {
  let store: EscrowStore;
  try {
    ({ store } = await openAgentStore(config));
  } catch (error) {
    if (error instanceof DataFolderInUseError) {
      throw new CliError(
        `${command}: the agent (pid ${error.pid ?? 'unknown'}) is running on ${error.folder} and holds its lock; only one process opens a data folder at a time: stop the agent, run \`escrow-agent ${command}\` again, then start it${after}`,
      );
    }
    throw error;
  }
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}
