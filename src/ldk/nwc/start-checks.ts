// The NWC adapter's start-up: a relay answers, the wallet service has an info event, an encryption both
// speak, get_info answers, and every method and notification the agent needs is offered. Each failure is an
// NwcStartupError whose message says what is wrong and what to do about it.
import { isLightningError } from '../lightning-error.ts';
import type { Nip47Client } from './nip47-client.ts';
import type { Nip47Info } from './nip47-schemas.ts';
import type { WalletDescription } from './nwc-context.ts';
import type { NwcLogger } from './nwc-log.ts';
import { networkOf, requestInfo } from './read-wallet-info.ts';
import {
  chooseEncryption,
  findMissing,
  missingCapabilitiesError,
  NwcStartupError,
  readInfoEvent,
} from './wallet-capabilities.ts';

export async function checkWallet(
  client: Nip47Client,
  timeoutMs: number,
  log: NwcLogger,
): Promise<{ wallet: WalletDescription; blockHeight: number }> {
  const wallet = client.walletPubkey;
  const relays = client.relayUrls.join(', ');
  if (!(await client.connect(timeoutMs))) {
    throw new NwcStartupError(
      `cannot reach any relay of the NWC connection (${relays}) within ${timeoutMs} ms`,
    );
  }
  const infoEvent = await client.fetchInfoEvent(timeoutMs);
  if (!infoEvent) {
    throw new NwcStartupError(
      `the NWC wallet service ${wallet} has no info event (kind 13194) on ${relays}: is the wallet service running and connected to these relays?`,
    );
  }
  const capabilities = readInfoEvent(infoEvent);
  const encryption = chooseEncryption(capabilities.encryptions);
  if (!encryption) {
    throw new NwcStartupError(
      `the NWC wallet service ${wallet} offers the encryption ${capabilities.encryptions.join(', ') || '(none)'}; this adapter speaks nip44_v2 and nip04`,
    );
  }
  if (encryption === 'nip04') {
    log.warn({ wallet }, 'the NWC wallet service offers only NIP-04 encryption (deprecated); using it');
  }
  if (!capabilities.methods.includes('get_info')) {
    throw missingCapabilitiesError(wallet, findMissing(capabilities, null));
  }
  if (!(await client.listen(encryption, timeoutMs))) {
    throw new NwcStartupError(
      `no relay of the NWC connection (${relays}) accepted the subscription for answers`,
    );
  }
  let info: Nip47Info;
  try {
    info = await requestInfo(client, timeoutMs);
  } catch (error) {
    throw new NwcStartupError(
      isLightningError(error, 'Timeout')
        ? `the NWC wallet service ${wallet} did not answer get_info within ${timeoutMs} ms: is it running, and does it know this connection?`
        : `the NWC wallet service ${wallet} refused get_info: ${(error as Error).message}`,
    );
  }
  const missing = findMissing(capabilities, info);
  if (missing.methods.length > 0 || missing.notifications.length > 0)
    throw missingCapabilitiesError(wallet, missing);
  const network = networkOf(info.network);
  if (!network) {
    throw new NwcStartupError(
      `the NWC wallet service ${wallet} names an unknown network "${info.network ?? ''}" in get_info`,
    );
  }
  if (info.block_height === undefined) {
    throw new NwcStartupError(
      `the NWC wallet service ${wallet} gives no block_height in get_info: hold deadlines need it`,
    );
  }
  const allowed = (offered: string[], forConnection: string[] | undefined) =>
    offered.filter((name) => forConnection === undefined || forConnection.includes(name));
  return {
    wallet: {
      walletPubkey: wallet,
      nodeId: info.pubkey ?? wallet,
      network,
      encryption,
      methods: allowed(capabilities.methods, info.methods),
      notifications: allowed(capabilities.notifications, info.notifications),
    },
    blockHeight: info.block_height,
  };
}
