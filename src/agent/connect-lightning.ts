// The agent's Lightning node, from the configuration: the embedded LDK sandbox (with its control socket for
// `escrow-agent ln`), a wallet over Nostr Wallet Connect, or LND. Each remote backend checks at start-up that it
// offers what the agent needs, and refuses with a message that names what is missing. Each backend's module is
// loaded only when that backend is chosen (LND's gRPC client and the LDK WebAssembly are large), so importing this
// module for LightningStartupError costs nothing.
import { createHash } from 'node:crypto';
import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { PersonWalletKeys, PersonWalletName } from '../ldk/nwc-service/people-wallets.ts';
import type { HoldInvoiceBackend } from '../ldk/port.ts';
import type { Sandbox } from '../ldk/sandbox/sandbox.ts';
import type { AgentConfig } from './config.ts';
import { readOrCreateSecret } from './secret-files.ts';

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
    const [{ Sandbox }, { startControlServer }] = await Promise.all([
      import('../ldk/sandbox/sandbox.ts'),
      import('../ldk/sandbox-control/control-server.ts'),
    ]);
    const folder = join(config.dataDir, 'sandbox');
    const sandbox = await Sandbox.start({ directory: folder, blockIntervalMs: 30_000 });
    // `escrow-agent ln ...` reaches the payer and worker nodes through this socket while the agent runs.
    const control = await startControlServer(sandbox, folder);
    const walletRelays = options.walletRelays ?? [];
    const wallets =
      walletRelays.length > 0
        ? await startBoardWallets(sandbox, folder, walletRelays, log).catch((error: Error) => {
            log.warn({ err: error.message }, 'the sandbox wallets for the task board did not start');
            return null;
          })
        : null;
    return {
      backend: sandbox.agent,
      describe: `LDK sandbox in ${folder} (regtest, a block every 30 s)`,
      wallets: wallets?.files ?? null,
      async close() {
        await wallets?.stop();
        await control.close();
        await sandbox.stop();
      },
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

/**
 * NIP-47 wallets over the sandbox's payer and worker nodes, for the task board page: their keys derive from one
 * secret file (<sandbox>/nwc-wallets.key, created once), so the connection URIs stay the same across starts; each
 * URI is written to <sandbox>/<name>.nwc with mode 0600. The URIs are never logged or printed: only the paths.
 */
async function startBoardWallets(
  sandbox: Sandbox,
  folder: string,
  relays: readonly string[],
  log: Logger,
): Promise<{ files: Record<PersonWalletName, string>; stop(): Promise<void> }> {
  const { startPeopleWallets } = await import('../ldk/nwc-service/people-wallets.ts');
  const { secret } = readOrCreateSecret(join(folder, 'nwc-wallets.key'), 'the sandbox wallets key');
  const derive = (label: string) =>
    new Uint8Array(
      createHash('sha256').update(secret).update(`nostr-escrow sandbox wallet: ${label}`).digest(),
    );
  const keysOf = (name: PersonWalletName): PersonWalletKeys => ({
    wallet: derive(`${name} service`),
    client: derive(`${name} client`),
  });
  const child = log.child({ component: 'sandbox-wallets' });
  const wallets = await startPeopleWallets({
    nodes: { payer: sandbox.payer, worker: sandbox.worker },
    relays,
    keys: { payer: keysOf('payer'), worker: keysOf('worker') },
    log: {
      debug: () => {},
      info: () => {},
      warn: (fields, message) => child.warn(fields, message),
      error: (fields, message) => child.error(fields, message),
    },
  });
  const files = { payer: join(folder, 'payer.nwc'), worker: join(folder, 'worker.nwc') };
  for (const name of ['payer', 'worker'] as const) writePrivateFile(files[name], `${wallets.uris[name]}\n`);
  return { files, stop: () => wallets.stop() };
}

/** Written whole (a temporary file renamed over the old one), mode 0600 from the start. */
function writePrivateFile(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}
