// LDK's Persist for ChannelMonitors: one file per channel, monitors/<funding txid>_<index>.bin, written
// atomically and fsynced BEFORE returning Completed. A monitor is the only thing that can claim or punish on
// chain, so LDK must not send the next channel message until the monitor that goes with it is on disk.
//
// The cost, measured: the ChannelManager can only be written after LDK returns, so a crash between a monitor
// write and the next manager write leaves the manager older than the monitor, and LDK force-closes that
// channel at start-up (the money is safe: the monitor resolves the channel on chain; the channel and the
// holds in it are lost). About one SIGKILL in three during payment traffic lands there. Reporting updates
// InProgress and writing the manager first would close that gap, but LDK 0.1 cannot read back a manager
// written during a claim once the monitor holds the preimage (channelmanager.rs, "Entry was added in
// begin_claiming_payment" -> DecodeError::InvalidValue): a node that cannot start at all is worse.
//
// If a write fails the update is reported InProgress (the channel freezes, nothing is lost), the bytes are
// kept and written again by retry(); once a full monitor is on disk every pending update of that channel is
// complete.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import * as ldk from 'lightningdevkit';
import { writeFileAtomic } from './atomic-file.ts';
import { toHex } from './bytes.ts';

const COMPLETED = ldk.ChannelMonitorUpdateStatus.LDKChannelMonitorUpdateStatus_Completed;
const IN_PROGRESS = ldk.ChannelMonitorUpdateStatus.LDKChannelMonitorUpdateStatus_InProgress;

export class MonitorPersister {
  readonly persist: ldk.Persist;
  private readonly monitorsDirectory: string;
  private readonly archiveDirectory: string;
  /** Monitors whose last write failed, by file name: the latest bytes, to write again. */
  private readonly unwritten = new Map<string, { outpoint: ldk.OutPoint; bytes: Uint8Array }>();
  private stopped = false;

  constructor(
    nodeDirectory: string,
    private readonly onWriteFailure: (error: unknown) => void,
    private readonly afterWrite: () => void = () => {},
  ) {
    this.monitorsDirectory = join(nodeDirectory, 'monitors');
    this.archiveDirectory = join(nodeDirectory, 'monitors-archive');
    mkdirSync(this.monitorsDirectory, { recursive: true });
    this.persist = ldk.Persist.new_impl({
      persist_new_channel: (outpoint, monitor) => this.write(outpoint, monitor),
      update_persisted_channel: (outpoint, _update, monitor) => this.write(outpoint, monitor),
      archive_persisted_channel: (outpoint) => this.archive(outpoint),
    });
  }

  /** Serialized monitors found on disk, for a restart. */
  readAll(): Uint8Array[] {
    return readdirSync(this.monitorsDirectory)
      .filter((name) => name.endsWith('.bin'))
      .sort()
      .map((name) => new Uint8Array(readFileSync(join(this.monitorsDirectory, name))));
  }

  hasMonitors(): boolean {
    return readdirSync(this.monitorsDirectory).some((name) => name.endsWith('.bin'));
  }

  /**
   * A stopped node (being replaced by a restarted one over the same folder) must never write again: its late
   * socket reads would otherwise overwrite the new node's monitors with stale state.
   */
  stop(): void {
    this.stopped = true;
  }

  hasUnwritten(): boolean {
    return this.unwritten.size > 0;
  }

  /** Writes the monitors that failed before, then tells LDK their pending updates are complete. */
  retry(chainMonitor: ldk.ChainMonitor): void {
    if (this.stopped) return;
    for (const [name, entry] of this.unwritten) {
      try {
        writeFileAtomic(join(this.monitorsDirectory, name), entry.bytes);
      } catch (error) {
        this.onWriteFailure(error);
        continue;
      }
      this.unwritten.delete(name);
      for (const pending of chainMonitor.list_pending_monitor_updates()) {
        if (!pending.get_a().eq(entry.outpoint)) continue;
        for (const updateId of pending.get_b())
          chainMonitor.channel_monitor_updated(pending.get_a(), updateId);
      }
    }
  }

  private write(outpoint: ldk.OutPoint, monitor: ldk.ChannelMonitor): ldk.ChannelMonitorUpdateStatus {
    if (this.stopped) return IN_PROGRESS;
    const name = fileName(outpoint);
    const bytes = monitor.write();
    // While an earlier write of this channel is unwritten, LDK must not hear Completed for a later one.
    if (this.unwritten.has(name)) {
      this.unwritten.set(name, { outpoint: outpoint.clone(), bytes });
      return IN_PROGRESS;
    }
    try {
      writeFileAtomic(join(this.monitorsDirectory, name), bytes);
    } catch (error) {
      this.unwritten.set(name, { outpoint: outpoint.clone(), bytes });
      this.onWriteFailure(error);
      return IN_PROGRESS;
    }
    this.afterWrite();
    return COMPLETED;
  }

  private archive(outpoint: ldk.OutPoint): void {
    if (this.stopped) return;
    const name = fileName(outpoint);
    const source = join(this.monitorsDirectory, name);
    if (!existsSync(source)) return;
    mkdirSync(this.archiveDirectory, { recursive: true });
    renameSync(source, join(this.archiveDirectory, name));
  }
}

function fileName(outpoint: ldk.OutPoint): string {
  return `${toHex(outpoint.get_txid())}_${outpoint.get_index()}.bin`;
}
