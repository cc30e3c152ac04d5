// Paying and being paid from the task board through a NIP-47 wallet connection (Nostr Wallet Connect) the user
// pastes: nostr+walletconnect://<wallet pubkey>?relay=…&secret=…. The secret signs the requests and, with the
// wallet's key, encrypts them; it stays in this page's memory (and in localStorage only when the user ticks
// "remember"), and is never sent anywhere: only encrypted requests signed with it leave the page.
//
// The wallet's info event (kind 13194) says which encryption it speaks: NIP-44 v2 when it lists nip44_v2,
// NIP-04 otherwise (the first version of NIP-47 had no encryption tag). Each request is a kind 23194 event, and its
// answer the kind 23195 event of the wallet that names it (`e`). Relays are read through BoardRelays: bounded,
// verified, reconnecting.
import { decrypt as nip04Decrypt, encrypt as nip04Encrypt } from 'nostr-tools/nip04';
import { getConversationKey, decrypt as nip44Decrypt, encrypt as nip44Encrypt } from 'nostr-tools/nip44';
import { finalizeEvent, getPublicKey } from 'nostr-tools/pure';
import { hexToBytes } from 'nostr-tools/utils';
import { parseStrictJson } from '../protocol/strict-json.ts';
import type { OpenSocket } from '../web/browser.ts';
import type { Read } from '../web/page-input.ts';
import { readRelays } from '../web/page-input.ts';
import { BoardRelays } from './relays.ts';

const KIND_INFO = 13194;
const KIND_REQUEST = 23194;
const KIND_RESPONSE = 23195;
const HEX64 = /^[0-9a-f]{64}$/;
/** A response larger than this is not read (NIP-44 payloads are at most 64 KiB of text). */
const MAX_RESPONSE_CHARS = 100_000;

export interface WalletUri {
  walletPubkey: string;
  relays: string[];
  secret: Uint8Array;
}

/** Reads a pasted connection URI. The error never repeats the URI: it carries a secret. */
export function readWalletUri(text: string): Read<WalletUri> {
  const trimmed = text.trim();
  const scheme = ['nostr+walletconnect://', 'nostrwalletconnect://', 'nostr+walletconnect:'].find((prefix) =>
    trimmed.toLowerCase().startsWith(prefix),
  );
  if (scheme === undefined) {
    return { ok: false, error: 'a wallet connection starts with nostr+walletconnect://' };
  }
  const rest = trimmed.slice(scheme.length);
  const queryAt = rest.indexOf('?');
  const walletPubkey = (queryAt < 0 ? rest : rest.slice(0, queryAt)).replace(/\/+$/, '');
  if (!HEX64.test(walletPubkey)) {
    return { ok: false, error: 'the wallet connection must name the wallet by its 64-hex public key' };
  }
  const params = new URLSearchParams(queryAt < 0 ? '' : rest.slice(queryAt + 1));
  const relays = readRelays(params.getAll('relay').join('\n'));
  if (!relays.ok) return { ok: false, error: `the wallet connection's relays: ${relays.error}` };
  const secret = params.get('secret') ?? '';
  if (!HEX64.test(secret)) {
    return { ok: false, error: 'the wallet connection must carry its secret (secret=<64 hex characters>)' };
  }
  return { ok: true, value: { walletPubkey, relays: relays.value, secret: hexToBytes(secret) } };
}

export type WalletAnswer =
  | { ok: true; result: Record<string, unknown> }
  | { ok: false; code: string; message: string };

export class WalletConnection {
  private constructor(
    private readonly uri: WalletUri,
    private readonly relays: BoardRelays,
    private readonly encryption: 'nip44_v2' | 'nip04',
    /** The methods the wallet's info event lists. */
    readonly methods: readonly string[],
  ) {}

