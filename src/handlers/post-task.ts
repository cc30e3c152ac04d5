// A NIP-99 listing that tags the agent: a new task. The listing is recorded (inbound_events) in the same
// transaction as the task, so the `offered` transition can embed it exactly as signed. A listing is addressable
// (30402:<poster>:<d>): while a task of that address is not finished, a new version of it is refused
// (ListingInUse), not made a second task; the store's unique index backs the rule against a racing replica.

import { reject } from '../domain/errors.ts';
import { applyCommand } from '../engine/apply-command.ts';
import type { Cause } from '../engine/cause.ts';
import type { AgentContext } from '../engine/context.ts';
import type { IntakeOutcome } from '../engine/outcome.ts';
import { rejectInTransaction } from '../engine/refuse.ts';
import { dOfAddress, type ParsedListing } from '../protocol/parse-task-listing.ts';

export async function handlePostTask(
  ctx: AgentContext,
  listing: ParsedListing,
  cause: Cause,
): Promise<IntakeOutcome> {
  const { taskId } = listing;
  if (ctx.policy.acceptingTasks === false) {
    const rejection = reject(
      'NotAcceptingTasks',
      'the agent is paused for maintenance and takes no new task; post the listing again once its announcement no longer says accepting_tasks: false',
    );
    await ctx.store.transaction((tx) =>
      rejectInTransaction(ctx, tx, cause, rejection.code, rejection.message, null),
    );
    return { status: 'refused', code: rejection.code, reason: rejection.message };
  }
  const d = dOfAddress(listing.address);
  const openTaskAtAddress = await ctx.store.read((reader) =>
    reader.tasks.openAtListingAddress(listing.command.by, d),
  );
  const result = await applyCommand(ctx, {
    taskId,
    command: { ...listing.command, openTaskAtAddress },
    cause,
    alsoWrite: (tx) => tx.tasks.setListingD(taskId, d),
  });
  if (result.ok) return { status: 'handled' };
  return { status: 'refused', code: result.rejection.code, reason: result.rejection.message };
}
