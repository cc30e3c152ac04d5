// The gauges read from the unfinished tasks on every reconcile round (with the custody watch): money settled and not
// yet paid out, and how many blocks remain before the nearest guardian height of a held payment (the alert
// "hold deadline near" fires on it; the guardian refunds or settles at that height).
import { guardianHeight } from '../../domain/deadlines.ts';
import type { Task, TaskState } from '../../domain/types.ts';
import type { AgentContext } from '../../engine/context.ts';

/** States in which the node still holds (or is settling or cancelling) the poster's HTLC. */
const HELD: ReadonlySet<TaskState> = new Set([
  'funded',
  'claimed',
  'submitted',
  'disputed',
  'settling',
  'refunding',
]);
/** States in which the hold is settled and some of its money is still to be paid out. */
const SETTLED_UNPAID: ReadonlySet<TaskState> = new Set(['settled', 'custody', 'payout_pending']);

export function observeTaskGauges(ctx: AgentContext, tasks: readonly Task[]): void {
  let unpaidMsat = 0n;
  let nearest: number | null = null;
  const height = ctx.height();
  for (const task of tasks) {
    if (SETTLED_UNPAID.has(task.state)) unpaidMsat += task.ledger.heldMsat;
    if (!HELD.has(task.state) || task.funding === null) continue;
    const guardian = guardianHeight(task.funding, ctx.policy.safetyMarginBlocks);
    if (guardian === null) continue;
    const blocks = guardian - height;
    if (nearest === null || blocks < nearest) nearest = blocks;
  }
  ctx.metrics.settledUnpaidSats.set(Number(unpaidMsat / 1000n));
  ctx.metrics.blocksToNearestHoldDeadline.set(nearest === null ? -1 : Math.max(0, nearest));
}
