// Keys that must match their database. The database records, the first time each key is used with it, a
// fingerprint of the preimage key (which seals every hold invoice's preimage) and of the agent's Nostr key (which
// signed every event in its outbox). A command started with a different key, or with none next to a database that
// was used with one, is refused with the fix and the fingerprint of the key to restore; a key is never created
// next to such a database (its preimages could never be opened again, so its tasks could never settle).
//
// Fingerprints (never the key, nothing that leaks it):
// - preimage key: sha256 of the domain-separated text `nostr-escrow-agent preimage key fingerprint v1:<key hex>`,
//   hex. One-way, and the label keeps it from equalling any other hash of the key. An operator can compute it for
//   a backup file with coreutils: printf 'nostr-escrow-agent preimage key fingerprint v1:%s' "$(cat preimage.key)" | sha256sum
// - agent key: its public key (hex in the database, npub in messages): the one-way derivation Nostr already
//   publishes in every event the agent signs, so it tells nothing the outbox does not, and an operator recognises it.
import { npubEncode } from 'nostr-tools/nip19';
import { sha256Hex } from '../domain/canonical.ts';
import type { EscrowStore } from '../store/index.ts';
import { StoreError } from '../store/store-error.ts';
import type { AgentIdentity } from './identity.ts';
import { SecretFileError } from './secret-files.ts';

export const PREIMAGE_FINGERPRINT_LABEL = 'nostr-escrow-agent preimage key fingerprint v1:';

/** A key that does not match the database it is used with, or is missing next to it. Exit 2 (a SecretFileError). */
export class KeyMismatchError extends SecretFileError {
  override name = 'KeyMismatchError';
}

export function preimageKeyFingerprint(key: Uint8Array): string {
  return sha256Hex(`${PREIMAGE_FINGERPRINT_LABEL}${Buffer.from(key).toString('hex')}`);
}

/** The agent key's fingerprint as the database records it: its public key, hex. */
export function agentKeyFingerprint(identity: Pick<AgentIdentity, 'pubkey'>): string {
  return identity.pubkey;
}

/**
 * Checks the preimage key against the database before anything is created or written: `key` null means the key
 * file is missing. Throws KeyMismatchError when the database recorded another key's fingerprint, or (a database
 * written before fingerprints were kept) holds sealed preimages that this key does not open or that need a key.
 */
export async function checkPreimageKey(
  store: EscrowStore,
  file: string,
  key: Uint8Array | null,
): Promise<void> {
  const { recorded, usage } = await store.read(async (tx) => ({
    recorded: await tx.keys.fingerprint('preimage'),
    usage: await tx.keys.usage(),
  }));
  const sealed = `${usage.sealedPreimages} sealed preimage${usage.sealedPreimages === 1 ? '' : 's'}`;
  if (key === null) {
    if (recorded !== null) {
      throw new KeyMismatchError(
        `the preimage key ${file} is missing, and the database (${sealed}) was first used with the key of fingerprint ${recorded}: restore ${file} from your backup; its fingerprint is ${recorded}. No new key was created: it would never open those preimages`,
      );
    }
    if (usage.sealedPreimages > 0) {
      throw new KeyMismatchError(
        `the preimage key ${file} is missing, and the database holds ${sealed} that only it opens: restore ${file} from your backup (this database was written before key fingerprints were kept, so it names none). No new key was created: it would never open them`,
      );
    }
    return;
  }
  const fingerprint = preimageKeyFingerprint(key);
  if (recorded !== null && recorded !== fingerprint) {
    throw new KeyMismatchError(
      `the preimage key ${file} (fingerprint ${fingerprint}) is not the key of this database (${sealed}): restore ${file} from your backup; its fingerprint is ${recorded}`,
    );
  }
  if (recorded === null && usage.samplePaymentHash !== null) {
    // No fingerprint yet, preimages already sealed: the key must open them before it is recorded as theirs.
    const hash = usage.samplePaymentHash;
    const opens = await store
      .transaction((tx) => tx.fundings.revealPreimage(hash))
      .then(
        () => true,
        (error: unknown) => {
          if (error instanceof StoreError && error.kind === 'PreimageDecryption') return false;
          throw error;
        },
      );
    if (!opens) {
      throw new KeyMismatchError(
        `the preimage key ${file} (fingerprint ${fingerprint}) does not open the ${sealed} in the database: restore the key the database was written with from your backup`,
      );
    }
  }
}

/** Records the preimage key's fingerprint on first use; refuses if another opener recorded another key first. */
export async function recordPreimageKey(store: EscrowStore, file: string, key: Uint8Array): Promise<void> {
  const fingerprint = preimageKeyFingerprint(key);
  const recorded = await store.transaction((tx) => tx.keys.record('preimage', fingerprint));
  if (recorded !== fingerprint) {
    throw new KeyMismatchError(
      `the preimage key ${file} (fingerprint ${fingerprint}) is not the key of this database: restore ${file} from your backup; its fingerprint is ${recorded}`,
    );
  }
}

/**
 * Checks the agent's Nostr key against the database: `identity` null means there is no key file (and no
 * AGENT_SECRET_KEY). The database's agent is the recorded fingerprint, else the signer of its outbox events.
 * Returns whether a new key may be created (nothing says whose database this is).
 */
export async function checkAgentKey(
  store: EscrowStore,
  where: string,
  identity: Pick<AgentIdentity, 'pubkey' | 'npub'> | null,
): Promise<{ mayCreate: boolean }> {
  const { recorded, usage } = await store.read(async (tx) => ({
    recorded: await tx.keys.fingerprint('agent'),
    usage: await tx.keys.usage(),
  }));
  const owner = recorded ?? usage.signerPubkey;
  if (owner === null) return { mayCreate: true };
  const ownerNpub = npubOf(owner);
  if (identity === null) {
    throw new KeyMismatchError(
      `the agent key ${where} is missing, and the database belongs to the agent ${ownerNpub}: restore ${where} from your backup; its fingerprint is the public key ${ownerNpub} (or give that key in AGENT_SECRET_KEY). No new key was created: it would be another agent`,
    );
  }
  if (identity.pubkey !== owner) {
    throw new KeyMismatchError(
      `the agent key ${where} is ${identity.npub}, but the database belongs to the agent ${ownerNpub}: restore ${where} from your backup; its fingerprint is the public key ${ownerNpub}`,
    );
  }
  return { mayCreate: false };
}

/** Records the agent key's fingerprint on first use; refuses if another opener recorded another key first. */
export async function recordAgentKey(
  store: EscrowStore,
  where: string,
  identity: Pick<AgentIdentity, 'pubkey' | 'npub'>,
): Promise<void> {
  const recorded = await store.transaction((tx) => tx.keys.record('agent', agentKeyFingerprint(identity)));
  if (recorded !== agentKeyFingerprint(identity)) {
    const ownerNpub = npubOf(recorded);
    throw new KeyMismatchError(
      `the agent key ${where} is ${identity.npub}, but the database belongs to the agent ${ownerNpub}: restore ${where} from your backup; its fingerprint is the public key ${ownerNpub}`,
    );
  }
}

function npubOf(pubkey: string): string {
  try {
    return npubEncode(pubkey);
  } catch {
    return pubkey;
  }
}
