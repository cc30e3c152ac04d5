// A NIP-99 listing that tags the agent: a new task. The listing is recorded (inbound_events) in the same
// transaction as the task, so the `offered` transition can embed it exactly as signed.

import { type IntakeOutcome, refuse } from '../agent/intake.ts';
import { applyCommand, type Cause } from '../engine/apply-command.ts';
import type { AgentContext } from '../engine/context.ts';
import { parseTaskListing } from '../protocol/parse-task-listing.ts';

export async function handlePostTask(ctx: AgentContext, cause: Cause): Promise<IntakeOutcome> {
  const parsed = parseTaskListing(cause.event, { agentPubkey: ctx.identity.pubkey });
  if (!parsed.ok) {
    if (parsed.code === 'NotForThisAgent')
      return { status: 'dropped', code: parsed.code, reason: parsed.reason };
    return refuse(ctx, cause, parsed.code, parsed.reason, null);
  }
  const { command, taskId } = parsed.listing;
  const result = await applyCommand(ctx, { taskId, command, cause });
  if (result.ok) return { status: 'handled' };
  return { status: 'refused', code: result.rejection.code, reason: result.rejection.message };
}
