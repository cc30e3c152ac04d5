// A new block. Deadlines are in blocks, so the height moves and every task that is not finished is looked at
// again (the guardian): the effect runner syncs each holding task with the node (one listing of its holds for
// the whole round), then ticks its deadlines.
import { apply } from '../engine/apply.ts';
import type { AgentContext } from '../engine/context.ts';

/**
 * `moveHeight` raises the context's height (never lowers it: blocks may be reported out of order); `wakeAll`
 * wakes every unfinished task (the effect runner's round).
 */
export async function handleBlock(
  height: number,
  moveHeight: (height: number) => void,
  wakeAll: () => Promise<unknown>,
): Promise<void> {
  moveHeight(height);
  await wakeAll();
}

/** Applies whatever the clock and the height call for (a window over, the guardian's deadline reached). */
export async function tickDeadlines(ctx: AgentContext, taskId: string): Promise<void> {
  await apply(ctx, taskId, { type: 'tick' });
}
