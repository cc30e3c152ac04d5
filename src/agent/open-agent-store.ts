// Opens the data folder, its keys and the configured database, in that order:
// 1. the folder's lock (data-folder-lock.ts): one agent per data folder, taken before anything in it is opened;
// 2. the preimage key and the agent key, checked against the fingerprints the database recorded on their first use
//    (key-fingerprints.ts); a missing key is created (mode 0600) only next to a database that was never used with
//    one, and only then recorded;
// 3. the store, returned with the lock: closing the store releases it.
// A database that cannot be used as configured (server unreachable, login refused, file not writable) is a
// DatabaseOpenError whose message names what to change and never carries the URL's password. The store's module
// (drizzle and both drivers) is loaded on first use, so importing this module for the error class costs nothing.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { InternalError } from '../domain/errors.ts';
import type { EscrowStore } from '../store/index.ts';
import type { AgentConfig } from './config.ts';
import { DataFolderInUseError, type DataFolderLock, lockDataFolder } from './data-folder-lock.ts';
import { type AgentIdentity, createIdentity, readIdentity } from './identity.ts';
import { readSecretIfPresent, writeNewSecret } from './secret-files.ts';

export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError';
}

export type LoadedIdentity = AgentIdentity & { created: boolean };

export interface OpenedAgentStore {
  /** Closing it releases the data folder's lock too. */
  store: EscrowStore;
  /** The preimage key file was created now. */
  createdKey: boolean;
}

export interface OpenAgentStoreOptions {
  /** `create`: the agent key is loaded, or created when missing and the database has no agent yet (start).
   * `check` (default): checked when present, never created (migrate, verify-db). */
  agentKey?: 'create' | 'check';
}

export async function openAgentStore(
  config: AgentConfig,
  options: { agentKey: 'create' },
): Promise<OpenedAgentStore & { identity: LoadedIdentity }>;
export async function openAgentStore(
  config: AgentConfig,
  options?: OpenAgentStoreOptions,
): Promise<OpenedAgentStore & { identity: LoadedIdentity | null }>;
export async function openAgentStore(
  config: AgentConfig,
  options: OpenAgentStoreOptions = {},
): Promise<OpenedAgentStore & { identity: LoadedIdentity | null }> {
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new DatabaseOpenError(
      `cannot create the data folder ${config.dataDir} (${codeOf(error) ?? (error as Error).message}): set agent.data_dir (AGENT_DATA_DIR) to a folder this user may write`,
      { cause: error },
    );
  }
  const lock = await lockFolder(config.dataDir);
  try {
    const opened = await openWithKeys(config, options.agentKey ?? 'check');
    const { store } = opened;
    return {
      ...opened,
      store: {
        ...store,
        async close() {
          try {
            await store.close();
          } finally {
            lock.release();
          }
        },
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function lockFolder(folder: string): Promise<DataFolderLock> {
  try {
    return await lockDataFolder(folder);
  } catch (error) {
    if (error instanceof DataFolderInUseError) throw error;
    const code = codeOf(error);
    if (code === undefined || !(code.startsWith('SQLITE_') || FILE.includes(code))) throw error;
    throw new DatabaseOpenError(
      `cannot lock the data folder ${folder} (${code}: ${firstLine(error)}): set agent.data_dir (AGENT_DATA_DIR) to a folder this user may write`,
      { cause: error },
    );
  }
}

async function openWithKeys(
  config: AgentConfig,
  agentKey: 'create' | 'check',
): Promise<OpenedAgentStore & { identity: LoadedIdentity | null }> {
  const { checkAgentKey, checkPreimageKey, recordAgentKey, recordPreimageKey } = await import(
    './key-fingerprints.ts'
  );
  // Both keys are read (and their modes checked) before the database is opened; nothing is created yet.
  const existingKey = readSecretIfPresent(config.preimageKeyFile, 'preimage key');
  let identity = readIdentity(config.keyFile);
  const agentWhere = identity?.source === 'AGENT_SECRET_KEY' ? 'AGENT_SECRET_KEY' : config.keyFile;
  // A missing key's replacement is drawn now but written only once the database is known never to have had one.
  const preimageKey = existingKey ?? new Uint8Array(randomBytes(32));
  const store = await openDatabase(config, preimageKey);
  try {
    await checkPreimageKey(store, config.preimageKeyFile, existingKey);
    const agent = await checkAgentKey(store, agentWhere, identity);
    // Written before it is recorded: a crash in between leaves a key file and no fingerprint, which the next
    // start records; the other order could leave a fingerprint of a key that was never saved.
    if (existingKey === null) writeNewSecret(config.preimageKeyFile, preimageKey);
    await recordPreimageKey(store, config.preimageKeyFile, preimageKey);
    let createdAgentKey = false;
    if (identity === null && agentKey === 'create' && agent.mayCreate) {
      identity = Object.assign(createIdentity(config.keyFile), { source: 'file' as const });
      createdAgentKey = true;
    }
    if (identity !== null) await recordAgentKey(store, agentWhere, identity);
    return {
      store,
      createdKey: existingKey === null,
      identity: identity && Object.assign(identity, { created: createdAgentKey }),
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

async function openDatabase(config: AgentConfig, preimageKey: Uint8Array): Promise<EscrowStore> {
  const { openStore } = await import('../store/index.ts');
  try {
    return await openStore({ url: config.databaseUrl, preimageKey });
  } catch (error) {
    const message = describeOpenFailure(config.databaseUrl, error);
    if (message === undefined) throw error;
    throw new DatabaseOpenError(message, { cause: error });
  }
}

const NETWORK = [
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
];
const FILE = ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENOENT'];
/** PostgreSQL SQLSTATEs of a refused login or a missing database or role. */
const LOGIN = ['28P01', '28000', '3D000', '42501', '57P03', '53300'];

/** The message for a database that cannot be used as configured, or undefined for anything else (a bug). */
function describeOpenFailure(url: string, error: unknown): string | undefined {
  const code = codeOf(error);
  const reason = `${code ?? 'error'}: ${firstLine(error)}`;
  const fix = 'or set database.url (DATABASE_URL) to another database';
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (code === undefined || !(code.startsWith('SQLITE_') || FILE.includes(code))) return undefined;
    return `cannot open the SQLite database ${path} (${reason}): check the file and its folder's permissions, ${fix}`;
  }
  let where = 'the PostgreSQL server';
  try {
    const parsed = new URL(url);
    where = `PostgreSQL at ${parsed.host}${parsed.pathname}`;
  } catch {
    // The configuration's pattern let it through; the host stays unnamed rather than the URL printed.
  }
  if (code !== undefined && NETWORK.includes(code)) {
    return `cannot reach ${where} (${code}): start the server, ${fix}`;
  }
  if (code !== undefined && LOGIN.includes(code)) {
    return `${where} refused the connection (${reason}): correct the user, password or database name in database.url (DATABASE_URL)`;
  }
  return undefined;
}

/** The system or driver error code, looked for through `cause` and an AggregateError's `errors`. */
function codeOf(error: unknown, depth = 0): string | undefined {
  if (!(error instanceof Error) || depth > 5) return undefined;
  // An InternalError's code is the agent's own ('Store', 'Config'), not the driver's.
  const code = error instanceof InternalError ? undefined : (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  for (const inner of [error.cause, ...(error instanceof AggregateError ? error.errors : [])]) {
    const found = codeOf(inner, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? '';
}
