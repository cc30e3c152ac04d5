// `holds stuck`: the holds that did not move on. An accepted hold is normal here while a task is funded, claimed,
// submitted or disputed (the money waits in the HTLC for the work), so a hold is stuck when:
//   - the store has the payment (funding accepted) while the task is still `offered`: the node took it and the
//     task did not move;
//   - the task is `settling` (settle intent committed) or `refunding` (cancel intent committed) for longer than
//     the threshold: the reconciler has not finished the intent at the node;
//   - the store says `open` while the node says ACCEPTED (the node event was missed): sync needed.
// The age is the time since the task's last transition (its audit chain's last row). This module is the part that
// reads the store only (no node call, no import beyond the domain and the store's types), for the
// escrow_stuck_holds_count gauge; the operation (holds-stuck.ts) adds the node's view and the third case.
import type { TaskState } from '../domain/types.ts';
import type { StoreReader } from '../store/index.ts';

/** A hold older than this (seconds since the task's last transition) in one of the states above is stuck. */
export const STUCK_HOLD_SECONDS = 3600;

export type StuckReason =
  /** funding accepted at the store, task still offered */
  | 'paid_not_funded'
  /** settling: the settle intent is committed, the settle not recorded */
  | 'settle_unfinished'
  /** refunding: the cancel intent is committed, the cancel not recorded */
  | 'cancel_unfinished'
  /** the store says open, the node says ACCEPTED (found by the operation only: it asks the node) */
  | 'node_accepted';

/** Which runbook command finishes it. */
export type StuckFix = 'settle-stuck' | 'timeout-expired' | 'sync-lightning';

export interface StuckHold {
  taskId: string;
  state: TaskState;
  reason: StuckReason;
  paymentHash: string;
  amountMsat: bigint;
  /** What the store says the hold received (0 when it never saw the payment). */
  receivedMsat: bigint;
  /** Unix seconds of the task's last transition. */
  since: number;
  ageSeconds: number;
  fix: StuckFix;
}

const FIX: Record<StuckReason, StuckFix> = {
  paid_not_funded: 'sync-lightning',
  settle_unfinished: 'settle-stuck',
  cancel_unfinished: 'timeout-expired',
  node_accepted: 'sync-lightning',
};

/**
 * The stuck holds the store alone shows (no node call), older than `thresholdSeconds` at `now`, oldest first: the
 * tasks in settling or refunding, and the offered tasks whose funding the store has as accepted.
 */
export async function findStuckHolds(
  reader: StoreReader,
  now: number,
  thresholdSeconds: number = STUCK_HOLD_SECONDS,
): Promise<StuckHold[]> {
  const intents = await reader.tasks.listByState(['settling', 'refunding']);
  const accepted = new Map(
    (await reader.fundings.listByState(['accepted'])).map((funding) => [funding.taskId, funding]),
  );
  const offered = accepted.size === 0 ? [] : await reader.tasks.listByState(['offered']);
  const found: StuckHold[] = [];
  for (const task of [...intents, ...offered]) {
    if (!task.funding) continue;
    const reason: StuckReason =
      task.state === 'settling'
        ? 'settle_unfinished'
        : task.state === 'refunding'
          ? 'cancel_unfinished'
          : 'paid_not_funded';
    const funding = accepted.get(task.id);
    if (reason === 'paid_not_funded' && funding === undefined) continue;
    const since = await lastTransitionAt(reader, task.id);
    const ageSeconds = Math.max(0, now - since);
    if (ageSeconds < thresholdSeconds) continue;
    found.push({
      taskId: task.id,
      state: task.state,
      reason,
      paymentHash: task.funding.paymentHash,
      amountMsat: task.amountMsat,
      receivedMsat: funding?.receivedMsat ?? task.funding.receivedMsat,
      since,
      ageSeconds,
      fix: FIX[reason],
    });
  }
  return found.sort((a, b) => a.since - b.since || (a.taskId < b.taskId ? -1 : 1));
}

/** When the task last changed: its audit chain's last row (the store's clock). */
export async function lastTransitionAt(reader: StoreReader, taskId: string): Promise<number> {
  const history = await reader.tasks.history(taskId);
  return history.at(-1)?.createdAt ?? 0;
}
