// A command the agent gives itself (a node's answer, a deadline, a payout step): no inbound event to answer, so
// a refusal is only logged. Most are harmless repeats (`duplicate:`) or "nothing to do".
import type { Command } from '../domain/types.ts';
import { type ApplyInput, type ApplyResult, applyCommand } from './apply-command.ts';
import type { AgentContext } from './context.ts';

export async function apply(
  ctx: AgentContext,
  taskId: string,
  command: Command,
  alsoWrite?: ApplyInput['alsoWrite'],
): Promise<ApplyResult> {
  const result = await applyCommand(ctx, { taskId, command, alsoWrite });
  if (!result.ok && result.rejection.code !== 'NothingToDo') {
    ctx.log.debug({ taskId, command: command.type, reason: result.rejection.message }, 'no change');
  }
  return result;
}
