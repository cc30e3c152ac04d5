// A NIP-47 wallet service whose answers a test scripts, to show what the NWC adapter does with answers a real
// wallet would not give: wrongly encrypted, not JSON, the wrong shape, for another request, or none at all.
// It publishes an info event offering everything the adapter needs and answers get_info like a wallet on
// regtest; every other request goes to the script. Built on nostr-tools' own relay client, not on the code
// under test.
import type { Event } from 'nostr-tools/core';
import * as nip44 from 'nostr-tools/nip44';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import type { Relay } from 'nostr-tools/relay';
import { formatNwcUri } from '../../src/ldk/nwc/index.ts';
import { connectNostrTools } from './relay.ts';

export interface ScriptedRequest {
  method: string;
  params: Record<string, unknown>;
  event: Event;
}

export interface ResponseOverrides {
  /** Replaces the encrypted content as is. */
  content?: string;
  /** Encrypts this text instead of the JSON of the body. */
  plaintext?: string;
  /** Encrypts for this public key instead of the client's. */
  encryptFor?: string;
  /** Signs with this key instead of the wallet's. */
  signer?: Uint8Array;
  /** The `e` tag's request id. */
  requestId?: string;
}

export interface ScriptTools {
  readonly walletPubkey: string;
  /** A signed response as the wallet would send it; overrides break it on purpose. */
  response(request: ScriptedRequest, body: unknown, overrides?: ResponseOverrides): Event;
  publish(event: Event): Promise<void>;
}

export type WalletScript = (request: ScriptedRequest, tools: ScriptTools) => Promise<void> | void;

export interface ScriptedWallet {
  readonly walletPubkey: string;
  /** Every request the wallet received (get_info included), in order. */
  readonly requests: ScriptedRequest[];
  uri(relayUrl: string): string;
  stop(): void;
}

const METHODS =
  'get_info get_balance make_hold_invoice settle_hold_invoice cancel_hold_invoice lookup_invoice pay_invoice list_transactions';

export async function startScriptedWallet(options: {
  relayUrl: string;
  script: WalletScript;
}): Promise<ScriptedWallet> {
  const walletSecret = generateSecretKey();
  const clientSecret = generateSecretKey();
  const walletPubkey = getPublicKey(walletSecret);
  const clientPubkey = getPublicKey(clientSecret);
  const conversation = nip44.getConversationKey(walletSecret, clientPubkey);
  const relay: Relay = await connectNostrTools(options.relayUrl);
  const requests: ScriptedRequest[] = [];

  const tools: ScriptTools = {
    walletPubkey,
    response(request, body, overrides = {}) {
      const key = overrides.encryptFor
        ? nip44.getConversationKey(walletSecret, overrides.encryptFor)
        : conversation;
      return finalizeEvent(
        {
          kind: 23195,
          created_at: Math.floor(Date.now() / 1000),
          tags: [
            ['p', clientPubkey],
            ['e', overrides.requestId ?? request.event.id],
          ],
          content: overrides.content ?? nip44.encrypt(overrides.plaintext ?? JSON.stringify(body), key),
        },
        overrides.signer ?? walletSecret,
      );
    },
    async publish(event) {
      await relay.publish(event);
    },
  };

  await relay.publish(
    finalizeEvent(
      {
        kind: 13194,
        created_at: Math.floor(Date.now() / 1000),
        tags: [
          ['encryption', 'nip44_v2'],
          ['notifications', 'hold_invoice_accepted'],
        ],
        content: `${METHODS} notifications`,
      },
      walletSecret,
    ),
  );
  let subscribed: () => void = () => {};
  const live = new Promise<void>((resolve) => {
    subscribed = resolve;
  });
  relay.subscribe([{ kinds: [23194], '#p': [walletPubkey] }], {
    oneose: () => subscribed(),
    onevent: (event) => {
      const body = JSON.parse(nip44.decrypt(event.content, conversation)) as {
        method: string;
        params: Record<string, unknown>;
      };
      const request = { method: body.method, params: body.params, event };
      requests.push(request);
      if (request.method === 'get_info') {
        const result = {
          pubkey: walletPubkey,
          network: 'regtest',
          block_height: 500,
          methods: METHODS.split(' '),
          notifications: ['hold_invoice_accepted'],
        };
        void tools.publish(tools.response(request, { result_type: 'get_info', error: null, result }));
        return;
      }
      void Promise.resolve(options.script(request, tools)).catch((error) => {
        process.stderr.write(`scripted wallet: ${String(error)}\n`);
      });
    },
  });

  await live;
  return {
    walletPubkey,
    requests,
    uri: (relayUrl) => formatNwcUri({ walletPubkey, relays: [relayUrl], secretKey: clientSecret }),
    stop: () => relay.close(),
  };
}
