// NIP-47 wallets over the sandbox's payer and worker nodes, for the task board page (started by the sandbox's
// thread, src/agent/sandbox-thread-worker.ts).
import { createHash } from 'node:crypto';
import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PersonWalletKeys, PersonWalletName } from '../ldk/nwc-service/people-wallets.ts';
import type { Sandbox } from '../ldk/sandbox/sandbox.ts';
import { readOrCreateSecret } from './secret-files.ts';

/** Where the wallets' warnings go (the thread forwards them to the agent's log). */
export interface WalletLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * NIP-47 wallets over the sandbox's payer and worker nodes, for the task board page: their keys derive from one
 * secret file (<sandbox>/nwc-wallets.key, created once), so the connection URIs stay the same across starts; each
 * URI is written to <sandbox>/<name>.nwc with mode 0600. The URIs are never logged or printed: only the paths.
 */
export async function startBoardWallets(
  sandbox: Sandbox,
  folder: string,
  relays: readonly string[],
  log: WalletLog,
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
  const wallets = await startPeopleWallets({
    nodes: { payer: sandbox.payer, worker: sandbox.worker },
    relays,
    keys: { payer: keysOf('payer'), worker: keysOf('worker') },
    log: {
      debug: () => {},
      info: () => {},
      warn: (fields, message) => log.warn(fields, message),
      error: (fields, message) => log.error(fields, message),
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
