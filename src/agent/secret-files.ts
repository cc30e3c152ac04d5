// Secret files (the agent's Nostr key, the preimage encryption key): created once with mode 0600, never
// logged, and refused when anyone but the owner can read them. Whether a missing key may be created is the
// caller's decision (open-agent-store.ts): never next to a database that was used with another one.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { isHex32 } from '../domain/hex.ts';

export class SecretFileError extends Error {
  override name = 'SecretFileError';
}

/** Reads a 32-byte hex secret, creating it with fresh random bytes (mode 0600) when the file is missing. */
export function readOrCreateSecret(path: string, what: string): { secret: Uint8Array; created: boolean } {
  const existing = readSecretIfPresent(path, what);
  if (existing) return { secret: existing, created: false };
  writeNewSecret(path, new Uint8Array(randomBytes(32)));
  return { secret: readSecret(path, what), created: true };
}

/** The secret in `path`, or null when there is no such file. */
export function readSecretIfPresent(path: string, what: string): Uint8Array | null {
  return existsSync(path) ? readSecret(path, what) : null;
}

/** Writes a new secret file: mode 0600 from its first byte, never over an existing file, on disk (fsynced, and
 * its folder too) before this returns, so a key is never recorded anywhere before it is safely written. */
export function writeNewSecret(path: string, secret: Uint8Array): void {
  const folder = dirname(path);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const file = openSync(path, 'wx', 0o600);
  try {
    writeSync(file, `${Buffer.from(secret).toString('hex')}\n`);
    fsyncSync(file);
  } finally {
    closeSync(file);
  }
  // The umask cannot widen 0600, but a umask of 0077 or odd file systems may leave other bits: set it exactly.
  chmodSync(path, 0o600);
  const directory = openSync(folder, 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
}

export function readSecret(path: string, what: string): Uint8Array {
  const stat = statSync(path);
  if (!stat.isFile()) {
    throw new SecretFileError(
      `${what} file ${path} is not a file: put the key file there, or point the setting at it`,
    );
  }
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new SecretFileError(
      `${what} file ${path} can be read by others (mode ${mode.toString(8)}); run: chmod 600 ${path}`,
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new SecretFileError(
      `${what} file ${path} cannot be read (${code}): give this user read access to it`,
    );
  }
  if (!isHex32(text)) {
    throw new SecretFileError(`${what} file ${path} must hold 64 lowercase hex characters (32 bytes)`);
  }
  return Uint8Array.from(Buffer.from(text, 'hex'));
}
