// NIP-47 wallets for the sandbox's two other nodes, the payer and the worker: what a person uses from the task
// board page (dist/board.html) to pay an offer's hold invoice (pay_invoice from the payer node) and to make the
// payout invoice of a submission (make_invoice on the worker node). `escrow-agent start` runs them on the
// embedded relay when the backend is the sandbox; the board's browser test starts the same ones.
//
// Each wallet serves one client key: its connection URI carries that key's secret, so callers write it to a
// private file and never print it.
import { getPublicKey } from 'nostr-tools/pure';
import type { Nip47Method } from '../nwc/nip47.ts';
import type { NwcLogger } from '../nwc/nwc-log.ts';
import type { HoldInvoiceBackend } from '../port.ts';
import type { InvoiceMaker } from './handle-request.ts';
import { NwcWalletService } from './nwc-wallet-service.ts';

/** What a person's wallet needs: pay an invoice, make one, and say what it holds. No hold invoices. */
export const PEOPLE_WALLET_METHODS: readonly Nip47Method[] = [
  'get_info',
  'get_balance',
  'pay_invoice',
  'make_invoice',
  'lookup_invoice',
];

export type PersonWalletName = 'payer' | 'worker';

export interface PersonWalletKeys {
  /** The wallet service's key (it signs its info event and responses). */
  wallet: Uint8Array;
  /** The one client this wallet serves: its secret goes into the connection URI. */
  client: Uint8Array;
}

export interface PeopleWallets {
  /** nostr+walletconnect://… per wallet. Each carries its client's secret: never log or print it. */
  uris: Record<PersonWalletName, string>;
  services: Record<PersonWalletName, NwcWalletService>;
  stop(): Promise<void>;
}

export async function startPeopleWallets(options: {
  nodes: Record<PersonWalletName, HoldInvoiceBackend & InvoiceMaker>;
  relays: readonly string[];
  keys: Record<PersonWalletName, PersonWalletKeys>;
  log?: NwcLogger;
}): Promise<PeopleWallets> {
  const started: Partial<Record<PersonWalletName, NwcWalletService>> = {};
  try {
    for (const name of ['payer', 'worker'] as const) {
      started[name] = await NwcWalletService.start({
        backend: options.nodes[name],
        invoiceMaker: options.nodes[name],
        relays: options.relays,
        walletSecretKey: options.keys[name].wallet,
        clientPubkeys: [getPublicKey(options.keys[name].client)],
        methods: PEOPLE_WALLET_METHODS,
        notifications: [],
        alias: `escrow sandbox ${name}`,
        ...(options.log ? { log: options.log } : {}),
      });
    }
  } catch (error) {
    for (const service of Object.values(started)) await service.stop();
    throw error;
  }
  const services = started as Record<PersonWalletName, NwcWalletService>;
  return {
    uris: {
      payer: services.payer.connectionUri(options.keys.payer.client),
      worker: services.worker.connectionUri(options.keys.worker.client),
    },
    services,
    async stop() {
      await services.payer.stop();
      await services.worker.stop();
    },
  };
}
