// The `f` field: an on-chain address to pay if Lightning fails. We never pay on-chain; the address is decoded
// so it can be shown and so that a malformed one rejects the invoice, as it does in LDK.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { bech32, bech32m, createBase58check } from '@scure/base';
import { Bolt11Error } from './errors.ts';
import type { NetworkParameters } from './networks.ts';

const base58check = createBase58check(sha256);

export interface FallbackAddress {
  /** 0..16: a segwit witness version; 17: pay-to-pubkey-hash; 18: pay-to-script-hash. */
  readonly version: number;
  /** The witness program or the 20-byte hash, hex. */
  readonly program: string;
  /** The address as a wallet shows it, for this invoice's network. */
  readonly address: string;
}

export const PUBKEY_HASH_VERSION = 17;
export const SCRIPT_HASH_VERSION = 18;

/** Whether a reader knows this version; BOLT11 says to skip the others (19..31). */
export function isKnownFallbackVersion(version: number): boolean {
  return version >= 0 && version <= SCRIPT_HASH_VERSION;
}

export function fallbackAddress(
  version: number,
  program: Uint8Array,
  network: NetworkParameters,
): FallbackAddress {
  return { version, program: bytesToHex(program), address: renderAddress(version, program, network) };
}

function renderAddress(version: number, program: Uint8Array, network: NetworkParameters): string {
  if (version === PUBKEY_HASH_VERSION || version === SCRIPT_HASH_VERSION) {
    if (program.length !== 20) {
      throw new Bolt11Error(
        'InvalidField',
        `a fallback address hash has ${program.length} bytes, expected 20`,
      );
    }
    const prefix = version === PUBKEY_HASH_VERSION ? network.pubkeyHashVersion : network.scriptHashVersion;
    return base58check.encode(Uint8Array.of(prefix, ...program));
  }
  // BIP-141: a program is 2..40 bytes; version 0 allows only 20 (P2WPKH) or 32 (P2WSH).
  const validLength =
    version === 0
      ? program.length === 20 || program.length === 32
      : program.length >= 2 && program.length <= 40;
  if (!validLength) {
    throw new Bolt11Error(
      'InvalidField',
      `a version ${version} witness program of ${program.length} bytes is not valid`,
    );
  }
  const words = [version, ...bech32.toWords(program)];
  // BIP-350: version 0 uses bech32, later versions bech32m.
  return version === 0
    ? bech32.encode(network.segwitPrefix, words, false)
    : bech32m.encode(network.segwitPrefix, words, false);
}
