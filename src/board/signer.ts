// Who signs the board's events, three ways:
//   - a NIP-07 browser extension (`window.nostr`), which keeps the user's key to itself;
//   - a NIP-46 remote signer ("bunker"), from a bunker:// URL; the page talks to it with a key of its own made for
//     this session (nostr-tools' BunkerSigner), never the user's;
//   - a throwaway key made in this page, only when the user asks for it: kept in memory, lost on reload unless the
//     user copies it out (shown as nsec on request).
// Whatever signed, the page checks the answer before it sends anything: a valid signature, by the expected key,
// over exactly the event it asked for. No secret ever leaves the page.

import { nsecEncode } from 'nostr-tools/nip19';
import { BunkerSigner, parseBunkerInput } from 'nostr-tools/nip46';
import { type EventTemplate, finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { type NostrEvent, parseEvent } from '../protocol/schemas.ts';
import { verifyEvent } from '../protocol/verify-event.ts';
import type { Nip07 } from './browser.ts';

export type SigningMethod = 'extension' | 'bunker' | 'throwaway';

export interface BoardSigner {
  readonly method: SigningMethod;
  /** Hex public key. */
  readonly pubkey: string;
  sign(template: EventTemplate): Promise<NostrEvent>;
  close(): Promise<void>;
}

export interface ThrowawaySigner extends BoardSigner {
  readonly method: 'throwaway';
  /** The key as nsec, for the user to keep (shown only when asked). */
  exportNsec(): string;
}

/** How long a remote signer (or an extension waiting for the user's click) may take to sign. */
const SIGN_TIMEOUT_MS = 120_000;

export async function extensionSigner(nostr: Nip07): Promise<BoardSigner> {
  const pubkey = await nostr.getPublicKey();
  if (typeof pubkey !== 'string' || !/^[0-9a-f]{64}$/.test(pubkey)) {
    throw new Error('the browser extension gave no public key (64 hex characters)');
  }
  return {
    method: 'extension',
    pubkey,
    sign: async (template) => checkSigned(template, pubkey, await withTimeout(nostr.signEvent(template))),
    close: async () => {},
  };
}

/** Connects to the remote signer named by a bunker:// URL; asks it for the user's public key. */
export async function bunkerSigner(url: string, onAuth: (url: string) => void): Promise<BoardSigner> {
  const trimmed = url.trim();
  if (!trimmed.startsWith('bunker://')) {
    throw new Error('a remote signer is named by a bunker:// URL (your signer app shows it)');
  }
  const pointer = await parseBunkerInput(trimmed);
  if (pointer === null || pointer.relays.length === 0) {
    throw new Error('the bunker URL must name the signer (64 hex) and at least one relay (relay=wss://…)');
  }
  const signer = BunkerSigner.fromBunker(generateSecretKey(), pointer, { onauth: onAuth });
  try {
    await withTimeout(signer.connect());
    const pubkey = await withTimeout(signer.getPublicKey());
    return {
      method: 'bunker',
      pubkey,
      sign: async (template) => checkSigned(template, pubkey, await withTimeout(signer.signEvent(template))),
      close: () => signer.close(),
    };
  } catch (error) {
    await signer.close().catch(() => {});
    throw error;
  }
}

export function throwawaySigner(): ThrowawaySigner {
  const secret = generateSecretKey();
  const pubkey = getPublicKey(secret);
  return {
    method: 'throwaway',
    pubkey,
    sign: async (template) => checkSigned(template, pubkey, finalizeEvent(template, secret)),
    exportNsec: () => nsecEncode(secret),
    close: async () => {
      secret.fill(0);
    },
  };
}

/** The signed event, if it is exactly `template` signed by `pubkey`; a message for people otherwise. */
export function checkSigned(template: EventTemplate, pubkey: string, signed: unknown): NostrEvent {
  const value =
    signed !== null && typeof signed === 'object'
      ? (({ id, pubkey: key, created_at, kind, tags, content, sig }) => ({
          id,
          pubkey: key,
          created_at,
          kind,
          tags,
          content,
          sig,
        }))(signed as NostrEvent)
      : signed;
  const shaped = parseEvent(value);
  if (!shaped.ok) throw new Error('the signer returned something that is not a signed event');
  const event = shaped.event;
  if (!verifyEvent(event).ok) throw new Error('the signer returned an event whose signature does not verify');
  if (event.pubkey !== pubkey)
    throw new Error('the signer signed with another key than the one it announced');
  const same =
    event.kind === template.kind &&
    event.created_at === template.created_at &&
    event.content === template.content &&
    JSON.stringify(event.tags) === JSON.stringify(template.tags);
  if (!same) throw new Error('the signer changed the event it was asked to sign: it was not sent');
  return event;
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the signer did not answer within ${SIGN_TIMEOUT_MS / 1000} s`)),
      SIGN_TIMEOUT_MS,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
