// One LDK node: ChannelManager, ChainMonitor, KeysManager and PeerManager (TCP via lightningdevkit-node-net),
// created fresh or restored from its folder, fed blocks through the Confirm interface, and driven by a small
// event loop (LDK's futures wake it; it handles events, flushes peer messages and persists the manager).
//
// Folder layout: seed (32 bytes), manager.bin, monitors/<funding txid>_<index>.bin.
// Persistence order: monitors are written synchronously inside LDK (monitor-persister.ts), the manager right
// after every LDK call that can change a channel (change(), socket reads), before control returns to the
// event loop: LDK force-closes a channel whose saved manager is older than its monitor, so that gap is kept
// to one manager write. Events handled but not yet followed by a manager write are replayed after a crash:
// event handlers must be idempotent.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as ldk from 'lightningdevkit';
import { NodeLDKNet } from 'lightningdevkit-node-net';
import { writeFileAtomic } from './atomic-file.ts';
import { buildParts, type NodeParts } from './build-node-parts.ts';
import { toHex } from './bytes.ts';
import type { MonitorPersister } from './monitor-persister.ts';
import type { LdkNodeOptions, NodeLog } from './node-options.ts';
import type { ChainBlock } from './regtest-chain.ts';

/** LDK asks for a manager tick about once a minute (fee updates, stale payment cleanup). */
const MANAGER_TICK_MS = 60_000;
const RETRY_MS = 500;

export class LdkNode {
  readonly name: string;
  readonly nodeId: string;
  readonly manager: ldk.ChannelManager;
  readonly chainMonitor: ldk.ChainMonitor;
  readonly keys: ldk.KeysManager;
  readonly peers: ldk.PeerManager;
  readonly net: NodeLDKNet;
  /** The owner's handler; throwing makes LDK replay the event later (at-least-once delivery). */
  private onEvent: (event: ldk.Event) => void = () => {
    throw new Error('the node was not started');
  };
  private readonly persister: MonitorPersister;
  private readonly directory: string;
  private readonly log: NodeLog;
  private readonly afterWrite: LdkNodeOptions['afterWrite'];
  /** The bindings hold JS implementations weakly: keep every one reachable for the node's lifetime. */
  private readonly retained: unknown[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private scheduled = false;
  /** The callbacks LDK's futures hold; one of each is armed at a time and replaced after it fires. */
  private managerWake: ldk.FutureCallback | null = null;
  private monitorWake: ldk.FutureCallback | null = null;
  private managerDirty = false;
  private stopped = false;

  private constructor(options: LdkNodeOptions, parts: NodeParts) {
    this.name = options.name;
    this.directory = options.directory;
    this.log = options.log;
    this.afterWrite = options.afterWrite;
    this.manager = parts.manager;
    this.chainMonitor = parts.chainMonitor;
    this.keys = parts.keys;
    this.persister = parts.persister;
    this.retained.push(parts.retained);
    this.nodeId = toHex(this.manager.get_our_node_id());
    const ignorer = ldk.IgnoringMessageHandler.constructor_new();
    this.peers = ldk.PeerManager.constructor_new(
      this.manager.as_ChannelMessageHandler(),
      ignorer.as_RoutingMessageHandler(),
      ignorer.as_OnionMessageHandler(),
      ignorer.as_CustomMessageHandler(),
      Math.floor(Date.now() / 1000),
      randomBytes(32),
      parts.logger,
      this.keys.as_NodeSigner(),
    );
    this.persistAfterPeerMessages();
    this.net = new NodeLDKNet(this.peers);
    this.retained.push(ignorer);
    this.timers.push(setInterval(() => this.tickManager(), MANAGER_TICK_MS).unref());
  }

  /** Opens the node in `directory`: restores it if it has a manager, creates it otherwise. */
  static open(options: LdkNodeOptions): LdkNode {
    return new LdkNode(options, buildParts(options));
  }

  /**
   * Starts the event loop. Separate from open() so the owner's handler is in place first: an event handled
   * by nobody would be acknowledged to LDK and lost.
   */
  start(onEvent: (event: ldk.Event) => void): void {
    this.onEvent = onEvent;
    this.armFutures();
    this.kick();
  }

  /**
   * Runs an LDK call that may change a channel (claim, fail back, send, forward, connect a block), then writes
   * the manager before anything else runs, so it is never older than a monitor for longer than one write.
   */
  change<T>(call: (manager: ldk.ChannelManager) => T): T {
    if (this.stopped) throw new Error(`${this.name} is stopped`);
    const result = call(this.manager);
    this.persistManagerIfNeeded();
    this.kick();
    return result;
  }

  /** Feeds one block to the manager and the monitors; blocks must come in order. */
  connectBlock(block: ChainBlock): void {
    if (this.stopped) return;
    const transactions = block.transactions.map((transaction, index) =>
      ldk.TwoTuple_usizeTransactionZ.constructor_new(index, transaction),
    );
    this.change(() => {
      for (const listener of [this.manager.as_Confirm(), this.chainMonitor.as_Confirm()]) {
        listener.transactions_confirmed(block.header, transactions, block.height);
        listener.best_block_updated(block.header, block.height);
      }
    });
  }

  blockHeight(): number {
    return this.manager.current_best_block().get_height();
  }

  /** Asks the loop to run soon: after any call that may queue messages, events or persistence. */
  kick(): void {
    if (this.stopped || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.runLoop();
    });
  }

