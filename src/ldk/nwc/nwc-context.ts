// What every NWC port method needs: the NIP-47 client, what the wallet offers, the hold tracker, a way to tell
// subscribers, and the request timeout.
import type { LightningEvent, Network, PaymentResult } from '../port.ts';
import type { HoldTracker } from './hold-tracker.ts';
import type { Nip47Encryption } from './nip47.ts';
import type { Nip47Client } from './nip47-client.ts';
import type { NwcLogger } from './nwc-log.ts';

export interface WalletDescription {
  walletPubkey: string;
  /** get_info's pubkey: the Lightning node behind the wallet, when the wallet tells. */
  nodeId: string;
  network: Network;
  encryption: Nip47Encryption;
  /** Methods both the info event and get_info list for this connection. */
  methods: readonly string[];
  notifications: readonly string[];
}

export interface NwcContext {
  readonly client: Nip47Client;
  readonly wallet: WalletDescription;
  readonly tracker: HoldTracker;
  readonly log: NwcLogger;
  /** For calls that change something (make, settle, cancel) and for reads. */
  readonly requestTimeoutMs: number;
  emit(event: LightningEvent): void;
  /** pay() calls in flight in this process, by payment hash: a second call waits for the first. */
  readonly paying: Map<string, Promise<PaymentResult>>;
}
