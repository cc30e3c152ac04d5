// The effect runner's one step for one task: whatever the task's committed state calls for at the Lightning
// node, done now. Node events only wake this up; it always asks the node itself (events are hints, the store is
// the truth), so running it twice, late, or after a crash does the right thing. Each intent is finished by its
// own job; none of them calls another.
import { TERMINAL_STATES } from '../../domain/types.ts';
import type { AgentContext } from '../../engine/context.ts';
import { tickDeadlines } from '../../handlers/block.ts';
import { handleHoldAccepted } from '../../handlers/hold-accepted.ts';
import { cancelHold } from './cancel-hold.ts';
import type { HoldSnapshot } from './hold-snapshot.ts';
import { offerTask } from './offer-task.ts';
import { payOut } from './pay-out.ts';
import { settleHold } from './settle-hold.ts';

/** `listed`: the round's listing of the node's pending holds (hold-snapshot.ts), when the runner took one. */
export async function advanceTask(
  ctx: AgentContext,
  taskId: string,
  listed?: HoldSnapshot | null,
): Promise<void> {
  const task = await ctx.store.read((reader) => reader.tasks.get(taskId));
  if (task === null || TERMINAL_STATES.has(task.state)) return;
  switch (task.state) {
    case 'posted':
      return offerTask(ctx, task);
    case 'offered':
    case 'funded':
    case 'claimed':
    case 'submitted':
    case 'disputed':
      await handleHoldAccepted(ctx, task, listed);
      await tickDeadlines(ctx, taskId);
      return;
    case 'settling':
      return settleHold(ctx, task);
    case 'refunding':
      return cancelHold(ctx, task);
    case 'settled':
    case 'custody':
    case 'payout_pending':
      return payOut(ctx, task);
    default:
      return;
  }
}
