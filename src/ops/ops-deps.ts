// What a runbook operation (src/ops) works with, the same whether it runs inside the running agent (reached through
// its control socket, src/agent/control-socket.ts) or in the command line on a stopped agent's data folder. An
// operation never calls the Lightning node to settle, cancel or pay: it finds the tasks and hands them to the
// engine's own path (the effect runner's reconciler, the handlers), which commits every intent before its call.
import type { Logger } from 'pino';
import type { MaintenanceState } from '../agent/announce.ts';
import type { EffectRunner } from '../agent/jobs/effect-runner.ts';
import type { OutboxPublisher } from '../agent/jobs/outbox-publisher.ts';
import type { Policy } from '../domain/types.ts';
import type { AgentContext, EngineIdentity } from '../engine/context.ts';
import type { HoldInvoiceBackend } from '../ldk/port.ts';
import type { NostrEvent } from '../protocol/schemas.ts';
import type { EscrowStore } from '../store/index.ts';

/** The running agent's parts an operation drives (through the control socket): its effect runner and outbox. */
export interface RunningParts {
  ctx: AgentContext;
  wake(taskId: string): void;
  effects: EffectRunner;
  outbox: OutboxPublisher;
  /** Maintenance mode (src/ops/maintenance.ts): stored for every replica, applied and announced by the agent. */
  setMaintenance(
    paused: boolean,
    reason: string | null,
  ): Promise<{ changed: boolean; state: MaintenanceState }>;
}

/**
 * A stopped agent's own parts, read from its configuration and folder by the command line: what the engine needs
 * to act for it here (src/ops/engine.ts builds the AgentContext from them, without relays: the events it signs go to
 * the outbox and are published when the agent starts).
 */
export interface StoppedAgent {
  identity: EngineIdentity;
  policy: Policy;
  writeRelays: string[];
  maxRoutingFeePpm?: number;
  payTimeoutSeconds?: number;
}

/** Reads the events matching one filter from one relay (verified, bounded): the command line's fetchAll. */
export type RelayReader = (
  relay: string,
  filter: { authors: string[]; since?: number },
) => Promise<{ ok: true; events: NostrEvent[] } | { ok: false; reason: string }>;

export interface OpsDeps {
  store: EscrowStore;
  lightning: HoldInvoiceBackend;
  /** Unix seconds. */
  now(): number;
  /** The last block height known (a stopped agent's folder: ask the node, see currentHeight in engine.ts). */
  height(): number;
  log: Logger;
  /** The running agent's context when the operation runs inside it (through the control socket), so effects go
   * through its effect runner and outbox (wake), never racing it; null when the CLI opened a stopped agent's folder. */
  running: RunningParts | null;
  /** The stopped agent's parts (null when `running` is set). */
  stopped: StoppedAgent | null;
  /** Reads a relay (verify-events, outbox republish). */
  readRelay: RelayReader;
}

export interface OpsReport {
  command: string;
  /** False for a dry run (and for read-only operations). */
  executed: boolean;
  /** What a person reads, one line each. */
  lines: string[];
  /** The same as one JSON value (msat as decimal strings). */
  json: unknown;
  /** How many things this run changed (0 in a dry run, and in a second --execute). */
  changed: number;
  /** 0: nothing wrong or needed; 1: something needs the operator. Bad input throws OpsInputError instead. */
  exitCode: 0 | 1;
}

export type Operation = (deps: OpsDeps, args: Record<string, unknown>) => Promise<OpsReport>;

/** The arguments are wrong: the message says what to change (the command line exits 2; nothing was changed). */
export class OpsInputError extends Error {
  override name = 'OpsInputError';
}

/** The deps of an operation run inside a running agent (the control socket's handlers): runAgent's handle. */
export function runningOpsDeps(
  agent: {
    ctx: AgentContext;
    effects: EffectRunner;
    outbox: OutboxPublisher;
    setMaintenance: RunningParts['setMaintenance'];
  },
  readRelay: RelayReader,
): OpsDeps {
  const { ctx } = agent;
  return {
    store: ctx.store,
    lightning: ctx.lightning,
    now: ctx.now,
    height: ctx.height,
    log: ctx.log,
    running: {
      ctx,
      wake: ctx.wake,
      effects: agent.effects,
      outbox: agent.outbox,
      setMaintenance: (paused, reason) => agent.setMaintenance(paused, reason),
    },
    stopped: null,
    readRelay,
  };
}
