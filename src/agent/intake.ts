// The intake pipeline. Its order is load-bearing (docs/protocol.md, "Intake"), and pinned by
// test/agent/intake.test.ts:
//   size -> shape (strict JSON, zod) -> id + signature -> durable dedupe -> rate gate -> freshness -> router.
// Dedupe comes only after verification: recording the id of a forged copy would censor the genuine event.
// Nothing that failed before verification is answered (its author could be forged); every refusal is counted.

import type { Cause } from '../engine/cause.ts';
import type { AgentContext } from '../engine/context.ts';
import type { IntakeOutcome } from '../engine/outcome.ts';
import { refuse } from '../engine/refuse.ts';
import type { IntakeReasonCode } from '../protocol/reasons.ts';
import { parseEventJson } from '../protocol/schemas.ts';
import { checkFreshness, verifyEvent } from '../protocol/verify-event.ts';
import type { RateGate } from './rate-gate.ts';
import { routeEvent } from './router.ts';

export async function intakeEvent(
  ctx: AgentContext,
  gate: RateGate,
  received: unknown,
  relay: string,
): Promise<IntakeOutcome> {
  // A fresh serialisation: nothing cached on the relay client's object (such as a "verified" flag) survives it.
  const raw = typeof received === 'string' ? received : JSON.stringify(received);
  const parsed = parseEventJson(raw);
  if (!parsed.ok) return drop(ctx, parsed.code, parsed.reason);
  const event = parsed.event;
  const verified = verifyEvent(event);
  if (!verified.ok) {
    ctx.metrics.invalidSignatures.inc({ relay });
    return drop(ctx, verified.code, verified.reason);
  }
  if (await ctx.store.read((reader) => reader.inbound.has(event.id))) {
    ctx.metrics.inboundEvents.inc({ outcome: 'duplicate' });
    return { status: 'dropped', code: 'AlreadySeen', reason: 'duplicate: already handled' };
  }
  const cause: Cause = { event, raw };
  const rate = gate.check(event.pubkey, ctx.now());
  const slowDown = 'rate-limited: too many events from this pubkey; wait a minute';
  // Answered once when the pubkey runs out, then only counted: answering a flood would amplify it.
  if (rate === 'limited') return refuse(ctx, cause, 'RateLimited', slowDown, null);
  if (rate === 'silenced') return drop(ctx, 'RateLimited', slowDown);
  const fresh = checkFreshness(event, ctx.now());
  if (!fresh.ok) return refuse(ctx, cause, fresh.code, fresh.reason, null);
  const outcome = await routeEvent(ctx, cause);
  ctx.metrics.inboundEvents.inc({ outcome: outcome.status });
  return outcome;
}

function drop(ctx: AgentContext, code: IntakeReasonCode, reason: string): IntakeOutcome {
  ctx.metrics.rejections.inc({ code });
  ctx.metrics.inboundEvents.inc({ outcome: 'dropped' });
  return { status: 'dropped', code, reason };
}
