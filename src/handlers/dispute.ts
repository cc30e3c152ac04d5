// The poster or the worker disputes a claimed or submitted task; arbitrators decide. Who may dispute, and when,
// is entirely the decider's rule.

import type { Cause } from '../engine/cause.ts';
import type { AgentContext } from '../engine/context.ts';
import type { IntakeOutcome } from '../engine/outcome.ts';
import type { ActionOf } from './action-of.ts';
import { applyAction } from './apply-action.ts';

export function handleDispute(
  ctx: AgentContext,
  action: ActionOf<'dispute'>,
  cause: Cause,
): Promise<IntakeOutcome> {
  return applyAction(ctx, action, cause);
}
