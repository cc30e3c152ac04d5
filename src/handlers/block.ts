// A new block. Deadlines are in blocks, so the height moves and every task that is not finished is looked at
// again (the guardian): the effect runner syncs each holding task with the node, then ticks its deadlines.
import { TASK_STATES, TERMINAL_STATES } from '../domain/types.ts';
import { apply } from '../engine/apply.ts';
import type { AgentContext } from '../engine/context.ts';

const NON_TERMINAL = TASK_STATES.filter((state) => !TERMINAL_STATES.has(state));

/** `moveHeight` raises the context's height (never lowers it: blocks may be reported out of order). */
export async function handleBlock(
  ctx: AgentContext,
  height: number,
  moveHeight: (height: number) => void,
): Promise<void> {
  moveHeight(height);
  const tasks = await ctx.store.read((reader) => reader.tasks.listByState(NON_TERMINAL));
  for (const task of tasks) ctx.wake(task.id);
}

/** Applies whatever the clock and the height call for (a window over, the guardian's deadline reached). */
export async function tickDeadlines(ctx: AgentContext, taskId: string): Promise<void> {
  await apply(ctx, taskId, { type: 'tick' });
}
