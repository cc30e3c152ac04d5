// Runs one command against one task, in ONE transaction: decide, compare-and-set the task with its audit rows,
// record the inbound event that caused it, and put the agent's signed transitions into the outbox. Either all of
// it is committed, or none of it. Lightning calls happen after the commit (the effect runner), never inside.

import { decide } from '../domain/decide.ts';
import type { Rejection } from '../domain/errors.ts';
import { evolve } from '../domain/evolve.ts';
import { fundingOf } from '../domain/task-guards.ts';
import type { Command, Hex32, Task, TaskEvent } from '../domain/types.ts';
import { buildPaymentPrompt } from '../protocol/build-notices.ts';
import { buildTransition } from '../protocol/build-transition.ts';
import { describeTransition } from '../protocol/describe-transition.ts';
import { wrapPrivateNotice } from '../protocol/private-notice.ts';
import { type NostrEvent, nostrEventSchema } from '../protocol/schemas.ts';
import type { StoreTx } from '../store/index.ts';
import type { Cause } from './cause.ts';
import type { AgentContext } from './context.ts';
import { LeaseLost, leaseFor } from './lease-scope.ts';
import { noticesFor } from './notices.ts';
import { recordInbound } from './record-inbound.ts';
import { rejectInTransaction } from './refuse.ts';
import { publishReputations } from './reputation-publisher.ts';
import { sign } from './sign.ts';
import { laneOf } from './wake-lane.ts';

export interface ApplyInput {
  taskId: Hex32;
  command: Command;
  cause?: Cause | null;
  /** More writes in the same transaction, once the task change is known to commit (e.g. the funding row). */
  alsoWrite?: (tx: StoreTx, task: Task) => Promise<void>;
}

export type ApplyResult =
  | { ok: true; task: Task; events: TaskEvent[] }
  | { ok: false; rejection: Rejection; task: Task | null };

class LostRace extends Error {}

const MAX_ATTEMPTS = 5;

export async function applyCommand(ctx: AgentContext, input: ApplyInput): Promise<ApplyResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await ctx.store.transaction((tx) => applyInTransaction(ctx, tx, input));
      if (result.ok) {
        logTransitions(ctx, input, result.steps);
        ctx.wake(input.taskId, laneOf(result.task.state));
      }
      return result.ok ? { ok: true, task: result.task, events: result.events } : result;
    } catch (error) {
      // Another writer changed the task between our read and our write: decide again on the new state.
      if (error instanceof LostRace && attempt < MAX_ATTEMPTS) continue;
      throw error;
    }
  }
}

/** A committed event's state change (from may equal to: a verdict recorded, a payout attempt), for its log line. */
interface Step {
  from: Task['state'] | null;
  to: Task['state'];
  reason: string | null;
}

/** One INFO line per committed state change (the task, from -> to, and what caused it); after the commit only. */
function logTransitions(ctx: AgentContext, input: ApplyInput, steps: Step[]): void {
  for (const step of steps) {
    ctx.log.info(
      {
        task: input.taskId,
        from: step.from,
        to: step.to,
        cause: input.command.type,
        ...(step.reason ? { reason: step.reason } : {}),
        ...(input.cause ? { event: input.cause.event.id, author: input.cause.event.pubkey } : {}),
      },
      'transition',
    );
  }
}

