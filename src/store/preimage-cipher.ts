// Preimages at rest: AES-256-GCM with a random 12-byte IV per preimage and the payment hash as additional
// authenticated data, so a ciphertext only opens for its own hash (a row copied onto another hash fails).
// Stored as one hex text: iv (12 bytes) | tag (16 bytes) | ciphertext (32 bytes).
// The key lives in a KeyObject (it prints as `SecretKeyObject { type: 'secret' }`); neither the key nor a
// preimage ever reaches an error message.
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { sha256Hex } from '../domain/canonical.ts';
import { InternalError } from '../domain/errors.ts';
import { StoreError } from './store-error.ts';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const PREIMAGE_BYTES = 32;
const SEALED_HEX_LENGTH = (IV_BYTES + TAG_BYTES + PREIMAGE_BYTES) * 2;

export interface PreimageCipher {
  seal(paymentHash: string, preimage: Uint8Array): string;
  open(paymentHash: string, sealed: string): Uint8Array;
}

export function createPreimageCipher(keyBytes: Uint8Array): PreimageCipher {
  if (!(keyBytes instanceof Uint8Array) || keyBytes.length !== 32) {
    throw new InternalError('Config', 'the preimage key must be exactly 32 bytes');
  }
  const key: KeyObject = createSecretKey(Buffer.from(keyBytes));
  return {
    seal(paymentHash, preimage) {
      if (preimage.length !== PREIMAGE_BYTES) {
        throw new InternalError('Invariant', `a preimage must be ${PREIMAGE_BYTES} bytes`);
      }
      // Storing a preimage that does not open its hold invoice would make the escrow unsettleable.
      if (sha256Hex(preimage) !== paymentHash) {
        throw new InternalError('Invariant', `payment hash ${paymentHash} is not the sha256 of its preimage`);
      }
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(paymentHash, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(preimage), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('hex');
    },
    open(paymentHash, sealed) {
      if (sealed.length !== SEALED_HEX_LENGTH || !/^[0-9a-f]+$/.test(sealed)) {
        throw new StoreError('PreimageDecryption', `the stored preimage of ${paymentHash} is malformed`);
      }
      const bytes = Buffer.from(sealed, 'hex');
      const iv = bytes.subarray(0, IV_BYTES);
      const tag = bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
      const ciphertext = bytes.subarray(IV_BYTES + TAG_BYTES);
      let preimage: Buffer;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(Buffer.from(paymentHash, 'utf8'));
        decipher.setAuthTag(tag);
        preimage = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      } catch {
        // GCM authentication failed: wrong key, or the ciphertext, tag, IV or hash was altered.
        // The cause is dropped on purpose: nothing from the failed attempt goes into the error.
        throw new StoreError(
          'PreimageDecryption',
          `the preimage of ${paymentHash} does not decrypt with this key`,
        );
      }
      return new Uint8Array(preimage);
    },
  };
}
