// A NIP-99 listing that tags the agent: a new task. The listing is recorded (inbound_events) in the same
// transaction as the task, so the `offered` transition can embed it exactly as signed.

import { applyCommand } from '../engine/apply-command.ts';
import type { Cause } from '../engine/cause.ts';
import type { AgentContext } from '../engine/context.ts';
import type { IntakeOutcome } from '../engine/outcome.ts';
import type { ParsedListing } from '../protocol/parse-task-listing.ts';

export async function handlePostTask(
  ctx: AgentContext,
  listing: ParsedListing,
  cause: Cause,
): Promise<IntakeOutcome> {
  const { command, taskId } = listing;
  const result = await applyCommand(ctx, { taskId, command, cause });
  if (result.ok) return { status: 'handled' };
  return { status: 'refused', code: result.rejection.code, reason: result.rejection.message };
}
