// The poster approves the submitted work: the hold settles and the worker is paid. Who may approve, and when, is
// entirely the decider's rule.

import type { Cause } from '../engine/cause.ts';
import type { AgentContext } from '../engine/context.ts';
import type { IntakeOutcome } from '../engine/outcome.ts';
import type { ActionOf } from './action-of.ts';
import { applyAction } from './apply-action.ts';

export function handleApprove(
  ctx: AgentContext,
  action: ActionOf<'approve'>,
  cause: Cause,
): Promise<IntakeOutcome> {
  return applyAction(ctx, action, cause);
}
