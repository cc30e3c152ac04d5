// The --execute half shared by the operations that finish tasks (settle-stuck, timeout-expired): wake each task in
// the engine, wait until the engine is idle, then read back where each one ended and what the node says of its
// hold, in words. A task that did not move is reported with the node's view: the engine logged why.
import type { Task } from '../domain/types.ts';
import type { HoldInvoice } from '../ldk/port.ts';
import { currentHeight, type OpsEngine } from './engine.ts';
import { nodeJson, nodeView, sats } from './format.ts';
import type { OpsDeps } from './ops-deps.ts';

export interface Driven {
  taskId: string;
  before: Task['state'];
  after: Task['state'];
  /** The task as the store has it after the engine ran (null: gone, which never happens). */
  task: Task | null;
  hold: HoldInvoice | null;
  line: string;
}

/** Wakes each task, waits for the engine, and reports each one. */
export async function drive(
  deps: OpsDeps,
  engine: OpsEngine,
  tasks: ReadonlyArray<{ id: string; state: Task['state'] }>,
): Promise<Driven[]> {
  for (const task of tasks) engine.wake(task.id);
  await engine.idle();
  const height = await currentHeight(deps);
  const out: Driven[] = [];
  for (const before of tasks) {
    const task = await deps.store.read((reader) => reader.tasks.get(before.id));
    const hold = task?.funding ? await deps.lightning.lookup(task.funding.paymentHash) : null;
    const after = task?.state ?? before.state;
    out.push({
      taskId: before.id,
      before: before.state,
      after,
      task,
      hold,
      line: `  task ${before.id}: ${before.state} -> ${after}: ${outcome(task, before.state)}; ${nodeView(hold, height)}`,
    });
  }
  return out;
}

/** What a stopped agent's folder gets besides: the transitions wait in its outbox. */
export function stoppedNote(deps: OpsDeps, changed: number): string[] {
  return deps.running || changed === 0
    ? []
    : [
        'the agent is stopped: the transitions recorded wait in its outbox and are published when it starts (`escrow-agent start`)',
      ];
}

export function drivenJson(driven: readonly Driven[]): unknown {
  return driven.map((one) => ({
    taskId: one.taskId,
    before: one.before,
    after: one.after,
    node: nodeJson(one.hold),
    payouts: (one.task?.payouts ?? []).map((payout) => ({
      recipient: payout.recipient,
      amountMsat: payout.amountMsat.toString(),
      state: payout.state,
      paymentHash: payout.paymentHash,
    })),
  }));
}

function outcome(task: Task | null, before: Task['state']): string {
  if (task === null) return 'the task is gone from the store';
  if (task.state === before) {
    return `not finished: the engine could not move it (the agent's log says why: "advancing the task failed")`;
  }
  const paid = task.payouts
    .filter((payout) => payout.state === 'succeeded')
    .map((payout) => `the ${payout.recipient} was paid ${sats(payout.amountMsat)}`);
  switch (task.state) {
    case 'paid':
      return paid.length > 0 ? paid.join(', ') : 'paid';
    case 'refunded':
      return `the poster's ${sats(task.ledger.refundedMsat)} went back at the node (reason ${task.reason})`;
    case 'expired':
    case 'cancelled':
      return `nothing was received; the invoice is dead (reason ${task.reason})`;
    case 'settled':
    case 'custody':
    case 'payout_pending': {
      const owed = task.payouts
        .filter((payout) => payout.state !== 'succeeded')
        .map((payout) => `${payout.recipient} ${sats(payout.amountMsat)} ${payout.state}`);
      return `the hold is settled; payouts: ${owed.length > 0 ? owed.join(', ') : 'none owed'}${paid.length > 0 ? `; ${paid.join(', ')}` : ''}`;
    }
    case 'settling':
      return `the settle intent is committed (reason ${task.reason}); the engine settles it next`;
    case 'refunding':
      return `the refund intent is committed (reason ${task.reason}); the engine cancels the hold next`;
    default:
      return `now ${task.state}`;
  }
}
