// Secret files (the agent's Nostr key, the preimage encryption key): created once with mode 0600, never
// logged, and refused when anyone but the owner can read them.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isHex32 } from '../domain/hex.ts';

export class SecretFileError extends Error {
  override name = 'SecretFileError';
}

/** Reads a 32-byte hex secret, creating it with fresh random bytes (mode 0600) when the file is missing. */
export function readOrCreateSecret(path: string, what: string): { secret: Uint8Array; created: boolean } {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
    return { secret: readSecret(path, what), created: true };
  }
  return { secret: readSecret(path, what), created: false };
}

export function readSecret(path: string, what: string): Uint8Array {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new SecretFileError(
      `${what} file ${path} can be read by others (mode ${mode.toString(8)}); run: chmod 600 ${path}`,
    );
  }
  const text = readFileSync(path, 'utf8').trim();
  if (!isHex32(text)) {
    throw new SecretFileError(`${what} file ${path} must hold 64 lowercase hex characters (32 bytes)`);
  }
  return Uint8Array.from(Buffer.from(text, 'hex'));
}
