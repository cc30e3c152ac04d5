// Probes the Lightning node every `intervalMs`: is it answering, at what height, with what balances. The probe sets
// escrow_lightning_node_up and the ldk_*_balance_sats gauges, and /health reads the last one (or probes afresh).
// A probe that takes longer than `timeoutMs` counts as the node being down: a hung node is as bad as a dead one.
import type { AgentContext } from '../../engine/context.ts';
import { redactSecrets } from '../redact.ts';

export interface NodeProbe {
  /** Unix milliseconds of the probe. */
  at: number;
  up: boolean;
  /** The node's block height, or null when it did not answer. */
  height: number | null;
  /** Why the node is taken as down (null when up). Never carries a secret: errors are reduced to their message. */
  problem: string | null;
}

export interface NodeWatch {
  last(): NodeProbe | null;
  /** Probes now (one probe at a time: a probe already running is shared). */
  probe(): Promise<NodeProbe>;
  stop(): void;
}

export function startNodeWatch(
  getContext: () => AgentContext,
  options: { intervalMs: number; timeoutMs: number },
): NodeWatch {
  let last: NodeProbe | null = null;
  let running: Promise<NodeProbe> | null = null;

  async function probeOnce(): Promise<NodeProbe> {
    const ctx = getContext();
    const at = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${options.timeoutMs} ms`)), options.timeoutMs);
      timer.unref();
    });
    try {
      const info = await Promise.race([ctx.lightning.getInfo(), timeout]);
      ctx.metrics.lightningNodeUp.set(1);
      ctx.metrics.localBalanceSats.set(Number(info.localBalanceMsat / 1000n));
      ctx.metrics.remoteBalanceSats.set(Number(info.remoteBalanceMsat / 1000n));
      // The node is behind when it reports a lower height than a block the agent already saw from it.
      const behind = info.blockHeight < ctx.height();
      return {
        at,
        up: !behind,
        height: info.blockHeight,
        problem: behind ? `the node is at height ${info.blockHeight}, behind ${ctx.height()}` : null,
      };
    } catch (error) {
      ctx.metrics.lightningNodeUp.set(0);
      return {
        at,
        up: false,
        height: null,
        problem: redactSecrets((error as Error).message ?? String(error)),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  function probe(): Promise<NodeProbe> {
    running ??= probeOnce().then((result) => {
      last = result;
      running = null;
      return result;
    });
    return running;
  }

  const timer = setInterval(() => void probe(), options.intervalMs);
  timer.unref();
  void probe();
  return { last: () => last, probe, stop: () => clearInterval(timer) };
}
