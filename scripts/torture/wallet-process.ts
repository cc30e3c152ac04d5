// The torture's Lightning side, in a process of its own: the LDK sandbox (agent, payer and worker nodes on a regtest
// chain mined on demand) with the agent's node behind a NIP-47 wallet service (hold invoices, what the agent's NWC
// backend needs) and the payer's and worker's nodes behind people's wallets (pay_invoice, make_invoice), all on the
// given relay. Its folder keeps the nodes and the wallets' keys, so a restarted process serves the same URIs.
//
//   tsx scripts/torture/wallet-process.ts FOLDER RELAY_URL
//
// Prints one JSON line {"ready": true, "uris": {"agent", "payer", "worker"}} (each URI carries its client's secret:
// the harness keeps them in memory and in private files, never in a log). Then answers JSON-line requests on stdin,
// {"id": N, "command": "figures" | "mine", "blocks"?: N}, with {"id": N, "result": ...} or {"id": N, "error": "..."}.
// "figures" are the nodes' own numbers: each node's channels (what it can send and receive now, HTLCs pending)
// and the agent node's holds by state: what the final money checks compare against.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { generateSecretKey } from 'nostr-tools/pure';
import { startPeopleWallets } from '../../src/ldk/nwc-service/people-wallets.ts';
import { startSandboxWallet } from '../../src/ldk/nwc-service/start-sandbox-wallet.ts';
import type { SandboxBackend } from '../../src/ldk/sandbox/sandbox-backend.ts';

const [folder, relayUrl] = process.argv.slice(2);
if (!folder || !relayUrl) {
  process.stderr.write('wallet-process: tsx scripts/torture/wallet-process.ts FOLDER RELAY_URL\n');
  process.exit(2);
}
mkdirSync(folder, { recursive: true, mode: 0o700 });
const keys = readOrCreateKeys(join(folder, 'wallet-keys.json'));
const quiet = {
  debug() {},
  info() {},
  warn: (fields: object, message: string) =>
    process.stderr.write(`[wallet warn] ${message} ${JSON.stringify(fields)}\n`),
  error: (fields: object, message: string) =>
    process.stderr.write(`[wallet error] ${message} ${JSON.stringify(fields)}\n`),
};
const wallet = await startSandboxWallet({
  directory: join(folder, 'sandbox'),
  relays: [relayUrl],
  walletSecretKey: keys.agentWallet,
  clientSecretKey: keys.agentClient,
  sandbox: { logLevel: 'warn' },
  service: { log: quiet },
});
const { sandbox } = wallet;
const people = await startPeopleWallets({
  nodes: { payer: sandbox.payer, worker: sandbox.worker },
  relays: [relayUrl],
  keys: {
    payer: { wallet: keys.payerWallet, client: keys.payerClient },
    worker: { wallet: keys.workerWallet, client: keys.workerClient },
  },
  log: quiet,
});
print({ ready: true, uris: { agent: wallet.uri, payer: people.uris.payer, worker: people.uris.worker } });

createInterface({ input: process.stdin }).on('line', (line) => {
  let request: { id?: number; command?: string; blocks?: number };
  try {
    request = JSON.parse(line) as typeof request;
  } catch {
    return;
  }
  answer(request).then(
    (result) => print({ id: request.id, result }),
    (error: Error) => print({ id: request.id, error: error.message }),
  );
});

async function answer(request: { command?: string; blocks?: number }): Promise<unknown> {
  switch (request.command) {
    case 'figures': {
      const holds = await sandbox.agent.list();
      return {
        height: sandbox.height,
        payer: await nodeFigures(sandbox.payer),
        worker: await nodeFigures(sandbox.worker),
        agent: await nodeFigures(sandbox.agent),
        agentHolds: countBy(holds.map((hold) => hold.state)),
        // The payment hashes of holds still open or accepted, to tell whose they are.
        unfinishedHolds: holds
          .filter((hold) => hold.state === 'OPEN' || hold.state === 'ACCEPTED')
          .map((hold) => ({ paymentHash: hold.paymentHash, state: hold.state })),
      };
    }
    case 'mine':
      return { height: sandbox.mine(request.blocks ?? 1) };
    default:
      throw new Error(`unknown command ${String(request.command)}: figures | mine`);
  }
}

async function nodeFigures(node: SandboxBackend) {
  const info = await node.getInfo();
  return {
    localMsat: info.localBalanceMsat,
    remoteMsat: info.remoteBalanceMsat,
    channels: info.channels.length,
    usable: info.channels.filter((channel) => channel.usable).length,
    pendingHtlcs: info.channels.reduce((sum, channel) => sum + channel.pendingHtlcs, 0),
  };
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    people
      .stop()
      .then(() => wallet.stop())
      .finally(() => process.exit(0));
  });
}

function print(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_key, item) => (typeof item === 'bigint' ? item.toString() : item))}\n`,
  );
}

type KeyName =
  | 'agentWallet'
  | 'agentClient'
  | 'payerWallet'
  | 'payerClient'
  | 'workerWallet'
  | 'workerClient';

/** The wallets' service and client keys, made once (mode 0600) so the URIs stay the same across restarts. */
function readOrCreateKeys(path: string): Record<KeyName, Uint8Array> {
  const names: KeyName[] = [
    'agentWallet',
    'agentClient',
    'payerWallet',
    'payerClient',
    'workerWallet',
    'workerClient',
  ];
  if (!existsSync(path)) {
    const fresh = Object.fromEntries(
      names.map((name) => [name, Buffer.from(generateSecretKey()).toString('hex')]),
    );
    writeFileSync(path, `${JSON.stringify(fresh)}\n`, { mode: 0o600, flag: 'wx' });
  }
  const saved = JSON.parse(readFileSync(path, 'utf8')) as Record<KeyName, string>;
  return Object.fromEntries(
    names.map((name) => [name, new Uint8Array(Buffer.from(saved[name], 'hex'))]),
  ) as unknown as Record<KeyName, Uint8Array>;
}
