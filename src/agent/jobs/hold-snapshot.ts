// One reconcile round's view of the node's pending holds, taken by listing instead of one look-up per task: with
// 10,000 open offers a round makes two list calls (OPEN, ACCEPTED) instead of 10,000 look-ups. A task whose hash is
// in neither list (its hold was cancelled, settled, or is unknown to the node) is still looked up on its own, so
// the rare case keeps the exact answer. The view may be stale by the time a task is advanced: a hold listed OPEN
// that was paid since is caught by the node's event or the next round, and a hold listed ACCEPTED that the node
// cancelled since is seen CANCELED by the next round (the same race a look-up has, a little wider).
import { decide } from '../../domain/decide.ts';
import type { DecideContext, Task, TaskState } from '../../domain/types.ts';
import type { AgentContext } from '../../engine/context.ts';
import { type HoldInvoice, isAcceptedHold } from '../../ldk/port.ts';

/** States in which advancing a task asks the node about its hold (handleHoldAccepted). */
const ASKS_THE_NODE: ReadonlySet<TaskState> = new Set([
  'offered',
  'funded',
  'claimed',
  'submitted',
  'disputed',
]);

/** Below this many look-ups a round asks task by task: two listings of a node's pending invoices cost more. */
export const LIST_FROM_TASKS = 20;

export type HoldSnapshot = ReadonlyMap<string, HoldInvoice>;

/** The node's OPEN and ACCEPTED holds by payment hash, or null when the round should look up each task itself. */
export async function takeHoldSnapshot(
  ctx: AgentContext,
  tasks: readonly Task[],
): Promise<HoldSnapshot | null> {
  const asking = tasks.filter((task) => task.funding !== null && ASKS_THE_NODE.has(task.state)).length;
  if (asking < LIST_FROM_TASKS) return null;
  try {
    const [open, accepted] = await Promise.all([ctx.lightning.list('OPEN'), ctx.lightning.list('ACCEPTED')]);
    const holds = new Map<string, HoldInvoice>();
    for (const hold of [...open, ...accepted]) holds.set(hold.paymentHash, hold);
    return holds;
  } catch (error) {
    ctx.log.warn({ err: error }, 'listing the node’s holds failed; this round looks up each task');
    return null;
  }
}

/**
 * True when advancing the task now would do nothing, as far as the round's listing and the task row show: its hold
 * is listed in the state the task already knows (OPEN and unpaid, or ACCEPTED and marked received), and no deadline
 * is due (the pure `tick` decision refuses). The round leaves such a task alone; everything else is advanced, and a
 * hold missing from the listing is looked up. With 10,000 open offers a round then costs its listing and an
 * in-memory pass, not 10,000 transactions.
 */
export function restsWithListing(task: Task, listed: HoldSnapshot, context: DecideContext): boolean {
  if (!ASKS_THE_NODE.has(task.state) || task.funding === null) return false;
  const hold = listed.get(task.funding.paymentHash);
  if (hold === undefined) return false;
  const received = task.funding.receivedMsat > 0n;
  const inLine = received ? isAcceptedHold(hold) : hold.state === 'OPEN';
  return inLine && !decide(task, { type: 'tick' }, context).ok;
}
