// The sandbox: three real LDK nodes (agent, payer, worker) in this process, peers over 127.0.0.1 TCP,
// channels payer -> agent and agent -> worker, on a regtest chain the sandbox mines itself. Everything lives
// in one folder; a sandbox stopped (or killed) at any moment starts again from it.
//
// Folder: sandbox.json (ports, capacity), chain/ (blocks, mempool), agent/, payer/, worker/ (one LDK node
// each: seed, manager, monitors, invoice and payment records).
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import * as ldk from 'lightningdevkit';
import { readFileIfExists, writeFileAtomic } from './atomic-file.ts';
import { loadLdk } from './load-ldk.ts';
import { CHANNEL_CONFIRMATIONS } from './node-config.ts';
import type { LogLevel, NodeLog } from './node-options.ts';
import { awaitUsableChannels, type ChannelPlan, fundChannel, openChannels } from './open-channels.ts';
import { RegtestChain } from './regtest-chain.ts';
import { SandboxBackend } from './sandbox-backend.ts';

export const NODE_NAMES = ['agent', 'payer', 'worker'] as const;
export type NodeName = (typeof NODE_NAMES)[number];

export interface SandboxOptions {
  directory: string;
  host?: string;
  /** Mine a block every this many ms (demos); 0 or absent: only mine() mines (tests). */
  blockIntervalMs?: number;
  /** Each channel's size; the default leaves room for many holds. */
  channelCapacitySat?: bigint;
  log?: NodeLog;
  logLevel?: LogLevel;
  /** For crash tests: called after each durable write of a node's channel state (see node-options.ts). */
  afterWrite?: (node: NodeName, what: 'monitor' | 'manager') => void;
}

interface SandboxFile {
  ports: Record<NodeName, number>;
  channelCapacitySat: string;
}

const DEFAULT_CAPACITY_SAT = 10_000_000n;
const PEER_CHECK_MS = 1000;

export class Sandbox {
  chain: RegtestChain;
  private nodes: Record<NodeName, SandboxBackend>;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  private constructor(
    private readonly options: Required<Omit<SandboxOptions, 'log' | 'afterWrite'>> &
      Pick<SandboxOptions, 'afterWrite'> & {
        log: NodeLog;
        /** The log without the level filter: for the few lines an operator must see at any level. */
        notice: NodeLog;
      },
    private readonly file: SandboxFile,
  ) {
    this.chain = RegtestChain.open(join(options.directory, 'chain'));
    this.nodes = this.openNodes();
  }

  static async start(options: SandboxOptions): Promise<Sandbox> {
    await loadLdk();
    mkdirSync(options.directory, { recursive: true });
    const host = options.host ?? '127.0.0.1';
    const settings = {
      directory: options.directory,
      host,
      blockIntervalMs: options.blockIntervalMs ?? 0,
      channelCapacitySat: options.channelCapacitySat ?? DEFAULT_CAPACITY_SAT,
      logLevel: options.logLevel ?? 'error',
      log: atLeast(options.logLevel ?? 'error', options.log ?? printLog),
      notice: options.log ?? printLog,
      afterWrite: options.afterWrite,
    };
    const file = await loadOrCreateFile(settings.directory, host, settings.channelCapacitySat);
    const sandbox = new Sandbox(settings, file);
    try {
      await sandbox.goOnline();
    } catch (error) {
      // Nothing may keep running (listening sockets, peer timers) behind a start that failed.
      await sandbox.stop(false);
      throw error;
    }
    return sandbox;
  }

  get agent(): SandboxBackend {
    return this.nodes.agent;
  }

  get payer(): SandboxBackend {
    return this.nodes.payer;
  }

  get worker(): SandboxBackend {
    return this.nodes.worker;
  }

  get height(): number {
    return this.chain.height;
  }

  /** The TCP ports the nodes listen on (127.0.0.1 by default), kept in sandbox.json across restarts. */
  get ports(): Record<NodeName, number> {
    return { ...this.file.ports };
  }

  /** Mines blocks (the first takes the mempool) and feeds each to every node. Returns the new height. */
  mine(blocks: number): number {
    for (const block of this.chain.mine(blocks)) {
      for (const node of Object.values(this.nodes)) node.node.connectBlock(block);
      for (const node of Object.values(this.nodes)) node.afterBlock();
    }
    return this.chain.height;
  }

  /**
   * Restarts the three nodes (and the chain) from the folder, as a new process would. Not graceful by default:
   * the folder is left as a crash at this moment would leave it.
   */
  async restart(graceful = false): Promise<void> {
    this.halt(graceful);
    this.stopped = false;
    this.chain = RegtestChain.open(join(this.options.directory, 'chain'));
    this.nodes = this.openNodes();
    await this.goOnline();
  }

  async stop(graceful = true): Promise<void> {
    this.halt(graceful);
    // Let the sockets' close events run before the caller tears down the folder.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  private halt(graceful: boolean): void {
    this.stopped = true;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    for (const node of Object.values(this.nodes)) node.stop(graceful);
  }

  private openNodes(): Record<NodeName, SandboxBackend> {
    const open = (name: NodeName) => {
      const backend: SandboxBackend = SandboxBackend.open(
        {
          name,
          directory: join(this.options.directory, name),
          chain: this.chain,
          log: this.options.log,
          logLevel: this.options.logLevel,
          afterWrite: this.options.afterWrite && ((what) => this.options.afterWrite?.(name, what)),
        },
        { onFundingReady: (event) => fundChannel(backend, event) },
      );
      return backend;
    };
    return { agent: open('agent'), payer: open('payer'), worker: open('worker') };
  }