  /** Connects to the wallet's relays and reads its info event; throws a message for people when there is none. */
  static async connect(uri: WalletUri, openSocket: OpenSocket): Promise<WalletConnection> {
    const relays = new BoardRelays(uri.relays, openSocket);
    const infos = await relays.request(
      [{ kinds: [KIND_INFO], authors: [uri.walletPubkey], limit: 5 }],
      8_000,
    );
    const info = infos.sort((a, b) => b.created_at - a.created_at)[0];
    if (info === undefined) {
      relays.close();
      throw new Error(
        `the wallet does not answer: no info event of it on ${uri.relays.join(', ')} (is the wallet service running?)`,
      );
    }
    const offered = (info.tags.find((tag) => tag[0] === 'encryption')?.[1] ?? '').split(/\s+/);
    const methods = info.content.split(/\s+/).filter((word) => word !== '');
    return new WalletConnection(uri, relays, offered.includes('nip44_v2') ? 'nip44_v2' : 'nip04', methods);
  }

  get clientPubkey(): string {
    return getPublicKey(this.uri.secret);
  }

  offers(method: string): boolean {
    return this.methods.includes(method);
  }

  /**
   * One request; resolves with the wallet's answer, or `{ ok: false, code: 'TIMEOUT' }` when none came in time.
   * Never rejects.
   */
  async call(method: string, params: Record<string, unknown>, timeoutMs: number): Promise<WalletAnswer> {
    const now = Math.floor(Date.now() / 1000);
    const plaintext = JSON.stringify({ method, params });
    const conversation = getConversationKey(this.uri.secret, this.uri.walletPubkey);
    const request = finalizeEvent(
      {
        kind: KIND_REQUEST,
        created_at: now,
        tags: [
          ['p', this.uri.walletPubkey],
          ...(this.encryption === 'nip44_v2' ? [['encryption', 'nip44_v2']] : []),
          ['expiration', String(now + Math.ceil(timeoutMs / 1000) + 60)],
        ],
        content:
          this.encryption === 'nip44_v2'
            ? nip44Encrypt(plaintext, conversation)
            : nip04Encrypt(this.uri.secret, this.uri.walletPubkey, plaintext),
      },
      this.uri.secret,
    );
    const subscription = `wallet-${request.id.slice(0, 16)}`;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (answer: WalletAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.relays.unsubscribe(subscription);
        resolve(answer);
      };
      const timer = setTimeout(
        () =>
          finish({
            ok: false,
            code: 'TIMEOUT',
            message: `the wallet did not answer within ${timeoutMs / 1000} s`,
          }),
        timeoutMs,
      );
      this.relays.subscribe(
        subscription,
        [{ kinds: [KIND_RESPONSE], authors: [this.uri.walletPubkey], '#e': [request.id] }],
        {
          event: (response) => {
            const answer = this.read(response.content, method, conversation);
            if (answer !== null) finish(answer);
          },
        },
      );
      void this.relays.publish(request).then((outcome) => {
        if (!outcome.ok) {
          finish({
            ok: false,
            code: 'NOT_SENT',
            message: `no relay of the wallet took the request (${outcome.answers.map((answer) => answer.message).join('; ') || 'none reachable'})`,
          });
        }
      });
    });
  }

  close(): void {
    this.relays.close();
  }

  private read(content: string, method: string, conversation: Uint8Array): WalletAnswer | null {
    if (content.length > MAX_RESPONSE_CHARS) return null;
    let text: string;
    try {
      text =
        this.encryption === 'nip44_v2'
          ? nip44Decrypt(content, conversation)
          : nip04Decrypt(this.uri.secret, this.uri.walletPubkey, content);
    } catch {
      return null;
    }
    const parsed = parseStrictJson(text);
    if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) return null;
    const body = parsed.value as { result_type?: unknown; error?: unknown; result?: unknown };
    if (body.result_type !== method) return null;
    if (body.error !== null && body.error !== undefined) {
      const error = body.error as { code?: unknown; message?: unknown };
      return {
        ok: false,
        code: typeof error.code === 'string' ? error.code.slice(0, 40) : 'OTHER',
        message: typeof error.message === 'string' ? error.message.slice(0, 500) : 'the wallet refused',
      };
    }
    if (typeof body.result !== 'object' || body.result === null) return null;
    return { ok: true, result: body.result as Record<string, unknown> };
  }
}
