// Payload encryption between a client and a wallet service: NIP-44 v2 (preferred) or NIP-04 (legacy, only
// when the wallet service offers nothing else). Conversation keys are cached per peer (one ECDH each).
import * as nip04 from 'nostr-tools/nip04';
import * as nip44 from 'nostr-tools/nip44';
import type { Nip47Encryption } from './nip47.ts';

/** NIP-44 caps a plaintext at 65535 bytes; a base64 payload this long cannot be one of ours. */
const MAX_PAYLOAD_CHARS = 200_000;

export class PayloadCipher {
  private readonly conversationKeys = new Map<string, Uint8Array>();

  constructor(private readonly secretKey: Uint8Array) {}

  encrypt(encryption: Nip47Encryption, peer: string, plaintext: string): string {
    return encryption === 'nip44_v2'
      ? nip44.encrypt(plaintext, this.conversationKey(peer))
      : nip04.encrypt(this.secretKey, peer, plaintext);
  }

  /** Throws on a payload that was not encrypted for us with this scheme (bad MAC, bad padding, ...). */
  decrypt(encryption: Nip47Encryption, peer: string, payload: string): string {
    if (payload.length > MAX_PAYLOAD_CHARS) throw new Error('payload too large');
    return encryption === 'nip44_v2'
      ? nip44.decrypt(payload, this.conversationKey(peer))
      : nip04.decrypt(this.secretKey, peer, payload);
  }

  private conversationKey(peer: string): Uint8Array {
    let key = this.conversationKeys.get(peer);
    if (!key) {
      key = nip44.getConversationKey(this.secretKey, peer);
      if (this.conversationKeys.size > 1000) this.conversationKeys.clear();
      this.conversationKeys.set(peer, key);
    }
    return key;
  }
}
