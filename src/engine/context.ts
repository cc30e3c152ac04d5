// The one context built at start-up and handed to every handler and job (manual dependency injection).
// The clock and the block height are injected values, so tests can move them.

import type { Logger } from 'pino';
import type { Policy } from '../domain/types.ts';
import type { AddressFetchResult } from '../ldk/lightning-address.ts';
import type { HoldInvoiceBackend, Network } from '../ldk/port.ts';
import type { EscrowStore } from '../store/index.ts';
import type { AgentMetrics } from './metrics.ts';
import type { WakeLane } from './wake-lane.ts';

/** The agent's Nostr identity as the engine needs it (src/agent/identity.ts loads one; the secret never logs). */
export interface EngineIdentity {
  pubkey: string;
  npub: string;
  secretKey: Uint8Array;
}

export interface AgentContext {
  store: EscrowStore;
  lightning: HoldInvoiceBackend;
  policy: Policy;
  identity: EngineIdentity;
  /** The node's own id and network: payout invoices to ourselves or another network are refused. */
  node: { id: string; network: Network };
  /** Relays the agent's events are delivered to. */
  writeRelays: () => string[];
  now: () => number;
  height: () => number;
  log: Logger;
  metrics: AgentMetrics;
  /** Asks the effect runner to look at a task soon (after a commit that may need a Lightning call); `lane` says
   * how soon (src/engine/wake-lane.ts; 'task' when not given). */
  wake: (taskId: string, lane?: WakeLane) => void;
  /** Routing-fee cap for payouts, in ppm of the payout (paid by the agent out of its fee). */
  maxRoutingFeePpm: number;
  payTimeoutSeconds: number;
  /** Fetches an invoice for exactly `amountMsat` from a recipient's Lightning address (LUD-16), checked. */
  fetchAddressInvoice: (address: string, amountMsat: bigint) => Promise<AddressFetchResult>;
}
