// Refusing an inbound event: a `rejected` answer into the outbox and the event recorded as rejected, in one
// transaction, so it is answered only once.
import type { Hex32 } from '../domain/types.ts';
import { buildRejection } from '../protocol/build-notices.ts';
import type { IntakeReasonCode, ReasonCode } from '../protocol/reasons.ts';
import type { StoreTx } from '../store/index.ts';
import type { Cause } from './cause.ts';
import type { AgentContext } from './context.ts';
import type { IntakeOutcome } from './outcome.ts';
import { recordInbound } from './record-inbound.ts';
import { sign } from './sign.ts';

export async function refuse(
  ctx: AgentContext,
  cause: Cause,
  code: IntakeReasonCode,
  reason: string,
  taskId: string | null,
): Promise<IntakeOutcome> {
  await ctx.store.transaction((tx) => rejectInTransaction(ctx, tx, cause, code, reason, taskId));
  return { status: 'refused', code, reason };
}

/** Answers a refused action with a `rejected` label, and remembers the event so it is answered only once. */
export async function rejectInTransaction(
  ctx: AgentContext,
  tx: StoreTx,
  cause: Cause,
  code: ReasonCode,
  reason: string,
  taskId: Hex32 | null,
): Promise<void> {
  ctx.metrics.countRejection(code, cause.event.id);
  const fresh = await recordInbound(tx, cause, 'rejected', reason);
  if (!fresh) return;
  const knownTask = taskId !== null && (await tx.tasks.get(taskId)) !== null ? taskId : null;
  const template = buildRejection({
    eventId: cause.event.id,
    author: cause.event.pubkey,
    taskId: knownTask,
    code,
    reason,
    createdAt: ctx.now(),
  });
  await tx.outbox.enqueue(sign(ctx, template), ctx.writeRelays(), knownTask);
}
