// A regtest Lightning network of REAL daemons for the real-LND suites (issue #17): one btcd (mining on demand
// with `generate`) and three LND nodes, agent, payer and worker, with public channels payer -> agent and
// agent -> worker, active and known to every node's graph. Everything lives in a temporary folder and runs
// in process groups of its own on free 127.0.0.1 ports; stop() kills the groups and removes the folder, and
// start() first cleans up what an earlier run killed mid-way left behind (its owner process is gone).
//
// The binaries come from scripts/build-lnd.mjs: $LND_BIN_DIR, by default
// ${XDG_CACHE_HOME:-~/.cache}/escrow-agent/lnd-v0.21.6-beta/bin. lndRegtestAvailability() says why they
// cannot be used, for the suites' one SKIP line.
//
//   const net = await LndRegtest.start();
//   const backend = await LndBackend.connect(net.adapterConfig('agent'));
//   await net.mine(6);  ...  await net.stop();
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { bech32 } from '@scure/base';
import {
  type AuthenticatedLnd,
  addPeer,
  authenticatedLndGrpc,
  createChainAddress,
  createInvoice,
  getChainBalance,
  getChannel,
  getChannels,
  getWalletInfo,
  openChannel,
} from 'lightning';
import type { LndConfig } from '../../src/ldk/lnd/index.ts';

export const LND_VERSION = 'v0.21.6-beta';
export type LndNodeName = 'agent' | 'payer' | 'worker';
const NODE_NAMES: readonly LndNodeName[] = ['agent', 'payer', 'worker'];
const BINARIES = ['lnd', 'lncli', 'btcd', 'btcctl'] as const;

/** The agent's forwarding policy (lnd's bitcoin.basefee / bitcoin.feerate), so the routed fee is known. */
export const BASE_FEE_MSAT = 1000n;
export const FEE_RATE_PPM = 100n;
/** LND's invoices.holdexpirydelta on every node (LND's own default since v0.21). */
export const HOLD_EXPIRY_DELTA = 18;
export const CHANNEL_SAT = 10_000_000;
/** On-chain coins given to the payer and the agent (each opens one channel). */
const FUNDING_SAT = 100_000_000;
const SEGWIT_ACTIVE_HEIGHT = 432;
/** The weight an HTLC output adds to a commitment transaction (BOLT 3). */
const HTLC_WEIGHT = 172n;

export function lndBinDir(): string {
  if (process.env.LND_BIN_DIR) return process.env.LND_BIN_DIR;
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'escrow-agent', `lnd-${LND_VERSION}`, 'bin');
}

/** The folder scripts/build-lnd.mjs builds into (it must be the one lndBinDir() looks in). */
export function buildScriptBinDir(): string {
  const script = fileURLToPath(new URL('../../scripts/build-lnd.mjs', import.meta.url));
  return execFileSync(process.execPath, [script, '--print-bin-dir'], { encoding: 'utf8' }).trim();
}

/** null when the daemons can run here; otherwise why not, for a SKIP line. */
export function lndRegtestUnavailable(): string | null {
  const dir = lndBinDir();
  const missing = BINARIES.filter((name) => !existsSync(join(dir, name)));
  if (missing.length === 0) return null;
  return (
    `no ${missing.join(', ')} in ${dir} (build them with \`node scripts/build-lnd.mjs\`, which needs Go, ` +
    'or set LND_BIN_DIR)'
  );
}

/** Forwarding fee the agent charges on agent -> worker, as LND computes it. */
export function forwardingFeeMsat(amountMsat: bigint): bigint {
  return BASE_FEE_MSAT + (amountMsat * FEE_RATE_PPM) / 1_000_000n;
}

export interface LndNodeAccess {
  name: LndNodeName;
  socket: string;
  p2p: string;
  /** base64 of tls.cert (PEM). */
  cert: string;
  /** hex of admin.macaroon. */
  macaroon: string;
  pubkey: string;
  dir: string;
  lnd: AuthenticatedLnd;
}

interface NodeProcess {
  name: LndNodeName;
  dir: string;
  rpcPort: number;
  p2pPort: number;
  child: ChildProcess | null;
  pubkey: string;
  lnd: AuthenticatedLnd | null;
}

const RPC_USER = 'regtest';

