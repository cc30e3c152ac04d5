// The agent's Nostr identity: a secret key from a key file (created with mode 0600 on first start) or from
// the environment (AGENT_SECRET_KEY, hex or nsec). The secret never reaches a log.

import { randomBytes } from 'node:crypto';
import { decode, npubEncode } from 'nostr-tools/nip19';
import { getPublicKey } from 'nostr-tools/pure';
import { isHex32 } from '../domain/hex.ts';
import { readOrCreateSecret, readSecretIfPresent, SecretFileError, writeNewSecret } from './secret-files.ts';

export interface AgentIdentity {
  pubkey: string;
  npub: string;
  secretKey: Uint8Array;
}

export function loadIdentity(
  keyFile: string,
  env: NodeJS.ProcessEnv = process.env,
): AgentIdentity & { created: boolean } {
  const fromEnv = env.AGENT_SECRET_KEY?.trim();
  // Object.assign, not a spread: the secret key is not enumerable, and a spread would drop it.
  if (fromEnv) return Object.assign(identityFrom(parseSecret(fromEnv)), { created: false });
  const { secret, created } = readOrCreateSecret(keyFile, 'agent key');
  return Object.assign(identityFrom(secret), { created });
}

/** The identity from AGENT_SECRET_KEY or the key file, or null when neither is there (nothing is created). */
export function readIdentity(
  keyFile: string,
  env: NodeJS.ProcessEnv = process.env,
): (AgentIdentity & { source: 'AGENT_SECRET_KEY' | 'file' }) | null {
  const fromEnv = env.AGENT_SECRET_KEY?.trim();
  if (fromEnv)
    return Object.assign(identityFrom(parseSecret(fromEnv)), { source: 'AGENT_SECRET_KEY' as const });
  const secret = readSecretIfPresent(keyFile, 'agent key');
  return secret ? Object.assign(identityFrom(secret), { source: 'file' as const }) : null;
}

/** A fresh identity, its key written to `keyFile` (mode 0600; refused if the file exists). */
export function createIdentity(keyFile: string): AgentIdentity {
  const secret = new Uint8Array(randomBytes(32));
  writeNewSecret(keyFile, secret);
  return identityFrom(secret);
}

export function identityFrom(secretKey: Uint8Array): AgentIdentity {
  const pubkey = getPublicKey(secretKey);
  const identity = { pubkey, npub: npubEncode(pubkey), secretKey };
  // Keep the secret out of JSON (logs, error reports).
  Object.defineProperty(identity, 'secretKey', { enumerable: false });
  return identity;
}

function parseSecret(text: string): Uint8Array {
  if (isHex32(text)) return Uint8Array.from(Buffer.from(text, 'hex'));
  if (text.startsWith('nsec1')) {
    const decoded = decode(text);
    if (decoded.type === 'nsec') return decoded.data;
  }
  throw new SecretFileError('AGENT_SECRET_KEY must be 64 lowercase hex characters or an nsec1... key');
}
