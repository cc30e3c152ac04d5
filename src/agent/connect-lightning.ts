// The agent's Lightning node, from the configuration: the embedded LDK sandbox (with its control socket for
// `escrow-agent ln`), a wallet over Nostr Wallet Connect, or LND. Each remote backend checks at start-up that it
// offers what the agent needs, and refuses with a message that names what is missing. Each backend's module is
// loaded only when that backend is chosen (LND's gRPC client and the LDK WebAssembly are large), so importing this
// module for LightningStartupError costs nothing.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { PersonWalletName } from '../ldk/nwc-service/people-wallets.ts';
import type { HoldInvoiceBackend } from '../ldk/port.ts';
import type { AgentConfig } from './config.ts';

export interface ConnectedLightning {
  backend: HoldInvoiceBackend;
  /** One line for the start-up banner. */
  describe: string;
  /**
   * The sandbox only, when given relays: the files holding the NIP-47 connection URIs of the payer and worker
   * nodes' wallets (mode 0600; each URI carries a secret), for the task board page. Null otherwise.
   */
  wallets: Record<PersonWalletName, string> | null;
  close(): Promise<void>;
}

/** The configured Lightning node cannot be used as it is: the message names the backend and what to change. */
export class LightningStartupError extends Error {
  override name = 'LightningStartupError';
}

/**
 * What `start` checks of the Lightning settings before it connects, without connecting (for `check-config`):
 * the NWC URI parsed, the LND socket, certificate and macaroon read and parsed (files included) and LND's numbers
 * checked against what LND can honour. Throws the LightningStartupError `start` would; returns one line saying what
 * was checked.
 */
export async function checkLightningSettings(config: AgentConfig): Promise<string> {
  const { backend, url } = config.lightning;
  if (backend === 'sandbox') return 'the LDK sandbox (nothing to check before it starts)';
  if (backend === 'nwc') {
    const { parseNwcUri, NwcUriError } = await import('../ldk/nwc/nwc-uri.ts');
    try {
      const connection = parseNwcUri(url ?? '');
      return `NWC URI parsed: wallet ${connection.walletPubkey.slice(0, 12)}…, ${connection.relays.length} relay(s), a client secret`;
    } catch (error) {
      if (error instanceof NwcUriError) {
        throw new LightningStartupError(`lightning (nwc): ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
  const { LndConfigError, lndConfigFromEnv, lndConfigFromUrl, lndSettings } = await import(
    '../ldk/lnd/lnd-config.ts'
  );
  try {
    const settings = url ? lndConfigFromUrl(url) : lndConfigFromEnv();
    lndSettings({
      ...settings,
      holdExpiryDelta: config.policy.backendAutoCancelBlocks,
      maxFinalCltvDelta: config.policy.maxFinalCltvDelta,
    });
    return `LND settings parsed: socket ${settings.socket}, a macaroon, ${settings.cert ? 'a TLS certificate' : 'no TLS certificate (CA-signed)'}`;
  } catch (error) {
    if (error instanceof LndConfigError) {
      throw new LightningStartupError(`lightning (lnd): ${error.message}`, { cause: error });
    }
    throw error;
  }
}

export async function connectLightning(
  config: AgentConfig,
  log: Logger,
  options: {
    /** Where the sandbox's payer and worker wallets listen (NIP-47), e.g. the embedded relay; none: no wallets. */
    walletRelays?: readonly string[];
  } = {},
): Promise<ConnectedLightning> {
  const { backend, url } = config.lightning;
  if (backend === 'sandbox') {
    // On its own thread (src/agent/sandbox-thread.ts): LDK's work never holds the agent's event loop. `escrow-agent
    // ln ...` reaches the payer and worker nodes through the control socket that thread opens in the folder.
    const { startSandboxThread } = await import('./sandbox-thread.ts');
    const folder = join(config.dataDir, 'sandbox');
    const thread = await startSandboxThread(
      { folder, blockIntervalMs: 30_000, walletRelays: options.walletRelays ?? [] },
      log,
    );
    return {
      backend: thread.backend,
      describe: thread.describe,
      wallets: thread.wallets,
      close: () => thread.close(),
    };
  }
  if (backend === 'nwc') {
    const { NwcBackend, NwcStartupError, NwcUriError } = await import('../ldk/nwc/index.ts');
    try {
      const nwc = await NwcBackend.connect({ uri: url ?? '', log: log.child({ component: 'nwc' }) });
      return {
        backend: nwc,
        describe: 'a wallet over Nostr Wallet Connect (NIP-47 hold invoices)',
        wallets: null,
        close: async () => nwc.close(),
      };
    } catch (error) {
      if (error instanceof NwcStartupError || error instanceof NwcUriError) {
        throw new LightningStartupError(`lightning (nwc): ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
  const { LndBackend, LndConfigError, LndConnectionError, lndConfigFromEnv, lndConfigFromUrl } = await import(
    '../ldk/lnd/index.ts'
  );
  try {
    const settings = url ? lndConfigFromUrl(url) : lndConfigFromEnv();
    const lnd = await LndBackend.connect({
      ...settings,
      holdExpiryDelta: config.policy.backendAutoCancelBlocks,
      maxFinalCltvDelta: config.policy.maxFinalCltvDelta,
    });
    return {
      backend: lnd,
      describe: `LND at ${settings.socket}`,
      wallets: null,
      close: async () => lnd.close(),
    };
  } catch (error) {
    if (error instanceof LndConnectionError || error instanceof LndConfigError) {
      throw new LightningStartupError(`lightning (lnd): ${error.message}`, { cause: error });
    }
    throw error;
  }
}
