// The adapter's own backstop while anyone is subscribed: every interval, get_info for the block height (NWC
// has no block notification, and the agent's guardian acts on blocks) and a lookup of every hold it follows
// (a hold_invoice_accepted that a relay dropped is then reported late, not never). One round at a time.
import { lookupHold } from './lookup-transaction.ts';
import type { NwcContext } from './nwc-context.ts';
import { requestInfo } from './read-wallet-info.ts';

/** An OPEN hold this long past its invoice expiry cannot be paid any more. */
const EXPIRED_OPEN_GRACE_SECONDS = 600;

export interface Poller {
  stop(): void;
  /** One round now (tests, and right after subscribe). */
  pollNow(): Promise<void>;
}

export function startPolling(
  context: NwcContext,
  options: { intervalMs: number; timeoutMs: number; active: () => boolean },
): Poller {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let round: Promise<void> | null = null;

  const pollOnce = async () => {
    const info = await requestInfo(context.client, options.timeoutMs);
    if (info.block_height !== undefined && context.tracker.noteHeight(info.block_height)) {
      context.emit({ type: 'block', height: info.block_height });
    }
    for (const paymentHash of context.tracker.followedHashes()) {
      if (stopped) return;
      const hold = await lookupHold(context, paymentHash, options.timeoutMs);
      // Gone, or never paid and long expired (a wallet may go on calling it pending): nothing more to follow.
      const now = Math.floor(Date.now() / 1000);
      if (hold === null || (hold.state === 'OPEN' && hold.expiresAt + EXPIRED_OPEN_GRACE_SECONDS < now)) {
        context.tracker.forget(paymentHash);
      }
    }
  };
  const pollNow = () => {
    round ??= pollOnce()
      .catch((error) =>
        context.log.debug({ err: String(error) }, 'NWC poll round failed; trying again next interval'),
      )
      .finally(() => {
        round = null;
      });
    return round;
  };
  const schedule = () => {
    timer = setTimeout(async () => {
      if (stopped) return;
      if (options.active()) await pollNow();
      if (!stopped) schedule();
    }, options.intervalMs);
  };
  schedule();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    pollNow,
  };
}