  async listen(host: string, port: number): Promise<void> {
    // A port released by a node that stopped a moment ago may still be closing: try again briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.net.bind_listener(host, port);
        return;
      } catch (error) {
        if (attempt >= 40) throw new Error(`${this.name} cannot listen on ${host}:${port}: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  async connect(host: string, port: number, nodeId: string): Promise<void> {
    await this.net.connect_peer(host, port, Buffer.from(nodeId, 'hex'));
  }

  isConnectedTo(nodeId: string): boolean {
    return this.peers.list_peers().some((peer) => toHex(peer.get_counterparty_node_id()) === nodeId);
  }

  /**
   * Stops timers and sockets. `graceful` writes the manager one last time; without it the folder is left
   * exactly as a crash at this moment would leave it (what restart tests want).
   */
  stop(graceful: boolean): void {
    if (this.stopped) return;
    if (graceful) {
      this.runLoop();
      this.persistManagerIfNeeded();
    }
    this.stopped = true;
    this.persister.stop();
    for (const timer of this.timers) clearInterval(timer);
    this.net.stop();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  private readonly eventHandler = ldk.EventHandler.new_impl({
    handle_event: (event) => {
      if (this.stopped) return ldk.Result_NoneReplayEventZ.constructor_err(ldk.ReplayEvent.constructor_new());
      try {
        this.onEvent(event);
        return ldk.Result_NoneReplayEventZ.constructor_ok();
      } catch (error) {
        this.log({
          node: this.name,
          level: 'error',
          message: `event ${event.constructor.name} will be replayed: ${String(error)}`,
        });
        setTimeout(() => this.kick(), RETRY_MS).unref();
        return ldk.Result_NoneReplayEventZ.constructor_err(ldk.ReplayEvent.constructor_new());
      }
    },
  });

  private runLoop(): void {
    if (this.stopped) return;
    this.manager.as_EventsProvider().process_pending_events(this.eventHandler);
    this.chainMonitor.as_EventsProvider().process_pending_events(this.eventHandler);
    this.peers.process_events();
    this.persistManagerIfNeeded();
    this.armFutures();
  }

  /** Writes the manager if LDK says it changed. Always outside LDK callbacks (it cannot be re-entered). */
  private persistManagerIfNeeded(): void {
    if (this.stopped) return;
    if (this.persister.hasUnwritten()) {
      this.persister.retry(this.chainMonitor);
      setTimeout(() => this.kick(), RETRY_MS).unref();
    }
    if (!this.manager.get_and_clear_needs_persistence() && !this.managerDirty) return;
    try {
      writeFileAtomic(join(this.directory, 'manager.bin'), this.manager.write());
      this.managerDirty = false;
      this.afterWrite?.('manager');
    } catch (error) {
      // LDK already cleared its flag: remember ourselves, and try again shortly.
      this.managerDirty = true;
      this.log({
        node: this.name,
        level: 'error',
        message: `cannot write the channel manager: ${String(error)}`,
      });
      setTimeout(() => this.kick(), RETRY_MS).unref();
    }
  }

  /** LDK's futures complete once; each is re-armed after it fires so the loop wakes on the next change. */
  private armFutures(): void {
    if (!this.managerWake) {
      this.managerWake = ldk.FutureCallback.new_impl({
        call: () => {
          this.managerWake = null;
          this.kick();
        },
      });
      this.manager.get_event_or_persistence_needed_future().register_callback_fn(this.managerWake);
    }
    if (!this.monitorWake) {
      this.monitorWake = ldk.FutureCallback.new_impl({
        call: () => {
          this.monitorWake = null;
          this.kick();
        },
      });
      this.chainMonitor.get_update_future().register_callback_fn(this.monitorWake);
    }
  }

  private tickManager(): void {
    if (this.stopped) return;
    this.change((manager) => manager.timer_tick_occurred());
    // After a force close, claims LDK broadcast but that were not mined are broadcast again.
    this.chainMonitor.rebroadcast_pending_claims();
  }

  /**
   * lightningdevkit-node-net hands every socket read to PeerManager.read_event; that is where most monitor
   * updates happen (commitment_signed, revoke_and_ack). Wrapping this instance's read_event and
   * process_events writes the manager as soon as LDK returns, instead of a loop turn later.
   */
  private persistAfterPeerMessages(): void {
    const peers = this.peers;
    const readEvent = peers.read_event.bind(peers);
    const processEvents = peers.process_events.bind(peers);
    peers.read_event = (descriptor, data) => {
      const result = readEvent(descriptor, data);
      this.persistManagerIfNeeded();
      return result;
    };
    peers.process_events = () => {
      processEvents();
      this.persistManagerIfNeeded();
    };
  }
}
