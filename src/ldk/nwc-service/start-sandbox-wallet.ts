// The sandbox reached the production way: three LDK nodes (Sandbox) with the agent's node behind a NIP-47
// wallet service on the given relays. Used by serve-nwc.ts (its own process), the NWC tests and the bench.
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { Sandbox, type SandboxOptions } from '../sandbox/sandbox.ts';
import { NwcWalletService, type NwcWalletServiceOptions } from './nwc-wallet-service.ts';

export interface SandboxWalletOptions {
  directory: string;
  relays: readonly string[];
  /** Kept across runs by serve-nwc.ts so that the connection URI stays the same; random otherwise. */
  walletSecretKey?: Uint8Array;
  clientSecretKey?: Uint8Array;
  sandbox?: Omit<SandboxOptions, 'directory'>;
  service?: Omit<NwcWalletServiceOptions, 'backend' | 'relays' | 'walletSecretKey' | 'clientPubkeys'>;
}

export interface SandboxWallet {
  readonly sandbox: Sandbox;
  /** The service in front of sandbox.agent (a new one after restart()). */
  readonly service: NwcWalletService;
  /** nostr+walletconnect://... for the one client this wallet serves. Carries its secret. */
  readonly uri: string;
  /** Restarts the three nodes from their folder as after a crash, then the service (same keys) over the new agent node. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSandboxWallet(options: SandboxWalletOptions): Promise<SandboxWallet> {
  const walletSecretKey = options.walletSecretKey ?? generateSecretKey();
  const clientSecretKey = options.clientSecretKey ?? generateSecretKey();
  const sandbox = await Sandbox.start({ ...options.sandbox, directory: options.directory });
  const startService = () =>
    NwcWalletService.start({
      ...options.service,
      backend: sandbox.agent,
      relays: options.relays,
      walletSecretKey,
      clientPubkeys: [getPublicKey(clientSecretKey)],
    });
  let service: NwcWalletService;
  try {
    service = await startService();
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
  return {
    sandbox,
    get service() {
      return service;
    },
    uri: service.connectionUri(clientSecretKey),
    async restart() {
      await service.stop();
      await sandbox.restart(false);
      service = await startService();
    },
    async stop() {
      await service.stop();
      await sandbox.stop();
    },
  };
}