  private channelPlans(): ChannelPlan[] {
    const capacitySat = BigInt(this.file.channelCapacitySat);
    return [
      { from: this.nodes.payer, to: this.nodes.agent, capacitySat },
      { from: this.nodes.agent, to: this.nodes.worker, capacitySat },
    ];
  }

  private async goOnline(): Promise<void> {
    const { host } = this.options;
    for (const name of NODE_NAMES) await this.nodes[name].node.listen(host, this.file.ports[name]);
    this.connectPeers();
    this.timers.push(setInterval(() => this.connectPeers(), PEER_CHECK_MS));
    await openChannels(this.channelPlans(), this.chain, (blocks) => this.mine(blocks));
    // A crash between a channel's funding broadcast and its last confirmation (killed while opening or replacing
    // a channel) leaves it pending at start-up: on a chain mined on demand it would never become usable. Confirm it.
    if (this.hasUnconfirmedChannel()) this.mine(CHANNEL_CONFIRMATIONS);
    const closed = await awaitUsableChannels(this.channelPlans());
    if (closed.length > 0) {
      // LDK force-closed a channel on the way up (a manager saved just before a monitor it was older than):
      // the money is safe in the monitors. Confirm the closing transactions, then open a replacement, and say so
      // in one line whatever the log level (the holds that were in the channel are no longer held).
      // A channel only one side still lists (a crash while it was being opened) is closed on that side first.
      for (const plan of closed) closeLeftovers(plan);
      this.mine(1);
      await openChannels(closed, this.chain, (blocks) => this.mine(blocks));
      const still = await awaitUsableChannels(this.channelPlans());
      if (still.length > 0) {
        throw new Error(
          `sandbox: ${still.map(({ from, to }) => `${from.name} -> ${to.name}`).join(', ')} closed again after its replacement; the folder ${this.options.directory} needs a look (LDK_LOG_LEVEL=info shows why)`,
        );
      }
      this.options.notice({
        node: 'sandbox',
        level: 'warn',
        message: `replacing ${closed.map(({ from, to }) => `${from.name} -> ${to.name}`).join(', ')}: closed by LDK at restart (a crash left a channel monitor newer than the channel manager); mined the close and opened a fresh channel. The holds that were in it are no longer held: their HTLCs are resolved on chain (no msat lost) and the node reports them cancelled`,
      });
    }
    if (this.options.blockIntervalMs > 0) {
      this.timers.push(setInterval(() => this.mine(1), this.options.blockIntervalMs));
    }
  }

  /** Whether a planned channel exists whose funding has fewer confirmations than the channel needs. */
  private hasUnconfirmedChannel(): boolean {
    return this.channelPlans().some(({ from, to }) =>
      from.node.manager.list_channels_with_counterparty(Buffer.from(to.nodeId, 'hex')).some((channel) => {
        const confirmations = channel.get_confirmations();
        return !(confirmations instanceof ldk.Option_u32Z_Some) || confirmations.some < CHANNEL_CONFIRMATIONS;
      }),
    );
  }

  /** The channel funder dials its peer; re-dialed whenever the connection is gone (restarts, timeouts). */
  private connectPeers(): void {
    if (this.stopped) return;
    for (const { from, to } of this.channelPlans()) {
      if (from.node.isConnectedTo(to.nodeId)) continue;
      from.node.connect(this.options.host, this.file.ports[to.name as NodeName], to.nodeId).catch(() => {
        // Refused or reset: the next check dials again.
      });
    }
  }
}

/** Force-closes whatever channel either side of a plan still lists with the other, so a fresh one can be opened. */
function closeLeftovers({ from, to }: ChannelPlan): void {
  for (const [node, peer] of [
    [from, to],
    [to, from],
  ] as const) {
    const peerId = Buffer.from(peer.nodeId, 'hex');
    for (const channel of node.node.manager.list_channels_with_counterparty(peerId)) {
      node.node.change((manager) =>
        manager.force_close_broadcasting_latest_txn(
          channel.get_channel_id(),
          peerId,
          'sandbox: its peer no longer has this channel; replacing it',
        ),
      );
    }
  }
}

async function loadOrCreateFile(directory: string, host: string, capacitySat: bigint): Promise<SandboxFile> {
  const path = join(directory, 'sandbox.json');
  const saved = readFileIfExists(path);
  if (saved) return JSON.parse(Buffer.from(saved).toString('utf8')) as SandboxFile;
  const file: SandboxFile = {
    ports: { agent: await freePort(host), payer: await freePort(host), worker: await freePort(host) },
    channelCapacitySat: String(capacitySat),
  };
  writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
  return file;
}

/** A port the OS says is free now; kept in sandbox.json so a restart listens on the same one. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const LEVELS: readonly LogLevel[] = ['gossip', 'trace', 'debug', 'info', 'warn', 'error'];

/** The adapter's own messages obey the same level as LDK's. */
function atLeast(minimum: LogLevel, log: NodeLog): NodeLog {
  const floor = LEVELS.indexOf(minimum);
  return (entry) => {
    if (LEVELS.indexOf(entry.level) >= floor) log(entry);
  };
}

function printLog(entry: { node: string; level: LogLevel; message: string }): void {
  process.stderr.write(`[ldk ${entry.node} ${entry.level}] ${entry.message}\n`);
}
