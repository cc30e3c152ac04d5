// The sandbox behind the NWC wallet service on a real local relay, and the agent's NwcBackend connected to it:
// what the NWC conformance suite, the NWC adapter tests and the bench run on. The relay may sit behind the
// fault-injecting proxy (clients then connect through it; the wallet service always connects directly).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NwcBackend, type NwcBackendOptions } from '../../src/ldk/nwc/index.ts';
import {
  type SandboxWallet,
  type SandboxWalletOptions,
  startSandboxWallet,
} from '../../src/ldk/nwc-service/start-sandbox-wallet.ts';
import {
  FORWARDING_FEE_BASE_MSAT,
  FORWARDING_FEE_PROPORTIONAL_MILLIONTHS,
} from '../../src/ldk/sandbox/node-config.ts';
import type { ConformanceHarness } from '../ldk/conformance.ts';
import { startTestRelay, type TestRelay } from './relay.ts';
import { type RelayProxy, startRelayProxy } from './relay-proxy.ts';

export interface NwcSandbox {
  readonly relay: TestRelay;
  /** Present when asked for: the client side connects through it. */
  readonly proxy: RelayProxy | null;
  readonly wallet: SandboxWallet;
  /** The relay URL clients use (the proxy's when there is one). */
  readonly clientRelayUrl: string;
  /** A connection URI for the wallet's client, on the client relay URL. */
  readonly uri: string;
  close(): Promise<void>;
}

export async function startNwcSandbox(
  options: { proxy?: boolean; service?: SandboxWalletOptions['service'] } = {},
): Promise<NwcSandbox> {
  const directory = mkdtempSync(join(tmpdir(), 'escrow-nwc-sandbox-'));
  const relay = await startTestRelay();
  const proxy = options.proxy ? await startRelayProxy({ target: relay.url }) : null;
  const wallet = await startSandboxWallet({
    directory,
    relays: [relay.url],
    sandbox: { logLevel: process.env.LDK_LOG_LEVEL === 'warn' ? 'warn' : 'error' },
    ...(options.service ? { service: options.service } : {}),
  });
  const clientRelayUrl = proxy?.url ?? relay.url;
  return {
    relay,
    proxy,
    wallet,
    clientRelayUrl,
    uri: wallet.uri.replace(encodeURIComponent(relay.url), encodeURIComponent(clientRelayUrl)),
    async close() {
      await wallet.stop();
      await proxy?.stop();
      await relay.stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export const TEST_BACKEND_OPTIONS: Omit<NwcBackendOptions, 'uri'> = {
  requestTimeoutMs: 20_000,
  pollIntervalMs: 200,
  startupTimeoutMs: 10_000,
  reconnectInitialMs: 50,
  reconnectMaxMs: 500,
};

export function forwardingFeeMsat(amountMsat: bigint): bigint {
  return (
    BigInt(FORWARDING_FEE_BASE_MSAT) +
    (amountMsat * BigInt(FORWARDING_FEE_PROPORTIONAL_MILLIONTHS)) / 1_000_000n
  );
}

/** The conformance harness: the agent is the NwcBackend, the payer and worker are the sandbox's own nodes. */
export async function startNwcHarness(): Promise<ConformanceHarness> {
  const setup = await startNwcSandbox();
  const agent = await NwcBackend.connect({ ...TEST_BACKEND_OPTIONS, uri: setup.uri });
  const sandbox = setup.wallet.sandbox;
  return {
    get agent() {
      return agent;
    },
    get payer() {
      return sandbox.payer;
    },
    get worker() {
      return sandbox.worker;
    },
    mine: async (blocks) => sandbox.mine(blocks),
    // The node (and its wallet service) restart as after a crash; the agent's NWC connection stays up.
    restart: () => setup.wallet.restart(),
    forwardingFeeMsat,
    close: async () => {
      agent.close();
      await setup.close();
    },
  };
}
