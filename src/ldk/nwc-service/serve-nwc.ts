// Runs the sandbox as its own process, reached the production way: three LDK nodes on a regtest chain mined on
// a timer, the agent's node behind a NIP-47 wallet service on a relay. Prints the connection URI for the agent.
//
//   npx tsx src/ldk/nwc-service/serve-nwc.ts [folder] [--relay ws://...]... [--relay-port N] [--block-seconds N]
//                                            [--without NAME]... [--nip04] [--no-extensions]
//
// folder        default ./data/nwc-sandbox (kept across runs: nodes, chain, relay database, wallet keys)
// --relay       use these relays instead of starting one (repeatable)
// --relay-port  port of the embedded relay on 127.0.0.1 (default 7447)
// --without     leave a method or notification out of what the wallet offers (to see the agent refuse it)
// --nip04       speak NIP-04 only; --no-extensions: plain NIP-47 fields only (docs/lightning-nwc.md)
//
// Prints one JSON line {nwc, relays, wallet, node, ...} (the URI carries the client secret; it is also written
// to <folder>/nwc-uri.txt, mode 0600), then a line per block. Reads commands on stdin: `pay <bolt11>` (the
// payer pays it), `invoice <msat>` (the worker issues one, for payouts), `mine [n]`, `info`.
// Stops cleanly on SIGINT / SIGTERM; a SIGKILL is fine too (the folder is always restartable).
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { generateSecretKey } from 'nostr-tools/pure';
import { startEmbeddedRelay } from '../../relay/index.ts';
import type { Nip47Method, Nip47NotificationType } from '../nwc/nip47.ts';
import { SERVED_METHODS, SERVED_NOTIFICATIONS } from './nwc-wallet-service.ts';
import { startSandboxWallet } from './start-sandbox-wallet.ts';

const args = process.argv.slice(2);
const values = (flag: string) =>
  args.flatMap((arg, index) => (arg === flag && args[index + 1] ? [args[index + 1]!] : []));
const flagged = new Set(['--relay', '--relay-port', '--block-seconds', '--without']);
const folder = resolve(
  args.find((arg, index) => !arg.startsWith('--') && !flagged.has(args[index - 1] ?? '')) ??
    'data/nwc-sandbox',
);
const blockSeconds = Number(values('--block-seconds')[0] ?? 30);
const relayPort = Number(values('--relay-port')[0] ?? 7447);
const without = new Set(values('--without'));
if (!Number.isFinite(blockSeconds) || blockSeconds <= 0) fail('--block-seconds takes a positive number');
if (!Number.isInteger(relayPort) || relayPort < 0 || relayPort > 65535)
  fail('--relay-port takes a port number');
for (const name of without) {
  if (
    !(SERVED_METHODS as readonly string[]).includes(name) &&
    !(SERVED_NOTIFICATIONS as readonly string[]).includes(name)
  ) {
    fail(
      `--without ${name}: not a method or notification this wallet offers (${[...SERVED_METHODS, ...SERVED_NOTIFICATIONS].join(', ')})`,
    );
  }
}

mkdirSync(folder, { recursive: true, mode: 0o700 });
const keys = readOrCreateKeys(join(folder, 'nwc-keys.json'));
let relays = values('--relay');
const embedded =
  relays.length === 0
    ? await startEmbeddedRelay({ dbPath: join(folder, 'relay.sqlite'), port: relayPort })
    : null;
if (embedded) relays = [embedded.url];

const wallet = await startSandboxWallet({
  directory: join(folder, 'sandbox'),
  relays,
  walletSecretKey: keys.wallet,
  clientSecretKey: keys.client,
  sandbox: { blockIntervalMs: blockSeconds * 1000, logLevel: 'warn' },
  service: {
    methods: SERVED_METHODS.filter((method) => !without.has(method)) as Nip47Method[],
    notifications: SERVED_NOTIFICATIONS.filter((type) => !without.has(type)) as Nip47NotificationType[],
    encryptions: args.includes('--nip04') ? ['nip04'] : ['nip44_v2'],
    extensions: !args.includes('--no-extensions'),
    log: {
      debug() {},
      info() {},
      warn: (fields, message) => process.stderr.write(`[nwc warn] ${message} ${JSON.stringify(fields)}\n`),
      error: (fields, message) => process.stderr.write(`[nwc error] ${message} ${JSON.stringify(fields)}\n`),
    },
  },
});
const { sandbox } = wallet;
writeFileSync(join(folder, 'nwc-uri.txt'), `${wallet.uri}\n`, { mode: 0o600 });
chmodSync(join(folder, 'nwc-uri.txt'), 0o600);
print({
  nwc: wallet.uri,
  relays,
  wallet: wallet.service.walletPubkey,
  node: sandbox.agent.nodeId,
  network: 'regtest',
  height: sandbox.height,
  blockSeconds,
  offered: { without: [...without], encryption: args.includes('--nip04') ? 'nip04' : 'nip44_v2' },
  nodes: { payer: sandbox.payer.nodeId, worker: sandbox.worker.nodeId },
});
sandbox.agent.subscribe((event) => {
  if (event.type === 'block') print({ block: event.height });
});

createInterface({ input: process.stdin }).on('line', (line) => {
  runCommand(line.trim()).catch((error) => print({ error: String(error) }));
});

async function runCommand(line: string): Promise<void> {
  const [command, argument] = line.split(/\s+/);
  switch (command) {
    case 'pay':
      print({
        paid: await sandbox.payer.pay({ bolt11: argument ?? '', maxFeeMsat: 100_000n, timeoutSeconds: 600 }),
      });
      return;
    case 'invoice': {
      const invoice = await sandbox.worker.createInvoice({
        amountMsat: BigInt(argument ?? '1000000'),
        description: 'payout',
        expirySeconds: 3600,
      });
      print({ invoice: invoice.bolt11 });
      return;
    }
    case 'mine':
      print({ height: sandbox.mine(Number(argument ?? 1)) });
      return;
    case 'info':
      print({ agent: await sandbox.agent.getInfo(), payer: await sandbox.payer.getInfo() });
      return;
    case '':
      return;
    default:
      print({ error: `unknown command ${command}: pay <bolt11> | invoice <msat> | mine [n] | info` });
  }
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    wallet
      .stop()
      .then(() => embedded?.stop())
      .then(() => process.exit(0));
  });
}

function print(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_key, item) => (typeof item === 'bigint' ? item.toString() : item))}\n`,
  );
}

function fail(message: string): never {
  process.stderr.write(`serve-nwc: ${message}\n`);
  process.exit(2);
}

/** The wallet's key and the client's secret, created once (mode 0600) so the URI stays the same across runs. */
function readOrCreateKeys(path: string): { wallet: Uint8Array; client: Uint8Array } {
  if (!existsSync(path)) {
    const hex = (key: Uint8Array) => Buffer.from(key).toString('hex');
    writeFileSync(
      path,
      `${JSON.stringify({ wallet: hex(generateSecretKey()), client: hex(generateSecretKey()) })}\n`,
      {
        mode: 0o600,
        flag: 'wx',
      },
    );
  }
  if ((statSync(path).mode & 0o077) !== 0) fail(`${path} can be read by others; run: chmod 600 ${path}`);
  const saved = JSON.parse(readFileSync(path, 'utf8')) as { wallet: string; client: string };
  return { wallet: Buffer.from(saved.wallet, 'hex'), client: Buffer.from(saved.client, 'hex') };
}
