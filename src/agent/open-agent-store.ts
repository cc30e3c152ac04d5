// Opens the configured database with the preimage key (created with mode 0600 on first use). A database that
// cannot be used as configured (server unreachable, login refused, file not writable) is a DatabaseOpenError whose
// message names what to change and never carries the URL's password. The store's module (drizzle and both
// drivers) is loaded on first use, so importing this module for the error class costs nothing.
import { mkdirSync } from 'node:fs';
import { InternalError } from '../domain/errors.ts';
import type { EscrowStore } from '../store/index.ts';
import type { AgentConfig } from './config.ts';
import { readOrCreateSecret } from './secret-files.ts';

export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError';
}

export async function openAgentStore(
  config: AgentConfig,
): Promise<{ store: EscrowStore; createdKey: boolean }> {
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new DatabaseOpenError(
      `cannot create the data folder ${config.dataDir} (${codeOf(error) ?? (error as Error).message}): set agent.data_dir (AGENT_DATA_DIR) to a folder this user may write`,
      { cause: error },
    );
  }
  const { secret, created } = readOrCreateSecret(config.preimageKeyFile, 'preimage key');
  const { openStore } = await import('../store/index.ts');
  try {
    const store = await openStore({ url: config.databaseUrl, preimageKey: secret });
    return { store, createdKey: created };
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
