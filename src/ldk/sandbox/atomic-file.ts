// Crash-safe file writes: a reader after a crash sees either the old content or the new one, never a mix.
// write to a temporary file, fsync it, rename it over the target, fsync the directory (so the rename itself
// survives a power cut). Every file is the owner's alone (mode 0600): a node's seed, channel manager and monitors
// are its keys and its money.
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const directory = dirname(path);
  mkdirSync(directory, { recursive: true });
  const temporary = `${path}.tmp`;
  const file = openSync(temporary, 'w', 0o600);
  try {
    // A temporary file left by a crash keeps the mode it was created with: set it, whatever it was.
    fchmodSync(file, 0o600);
    writeSync(file, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(file);
  } finally {
    closeSync(file);
  }
  renameSync(temporary, path);
  fsyncDirectory(directory);
}

export function fsyncDirectory(directory: string): void {
  const handle = openSync(directory, 'r');
  try {
    fsyncSync(handle);
  } finally {
    closeSync(handle);
  }
}

export function readFileIfExists(path: string): Uint8Array | null {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