async function applyInTransaction(
  ctx: AgentContext,
  tx: StoreTx,
  input: ApplyInput,
): Promise<(ApplyResult & { ok: false }) | { ok: true; task: Task; events: TaskEvent[]; steps: Step[] }> {
  const { taskId, command, cause } = input;
  // Fencing: inside a job that holds this task's lease (replicas on PostgreSQL), write only while it is still held.
  const lease = leaseFor(taskId);
  if (lease !== null && !(await tx.leases.holds(lease.name, lease.holder, lease.fence)))
    throw new LeaseLost(lease);
  const before = await tx.tasks.getForUpdate(taskId);
  const height = ctx.height();
  const decision = decide(before, command, { now: ctx.now(), height, policy: ctx.policy });
  if (!decision.ok) {
    if (cause)
      await rejectInTransaction(ctx, tx, cause, decision.rejection.code, decision.rejection.message, taskId);
    return { ok: false, rejection: decision.rejection, task: before };
  }
  let task = before;
  const transitions: Array<{ before: Task | null; after: Task; event: TaskEvent }> = [];
  for (const event of decision.events) {
    const after = evolve(task, event);
    transitions.push({ before: task, after, event });
    task = after;
  }
  if (task === null) throw new Error('applyCommand: no task after accepted events');
  const committed = before
    ? await tx.tasks.commit({
        task,
        expected: { state: before.state, version: before.version },
        events: decision.events,
      })
    : await tx.tasks.create(task, decision.events);
  if (!committed) throw new LostRace();
  if (cause) await recordInbound(tx, cause, 'handled', null);
  await input.alsoWrite?.(tx, task);

  // `offered` embeds the listing event exactly as the poster signed it.
  const offers = transitions.some(
    (step) => step.after.state === 'offered' && step.before?.state !== 'offered',
  );
  const listing = offers ? await readListing(tx, taskId) : null;
  let prev = await tx.tasks.publishedHead(taskId);
  // Each transition of a task is dated strictly after the one before (the published head), even within one
  // second: relays order replaceable views and clients pick "the latest" by created_at, and a tie can let a
  // stale state win. created_at = max(now, previous + 1).
  let previousAt = prev === null ? null : ((await tx.outbox.event(prev))?.created_at ?? null);
  for (const step of transitions) {
    const body = await describeTransition(step.before, step.after, step.event, {
      policy: ctx.policy,
      height,
      listing: () => {
        if (!listing) throw new Error('applyCommand: listing not loaded');
        return listing;
      },
      preimage: async () =>
        Buffer.from(await tx.fundings.revealPreimage(fundingOf(step.after).paymentHash)).toString('hex'),
    });
    if (body === null) continue;
    const template = buildTransition({
      ...body,
      taskId,
      prev,
      cause: cause?.event.id ?? null,
      poster: step.after.poster,
      worker: step.after.worker,
      createdAt: previousAt === null ? ctx.now() : Math.max(ctx.now(), previousAt + 1),
    } as Parameters<typeof buildTransition>[0]);
    const signed = sign(ctx, template);
    previousAt = signed.created_at;
    // A new task's offer goes in turn; every later step of a task (money held, moving, or paid) goes first, so
    // a burst of new listings never delays a settlement's public record.
    await tx.outbox.enqueue(signed, ctx.writeRelays(), taskId, body.state === 'offered' ? 1 : 0);
    await tx.tasks.setPublishedHead(taskId, signed.id);
    prev = signed.id;
    if (body.state === 'offered') {
      const funding = fundingOf(step.after);
      const prompt = buildPaymentPrompt({
        taskId,
        poster: step.after.poster,
        amountMsat: step.after.amountMsat,
        bolt11: funding.bolt11,
        expiresAt: funding.invoiceExpiresAt,
        createdAt: ctx.now(),
      });
      await tx.outbox.enqueue(sign(ctx, prompt), ctx.writeRelays(), taskId);
    }
  }

  // Reputation: a task that finished with money moved updates the assertion of everyone it counts for.
  await publishReputations(ctx, tx, before, task);

  // Private notices: gift-wrapped to each arbitrator of a dispute, or to a recipient asked for an invoice.
  for (const step of transitions) {
    for (const { recipient, notice } of noticesFor(step.before, step.after, step.event)) {
      const wrap = wrapPrivateNotice(ctx.identity.secretKey, recipient, notice);
      await tx.outbox.enqueue(wrap, ctx.writeRelays(), taskId, 0);
    }
  }

  const steps = transitions.map((step) => ({
    from: step.before?.state ?? null,
    to: step.after.state,
    reason: step.after.reason,
  }));
  return { ok: true, task, events: decision.events, steps };
}

async function readListing(tx: StoreTx, taskId: Hex32): Promise<NostrEvent> {
  const record = await tx.inbound.get(taskId);
  if (!record) throw new Error(`applyCommand: the listing ${taskId} is not in inbound_events`);
  return nostrEventSchema.parse(JSON.parse(record.raw));
}
