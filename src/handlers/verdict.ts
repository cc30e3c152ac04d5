// An arbitrator's verdict on a dispute: worker, poster or split. Who may give one, and when, is entirely the
// decider's rule.

import type { Cause } from '../engine/cause.ts';
import type { AgentContext } from '../engine/context.ts';
import type { IntakeOutcome } from '../engine/outcome.ts';
import type { ActionOf } from './action-of.ts';
import { applyAction } from './apply-action.ts';

export function handleVerdict(
  ctx: AgentContext,
  action: ActionOf<'verdict'>,
  cause: Cause,
): Promise<IntakeOutcome> {
  // The verdict keeps its event id: the transition that acts on it (or records it as a dissent) cites it.
  return applyAction(ctx, { ...action, command: { ...action.command, eventId: cause.event.id } }, cause);
}
