// What every action handler does once its own checks passed: run the command in one transaction and turn the
// decision into an intake outcome (a refusal is already answered and recorded by applyCommand).

import type { Hex32 } from '../domain/types.ts';
import { applyCommand } from '../engine/apply-command.ts';
import type { Cause } from '../engine/cause.ts';
import type { AgentContext } from '../engine/context.ts';
import type { IntakeOutcome } from '../engine/outcome.ts';
import { refuse } from '../engine/refuse.ts';
import type { ActionCommand } from './action-of.ts';

export async function applyAction(
  ctx: AgentContext,
  action: { taskId: Hex32; command: ActionCommand },
  cause: Cause,
): Promise<IntakeOutcome> {
  const known = await ctx.store.read((reader) => reader.tasks.get(action.taskId));
  if (known === null)
    return refuse(ctx, cause, 'UnknownTask', 'invalid: no task with this id at this agent', null);
  const result = await applyCommand(ctx, { taskId: action.taskId, command: action.command, cause });
  if (result.ok) return { status: 'handled' };
  return { status: 'refused', code: result.rejection.code, reason: result.rejection.message };
}