export class LndRegtest {
  private btcd: ChildProcess | null = null;
  private readonly nodes = new Map<LndNodeName, NodeProcess>();
  private stopped = false;
  private readonly rpcPass = randomBytes(12).toString('hex');
  private btcdRpcPort = 0;
  private btcdP2pPort = 0;
  private miningAddress = '';
  private readonly exitHook = () => this.killAllNow();

  private constructor(readonly dir: string) {}

  /** Starts btcd and the three nodes, funds them and opens the channels; about a minute. */
  static async start(): Promise<LndRegtest> {
    const reason = lndRegtestUnavailable();
    if (reason) throw new Error(`cannot start the LND regtest network: ${reason}`);
    cleanLeftovers();
    // A free port is chosen, then let go until the daemon binds it: another suite may take it meanwhile, so a
    // failed start is tried once more on new ports.
    for (let attempt = 1; ; attempt += 1) {
      const net = new LndRegtest(mkdtempSync(join(tmpdir(), 'lnd-regtest-')));
      process.on('exit', net.exitHook);
      try {
        await net.build();
        return net;
      } catch (error) {
        const logs = net.logTails();
        await net.stop();
        if (attempt < 2) continue;
        throw new Error(`the LND regtest network did not start: ${String(error)}\n${logs}`);
      }
    }
  }

  /** Plain (not hold) invoices on a node, claimed as soon as they are paid: what a receiving wallet makes. */
  plainInvoices(name: LndNodeName) {
    return async (request: { amountMsat: bigint; description: string; expirySeconds: number }) => {
      const created = await createInvoice({
        lnd: this.node(name).lnd,
        mtokens: request.amountMsat.toString(),
        description: request.description,
        expires_at: new Date(Date.now() + request.expirySeconds * 1000).toISOString(),
      });
      return {
        bolt11: created.request,
        paymentHash: created.id,
        expiresAt: Math.floor(Date.now() / 1000) + request.expirySeconds,
      };
    };
  }

  node(name: LndNodeName): LndNodeAccess {
    const node = this.mustNode(name);
    if (!node.lnd) throw new Error(`${name} is not running`);
    return {
      name,
      socket: `127.0.0.1:${node.rpcPort}`,
      p2p: `127.0.0.1:${node.p2pPort}`,
      cert: this.certOf(node),
      macaroon: this.macaroonOf(node),
      pubkey: node.pubkey,
      dir: node.dir,
      lnd: node.lnd,
    };
  }

  /** What LndBackend.connect takes for that node, with the facts of this network. */
  adapterConfig(name: LndNodeName, extra: Partial<LndConfig> = {}): LndConfig {
    const node = this.mustNode(name);
    return {
      socket: `127.0.0.1:${node.rpcPort}`,
      cert: this.certOf(node),
      macaroon: this.macaroonOf(node),
      holdExpiryDelta: HOLD_EXPIRY_DELTA,
      pollIntervalMs: 200,
      ...extra,
    };
  }

