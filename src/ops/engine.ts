// The engine an operation hands its tasks to. In a running agent: its own effect runner (wake, then wait until it
// is idle), so an operation never races the agent. On a stopped agent's folder: an AgentContext built as runAgent
// builds it (the agent's key, policy and write relays, the node's id and network, the height from the node) with
// an effect runner of its own, and no relays: what the engine signs waits in the outbox for the agent's next start.
// Either way the reconciler (advanceTask: settleHold, cancelHold, payOut, the handlers and the tick) does the work,
// committing each intent before its Lightning call.
import { type EffectRunner, startEffectRunner } from '../agent/jobs/effect-runner.ts';
import type { AgentContext } from '../engine/context.ts';
import { createMetrics } from '../engine/metrics.ts';
import { fetchInvoiceFromAddress } from '../ldk/lightning-address.ts';
import { type OpsDeps, OpsInputError } from './ops-deps.ts';

export interface OpsEngine {
  ctx: AgentContext;
  /** Asks the engine to advance the task (the reconciler's step for its state). */
  wake(taskId: string): void;
  /** Resolves once nothing is queued or running (woken tasks, and whatever their commits woke). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** The running agent's context, or one built for the stopped agent's folder (close() stops its effect runner). */
export async function openEngine(deps: OpsDeps): Promise<OpsEngine> {
  if (deps.running) {
    const { running } = deps;
    return {
      ctx: running.ctx,
      wake: running.wake,
      idle: () => running.effects.idle(),
      close: async () => {},
    };
  }
  const stopped = deps.stopped;
  if (!stopped)
    throw new OpsInputError('no agent to act for: neither a running agent nor its folder was given');
  const info = await deps.lightning.getInfo();
  let height = Math.max(info.blockHeight, deps.height());
  let effects: EffectRunner | null = null;
  const ctx: AgentContext = {
    store: deps.store,
    lightning: deps.lightning,
    policy: {
      ...stopped.policy,
      ...(/^0[23][0-9a-f]{64}$/.test(info.nodeId) ? { lightningNodeId: info.nodeId } : {}),
    },
    identity: stopped.identity,
    node: { id: info.nodeId, network: info.network },
    writeRelays: () => stopped.writeRelays,
    now: deps.now,
    height: () => height,
    log: deps.log,
    metrics: createMetrics(),
    wake: (taskId, lane) => effects?.wake(taskId, lane),
    maxRoutingFeePpm: stopped.maxRoutingFeePpm ?? 5000,
    payTimeoutSeconds: stopped.payTimeoutSeconds ?? 60,
    fetchAddressInvoice: (address, amountMsat) =>
      fetchInvoiceFromAddress(address, { amountMsat, network: info.network }),
  };
  // Only woken tasks run: no periodic round over every task (the longest interval a timer takes).
  effects = startEffectRunner(() => ctx, { intervalMs: 2_147_483_647 });
  const runner = effects;
  return {
    ctx,
    wake: (taskId) => runner.wake(taskId),
    async idle() {
      await runner.idle();
      height = Math.max(height, (await deps.lightning.getInfo()).blockHeight);
    },
    close: () => runner.stop(),
  };
}

/** The node's current height (a stopped agent's folder knows no height until the node is asked). */
export async function currentHeight(deps: OpsDeps): Promise<number> {
  const info = await deps.lightning.getInfo();
  return Math.max(deps.height(), info.blockHeight);
}
