// The poster cancels: before funding nothing is owed, after it the hold is refunded. Who may cancel, and when, is
// entirely the decider's rule.

import type { Cause } from '../engine/cause.ts';
import type { AgentContext } from '../engine/context.ts';
import type { IntakeOutcome } from '../engine/outcome.ts';
import type { ActionOf } from './action-of.ts';
import { applyAction } from './apply-action.ts';

export function handleCancel(
  ctx: AgentContext,
  action: ActionOf<'cancel'>,
  cause: Cause,
): Promise<IntakeOutcome> {
  return applyAction(ctx, action, cause);
}
