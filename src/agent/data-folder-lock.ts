// One writer per data folder. A command that opens the folder (start, migrate, verify-db) first takes an exclusive
// lock on <data_dir>/agent.lock; a second one is refused before it opens anything else in the folder (the keys,
// the SQLite database, the relay's database, the sandbox's LDK nodes).
//
// The lock is the operating system's: SQLite's own file locks (POSIX fcntl on Linux and macOS) on agent.lock, an
// empty SQLite file held in an open exclusive transaction (better-sqlite3 is the store's driver already). The
// kernel drops such a lock when its process ends, however it ends (SIGKILL, OOM, power loss of a network client),
// so a lock is never stale: no timestamps, no pid guessing, no lock to delete by hand. The holder's pid is written
// beside it (agent.pid) only to name it in the refusal. agent.lock itself is never read or written with node:fs:
// closing any descriptor of the file in this process would drop a POSIX lock. The driver is loaded on first use, so
// importing this module for DataFolderInUseError costs nothing.
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'agent.lock';
export const PID_FILE = 'agent.pid';

/** The data folder is locked by another process: nothing in it was opened. The CLI prints the message, exit 2. */
export class DataFolderInUseError extends Error {
  override name = 'DataFolderInUseError';

  constructor(
    readonly folder: string,
    readonly pid: number | null,
  ) {
    super(
      `another agent (pid ${pid ?? 'unknown'}) is using ${folder}: stop it first, or give this one its own agent.data_dir (AGENT_DATA_DIR)`,
    );
  }
}

export interface DataFolderLock {
  readonly folder: string;
  /** Ends the lock (idempotent). The process's end ends it too. */
  release(): void;
}

/**
 * Takes the folder's lock without waiting: throws DataFolderInUseError when another process (or another opener in
 * this one) holds it. The folder must exist. Other errors (a folder that cannot be written) are thrown as they are.
 */
export async function lockDataFolder(folder: string): Promise<DataFolderLock> {
  const { default: Database } = await import('better-sqlite3');
  const database = new Database(join(folder, LOCK_FILE), { timeout: 0 });
  try {
    // Keep the lock past any transaction boundary, and take it now: EXCLUSIVE excludes readers too.
    database.pragma('locking_mode = EXCLUSIVE');
    database.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    database.close();
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new DataFolderInUseError(folder, holderPid(folder));
    }
    throw error;
  }
  try {
    writeHolderPid(folder);
  } catch (error) {
    database.close();
    throw error;
  }
  let released = false;
  return {
    folder,
    release() {
      if (released) return;
      released = true;
      if (holderPid(folder) === process.pid) rmSync(join(folder, PID_FILE), { force: true });
      database.close();
    },
  };
}

/** The pid the lock's holder wrote, or null (not written yet, or unreadable). */
function holderPid(folder: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(join(folder, PID_FILE), 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Written whole (a temporary file renamed over it), so a refused opener never reads half a number. */
function writeHolderPid(folder: string): void {
  const temporary = join(folder, `${PID_FILE}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(temporary, `${process.pid}\n`, { mode: 0o644 });
  renameSync(temporary, join(folder, PID_FILE));
}
