// The NIP-47 connection URI: nostr+walletconnect://<wallet service pubkey>?relay=<url>&relay=...&secret=<hex>
// It carries the client's secret key, so no error message or log line ever repeats the URI or the secret.
import { getPublicKey } from 'nostr-tools/pure';
import { bytesToHex, hexToBytes, isHex32 } from './hex.ts';

export class NwcUriError extends Error {
  override name = 'NwcUriError';
}

export interface NwcConnection {
  /** The wallet service's Nostr public key (hex): it signs the info event, responses and notifications. */
  walletPubkey: string;
  /** ws:// or wss:// URLs, at least one, without duplicates. */
  relays: string[];
  /** The client's secret key: it signs requests and, with walletPubkey, derives the encryption keys. */
  secretKey: Uint8Array;
  /** getPublicKey(secretKey): the key the wallet service knows this connection by. */
  clientPubkey: string;
  lud16: string | null;
}

const SCHEMES = [
  'nostr+walletconnect://',
  'nostrwalletconnect://',
  'nostr+walletconnect:',
  'nostrwalletconnect:',
];

export function parseNwcUri(uri: string): NwcConnection {
  if (typeof uri !== 'string' || uri.trim() === '') {
    throw new NwcUriError(
      'the NWC connection URI is empty: set it to nostr+walletconnect://<pubkey>?relay=...&secret=...',
    );
  }
  const trimmed = uri.trim();
  const scheme = SCHEMES.find((candidate) => trimmed.toLowerCase().startsWith(candidate));
  if (!scheme) {
    throw new NwcUriError(
      `the NWC connection URI must start with nostr+walletconnect:// (it starts with "${trimmed.slice(0, 12)}...")`,
    );
  }
  const rest = trimmed.slice(scheme.length);
  const queryAt = rest.indexOf('?');
  const walletPubkey = (queryAt < 0 ? rest : rest.slice(0, queryAt)).replace(/\/+$/, '');
  if (!isHex32(walletPubkey)) {
    throw new NwcUriError(
      'the NWC connection URI must name the wallet service by its public key: 64 lowercase hex characters after nostr+walletconnect://',
    );
  }
  if (queryAt < 0) throw new NwcUriError('the NWC connection URI has no ?relay=...&secret=... part');
  const params = new URLSearchParams(rest.slice(queryAt + 1));

  const relays: string[] = [];
  for (const value of params.getAll('relay')) {
    const relay = checkRelayUrl(value);
    if (!relays.includes(relay)) relays.push(relay);
  }
  if (relays.length === 0) throw new NwcUriError('the NWC connection URI names no relay (relay=wss://...)');

  const secrets = params.getAll('secret');
  if (secrets.length !== 1) {
    throw new NwcUriError(
      secrets.length === 0
        ? 'the NWC connection URI has no secret (secret=<64 hex characters>)'
        : 'the NWC connection URI has more than one secret',
    );
  }
  const secret = secrets[0]!;
  if (!isHex32(secret)) {
    throw new NwcUriError('the NWC connection URI secret must be 64 lowercase hex characters (32 bytes)');
  }
  const secretKey = hexToBytes(secret);
  let clientPubkey: string;
  try {
    clientPubkey = getPublicKey(secretKey);
  } catch {
    throw new NwcUriError('the NWC connection URI secret is not a valid secp256k1 secret key');
  }
  if (clientPubkey === walletPubkey) {
    throw new NwcUriError(
      'the NWC connection URI secret belongs to the wallet service itself, not to a client',
    );
  }
  return { walletPubkey, relays, secretKey, clientPubkey, lud16: params.get('lud16') };
}

export function formatNwcUri(connection: {
  walletPubkey: string;
  relays: readonly string[];
  secretKey: Uint8Array;
}): string {
  const query = [
    ...connection.relays.map((relay) => `relay=${encodeURIComponent(relay)}`),
    `secret=${bytesToHex(connection.secretKey)}`,
  ].join('&');
  return `nostr+walletconnect://${connection.walletPubkey}?${query}`;
}

/** The URI with its secret replaced, for logs and messages. */
export function redactNwcUri(uri: string): string {
  return uri.replace(/secret=[^&]*/gi, 'secret=***');
}

function checkRelayUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new NwcUriError(`the NWC connection URI has a relay that is not a URL: "${value.slice(0, 80)}"`);
  }
  if (url.protocol !== 'wss:' && url.protocol !== 'ws:') {
    throw new NwcUriError(`the NWC relay ${url.origin} must be a ws:// or wss:// URL`);
  }
  if (url.username || url.password) {
    throw new NwcUriError('the NWC relay URL must not carry a user name or password');
  }
  // new URL() adds a trailing slash to a bare host; relays are matched by the string the wallet service uses.
  return value;
}