  /** A macaroon baked by `name` with exactly these permissions (`lncli bakemacaroon`), hex. */
  bakeMacaroon(name: LndNodeName, permissions: readonly string[]): string {
    const node = this.mustNode(name);
    const output = execFileSync(
      join(lndBinDir(), 'lncli'),
      [
        `--lnddir=${node.dir}`,
        '--network=regtest',
        `--rpcserver=127.0.0.1:${node.rpcPort}`,
        'bakemacaroon',
        ...permissions,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    const hex = output.trim();
    if (!/^[0-9a-f]+$/.test(hex)) throw new Error('lncli bakemacaroon printed no macaroon');
    return hex;
  }

  /**
   * What the opener of `name`'s first channel pays in commitment fee for one HTLC output (172 weight units at
   * the channel's fee_per_kw), in msat: its spendable balance drops by that much more while an HTLC is in flight.
   */
  async htlcCommitFeeMsat(name: LndNodeName): Promise<bigint> {
    const lnd = this.node(name).lnd as unknown as {
      default: {
        listChannels(
          request: object,
          callback: (
            error: unknown,
            response: { channels: { fee_per_kw: string; initiator: boolean }[] },
          ) => void,
        ): void;
      };
    };
    const channels = await new Promise<{ fee_per_kw: string; initiator: boolean }[]>((resolve, reject) =>
      lnd.default.listChannels({}, (error, response) => (error ? reject(error) : resolve(response.channels))),
    );
    const channel = channels[0];
    if (!channel) throw new Error(`${name} has no channel`);
    if (!channel.initiator) return 0n;
    return ((HTLC_WEIGHT * BigInt(channel.fee_per_kw)) / 1000n) * 1000n;
  }

  /** The chain height after mining `blocks`, once every running node has seen it. */
  async mine(blocks: number): Promise<number> {
    if (blocks > 0) await this.btcdRpc('generate', [blocks]);
    const { blocks: height } = (await this.btcdRpc('getblockchaininfo', [])) as { blocks: number };
    await this.eachRunning((node) => this.waitForHeight(node, height));
    return height;
  }

  /** Stops a node as a crash would (SIGKILL, or SIGTERM when `gracefully`) and starts it again on its data. */
  async restart(name: LndNodeName, { gracefully = false } = {}): Promise<void> {
    await this.stopNode(name, gracefully ? 'SIGTERM' : 'SIGKILL');
    await this.startNode(this.mustNode(name));
    await this.waitChannelsActive(name);
  }

  /** Stops one node (SIGKILL unless said otherwise); startNodeAgain() brings it back. */
  async stopNode(name: LndNodeName, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = this.mustNode(name);
    const child = node.child;
    node.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    killGroup(child, signal);
    const forced = setTimeout(() => killGroup(child, 'SIGKILL'), 20_000);
    await exited;
    clearTimeout(forced);
    this.writePids();
  }

  async startNodeAgain(name: LndNodeName): Promise<void> {
    await this.startNode(this.mustNode(name));
    await this.waitChannelsActive(name);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const name of NODE_NAMES) if (this.nodes.has(name)) await this.stopNode(name, 'SIGTERM');
    if (this.btcd) {
      const child = this.btcd;
      this.btcd = null;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        killGroup(child, 'SIGKILL');
        await exited;
      }
    }
    process.off('exit', this.exitHook);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The last lines of each daemon's log, for a failure message. */
  logTails(lines = 15): string {
    const parts: string[] = [];
    for (const name of ['btcd', ...NODE_NAMES]) {
      const path = join(this.dir, `${name}.out`);
      if (!existsSync(path)) continue;
      const tail = readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      parts.push(`--- ${name} (last lines of ${path})\n${tail}`);
    }
    return parts.join('\n');
  }

  // --- building the network -------------------------------------------------------------------------------

  private async build(): Promise<void> {
    writeFileSync(join(this.dir, 'owner.json'), JSON.stringify({ owner: process.pid, pids: [] }));
    [this.btcdRpcPort, this.btcdP2pPort] = [await freePort(), await freePort()];
    // btcd mines only to --miningaddr, and it must be known before any wallet exists: every block pays a P2WSH of
    // OP_TRUE, which anyone can spend without a signature. Once the first coinbase is mature it is split between
    // the payer and the agent in a transaction written here (no wallet and no signature involved).
    this.miningAddress = anyoneCanSpendAddress();
    await this.startBtcd();
    // Segwit activates on btcd's regtest after three 144-block windows (BIP 9); LND needs it, and so does the
    // spend below.
    await this.btcdRpc('generate', [SEGWIT_ACTIVE_HEIGHT]);
    for (const name of NODE_NAMES) {
      this.nodes.set(name, {
        name,
        dir: join(this.dir, name),
        rpcPort: await freePort(),
        p2pPort: await freePort(),
        child: null,
        pubkey: '',
        lnd: null,
      });
    }
    await Promise.all(NODE_NAMES.map((name) => this.startNode(this.mustNode(name))));
    const payer = this.mustNode('payer');
    const agent = this.mustNode('agent');
    const payerAddress = (await createChainAddress({ lnd: payer.lnd!, format: 'p2wpkh' })).address;
    const agentAddress = (await createChainAddress({ lnd: agent.lnd!, format: 'p2wpkh' })).address;
    await this.spendFirstCoinbase([
      { address: payerAddress, sat: FUNDING_SAT },
      { address: agentAddress, sat: FUNDING_SAT },
    ]);
    await this.mine(1);
    for (const node of [payer, agent]) {
      await this.waitFor(`${node.name} has spendable coins`, async () => {
        const balance = await getChainBalance({ lnd: node.lnd! });
        return balance.chain_balance >= FUNDING_SAT;
      });
    }
    await this.openChannel('payer', 'agent');
    await this.openChannel('agent', 'worker');
    // Six confirmations make the channels public (announced); a few more let the announcements propagate.
    await this.mine(6);
    await Promise.all(NODE_NAMES.map((name) => this.waitChannelsActive(name)));
    await this.waitGraphKnown();
  }

  /** Spends block 1's coinbase (to the OP_TRUE script) to the given addresses; the rest is the fee. */
  private async spendFirstCoinbase(outputs: { address: string; sat: number }[]): Promise<void> {
    const hash = (await this.btcdRpc('getblockhash', [1])) as string;
    const block = (await this.btcdRpc('getblock', [hash, 1])) as { tx: string[] };
    const txid = block.tx[0]!;
    const coinbase = (await this.btcdRpc('getrawtransaction', [txid, 1])) as {
      vout: { value: number; n: number; scriptPubKey: { hex: string } }[];
    };
    const script = bytesToHex(witnessScriptOf(this.miningAddress));
    const output = coinbase.vout.find((out) => out.scriptPubKey.hex === script);
    if (!output) throw new Error('block 1 pays nothing to the mining address');
    const total = outputs.reduce((sum, out) => sum + out.sat, 0);
    if (total + 10_000 > Math.round(output.value * 1e8)) throw new Error('block 1 pays too little');
    await this.btcdRpc('sendrawtransaction', [bytesToHex(spendAnyoneCanSpend(txid, output.n, outputs))]);
  }

  private async openChannel(from: LndNodeName, to: LndNodeName): Promise<void> {
    const source = this.mustNode(from);
    const target = this.mustNode(to);
    await addPeer({
      lnd: source.lnd!,
      public_key: target.pubkey,
      socket: `127.0.0.1:${target.p2pPort}`,
      retry_count: 5,
      retry_delay: 200,
    });
    await openChannel({
      lnd: source.lnd!,
      local_tokens: CHANNEL_SAT,
      partner_public_key: target.pubkey,
      partner_socket: `127.0.0.1:${target.p2pPort}`,
      chain_fee_tokens_per_vbyte: 2,
    });
  }

  /** Every channel of the network is known, with both directions' policies, to every node. */
  private async waitGraphKnown(): Promise<void> {
    const ids = new Set<string>();
    for (const name of NODE_NAMES) {
      const { channels } = await getChannels({ lnd: this.mustNode(name).lnd! });
      for (const channel of channels) ids.add(channel.id);
    }
    if (ids.size !== 2) throw new Error(`expected 2 channels, found ${ids.size}`);
    for (const name of NODE_NAMES) {
      await this.waitFor(
        `${name} knows both channels`,
        async () => {
          for (const id of ids) {
            try {
              const channel = await getChannel({ lnd: this.mustNode(name).lnd!, id });
              if (channel.policies.length !== 2) return false;
              if (channel.policies.some((policy) => policy.fee_rate === undefined)) return false;
            } catch {
              return false;
            }
          }
          return true;
        },
        120_000,
        // Announcements go out on new blocks too: mine one now and then while waiting.
        () => this.btcdRpc('generate', [1]).then(() => undefined),
      );
    }
    await this.mine(0);
  }

  private async waitChannelsActive(name: LndNodeName): Promise<void> {
    const expected = name === 'agent' ? 2 : 1;
    await this.waitFor(`${name}'s channels are active`, async () => {
      const { channels } = await getChannels({ lnd: this.mustNode(name).lnd! });
      return channels.length === expected && channels.every((channel) => channel.is_active);
    });
  }

  private async waitForHeight(node: NodeProcess, height: number): Promise<void> {
    await this.waitFor(`${node.name} sees height ${height}`, async () => {
      const info = await getWalletInfo({ lnd: node.lnd! });
      return info.current_block_height >= height && info.is_synced_to_chain;
    });
  }

  // --- processes ------------------------------------------------------------------------------------------

  private async startBtcd(): Promise<void> {
    const dir = join(this.dir, 'btcd');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'btcd.conf'), '');
    this.btcd = this.spawnDaemon('btcd', [
      '--regtest',
      `--datadir=${join(dir, 'data')}`,
      `--logdir=${join(dir, 'logs')}`,
      `--rpccert=${join(dir, 'rpc.cert')}`,
      `--rpckey=${join(dir, 'rpc.key')}`,
      `--rpcuser=${RPC_USER}`,
      `--rpcpass=${this.rpcPass}`,
      `--rpclisten=127.0.0.1:${this.btcdRpcPort}`,
      `--listen=127.0.0.1:${this.btcdP2pPort}`,
      `--miningaddr=${this.miningAddress}`,
      '--txindex',
      `--configfile=${join(dir, 'btcd.conf')}`,
      '--nobanning',
      '--debuglevel=info',
    ]);
    await this.waitFor('btcd answers RPC', async () => {
      try {
        await this.btcdRpc('getblockchaininfo', []);
        return true;
      } catch {
        return false;
      }
    });
  }

  private async startNode(node: NodeProcess): Promise<void> {
    mkdirSync(node.dir, { recursive: true });
    node.child = this.spawnDaemon(node.name, [
      `--lnddir=${node.dir}`,
      '--bitcoin.regtest',
      '--bitcoin.node=btcd',
      `--btcd.rpchost=127.0.0.1:${this.btcdRpcPort}`,
      `--btcd.rpcuser=${RPC_USER}`,
      `--btcd.rpcpass=${this.rpcPass}`,
      `--btcd.rpccert=${join(this.dir, 'btcd', 'rpc.cert')}`,
      `--rpclisten=127.0.0.1:${node.rpcPort}`,
      `--listen=127.0.0.1:${node.p2pPort}`,
      `--externalip=127.0.0.1:${node.p2pPort}`,
      '--norest',
      '--nobootstrap',
      '--noseedbackup',
      '--debuglevel=info',
      `--alias=${node.name}`,
      '--bitcoin.defaultchanconfs=1',
      `--bitcoin.basefee=${BASE_FEE_MSAT}`,
      `--bitcoin.feerate=${FEE_RATE_PPM}`,
      `--invoices.holdexpirydelta=${HOLD_EXPIRY_DELTA}`,
      '--trickledelay=50',
      '--gossip.sub-batch-delay=5ms',
      '--caches.rpc-graph-cache-duration=100ms',
      '--db.batch-commit-interval=10ms',
      '--maxpendingchannels=5',
      '--logging.no-commit-hash',
    ]);
    const macaroonPath = join(node.dir, 'data', 'chain', 'bitcoin', 'regtest', 'admin.macaroon');
    await this.waitFor(`${node.name} wrote its macaroon`, async () => existsSync(macaroonPath), 60_000);
    if (!node.lnd) {
      node.lnd = authenticatedLndGrpc({
        cert: this.certOf(node),
        macaroon: this.macaroonOf(node),
        socket: `127.0.0.1:${node.rpcPort}`,
      }).lnd;
    }
    const info = await this.waitFor(
      `${node.name} is up and synced`,
      async () => {
        try {
          const info = await getWalletInfo({ lnd: node.lnd! });
          return info.is_synced_to_chain ? info : undefined;
        } catch {
          return undefined;
        }
      },
      90_000,
    );
    node.pubkey = info.public_key;
  }

  private spawnDaemon(name: string, args: string[]): ChildProcess {
    const out = openSync(join(this.dir, `${name}.out`), 'a');
    const child = spawn(join(lndBinDir(), name === 'btcd' ? 'btcd' : 'lnd'), args, {
      detached: true,
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    this.writePids(child.pid);
    return child;
  }

  private writePids(extra?: number): void {
    const pids = [this.btcd?.pid, ...[...this.nodes.values()].map((node) => node.child?.pid), extra].filter(
      (pid): pid is number => typeof pid === 'number',
    );
    writeFileSync(join(this.dir, 'owner.json'), JSON.stringify({ owner: process.pid, pids }));
  }

  private killAllNow(): void {
    for (const node of this.nodes.values()) if (node.child) killGroup(node.child, 'SIGKILL');
    if (this.btcd) killGroup(this.btcd, 'SIGKILL');
    // The killed daemons may still be writing: what is left is removed by the next start (cleanLeftovers).
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {}
  }

  private async eachRunning(run: (node: NodeProcess) => Promise<void>): Promise<void> {
    await Promise.all([...this.nodes.values()].filter((node) => node.child && node.lnd).map(run));
  }

  private mustNode(name: LndNodeName): NodeProcess {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  private certOf(node: NodeProcess): string {
    return readFileSync(join(node.dir, 'tls.cert')).toString('base64');
  }

  private macaroonOf(node: NodeProcess): string {
    return readFileSync(join(node.dir, 'data', 'chain', 'bitcoin', 'regtest', 'admin.macaroon')).toString(
      'hex',
    );
  }

  private btcdRpc(method: string, params: unknown[]): Promise<unknown> {
    const body = JSON.stringify({ jsonrpc: '1.0', id: 1, method, params });
    const ca = readFileSync(join(this.dir, 'btcd', 'rpc.cert'));
    return new Promise((resolve, reject) => {
      const call = request(
        {
          host: '127.0.0.1',
          port: this.btcdRpcPort,
          method: 'POST',
          ca,
          checkServerIdentity: () => undefined,
          auth: `${RPC_USER}:${this.rpcPass}`,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: 60_000,
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk) => {
            text += chunk;
          });
          response.on('end', () => {
            try {
              const answer = JSON.parse(text) as { result: unknown; error: { message: string } | null };
              if (answer.error) reject(new Error(`btcd ${method}: ${answer.error.message}`));
              else resolve(answer.result);
            } catch {
              reject(new Error(`btcd ${method}: HTTP ${response.statusCode} ${text.slice(0, 200)}`));
            }
          });
        },
      );
      call.on('error', reject);
      call.on('timeout', () => call.destroy(new Error(`btcd ${method}: no answer in 60 s`)));
      call.end(body);
    });
  }

  private async waitFor<T>(
    what: string,
    check: () => Promise<T | undefined | false>,
    timeoutMs = 60_000,
    meanwhile?: () => Promise<void>,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let rounds = 0;
    let last: unknown;
    for (;;) {
      if (this.stopped) throw new Error(`stopped while waiting until ${what}`);
      try {
        const result = await check();
        if (result !== undefined && result !== false) return result as T;
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting until ${what}${last ? ` (last error: ${String(last)})` : ''}`);
      }
      rounds += 1;
      if (meanwhile && rounds % 20 === 0) await meanwhile().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** A free port on 127.0.0.1 (the kernel's choice, released at once). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const OP_TRUE = 0x51;

/** The regtest P2WSH address of the script OP_TRUE: anyone can spend it, with that script as the witness. */
function anyoneCanSpendAddress(): string {
  return bech32.encode('bcrt', [0, ...bech32.toWords(sha256(Uint8Array.of(OP_TRUE)))]);
}

/** The output script of a segwit v0 regtest address (bcrt1q...). */
function witnessScriptOf(address: string): Uint8Array {
  const { prefix, words } = bech32.decode(address as `${string}1${string}`);
  if (prefix !== 'bcrt' || words[0] !== 0) throw new Error(`not a regtest segwit v0 address: ${address}`);
  const program = bech32.fromWords(words.slice(1));
  return Uint8Array.from([0, program.length, ...program]);
}

/** A segwit transaction spending one OP_TRUE P2WSH output (no signature needed) to `outputs`. */
function spendAnyoneCanSpend(
  txid: string,
  vout: number,
  outputs: { address: string; sat: number }[],
): Uint8Array {
  const bytes: number[] = [];
  const uint32 = (value: number) =>
    bytes.push(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24);
  const uint64 = (value: number) => {
    uint32(value % 2 ** 32);
    uint32(Math.floor(value / 2 ** 32));
  };
  uint32(2); // version
  bytes.push(0, 1); // segwit marker and flag
  bytes.push(1); // one input
  bytes.push(...hexToBytes(txid).reverse());
  uint32(vout);
  bytes.push(0); // empty scriptSig
  uint32(0xffffffff);
  bytes.push(outputs.length);
  for (const output of outputs) {
    uint64(output.sat);
    const script = witnessScriptOf(output.address);
    bytes.push(script.length, ...script);
  }
  bytes.push(1, 1, OP_TRUE); // the input's witness: one item, the script itself
  uint32(0); // locktime
  return Uint8Array.from(bytes);
}

/**
 * Folders of earlier runs whose owner process is gone (killed mid-test): kill the daemons they started (only
 * processes whose command line names that folder) and remove them.
 */
function cleanLeftovers(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('lnd-regtest-')) continue;
    const dir = join(tmpdir(), name);
    let owner: { owner: number; pids: number[] };
    try {
      owner = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8'));
    } catch {
      continue;
    }
    if (isAlive(owner.owner)) continue;
    for (const pid of owner.pids) {
      let commandLine = '';
      try {
        commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (!commandLine.includes(dir)) continue;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
