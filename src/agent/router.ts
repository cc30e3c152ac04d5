// Routes a verified, fresh event to the handler of what it asks for. An unknown or malformed action gets a typed
// refusal, never a throw inside the intake loop. The switch is exhaustive: a new action that has no handler does
// not compile.

import type { Cause } from '../engine/apply-command.ts';
import type { AgentContext } from '../engine/context.ts';
import { applyAction } from '../handlers/apply-action.ts';
import { handlePayoutInvoice } from '../handlers/payout-invoice.ts';
import { handlePostTask } from '../handlers/post-task.ts';
import { handleSubmit } from '../handlers/submit.ts';
import { KINDS } from '../protocol/constants.ts';
import { type ParsedAction, parseAction } from '../protocol/parse-action.ts';
import { type IntakeOutcome, refuse } from './intake.ts';

export async function routeEvent(ctx: AgentContext, cause: Cause): Promise<IntakeOutcome> {
  const { event } = cause;
  if (event.kind === KINDS.listing) return handlePostTask(ctx, cause);
  if (event.kind !== KINDS.label) {
    return {
      status: 'dropped',
      code: 'UnknownAction',
      reason: `invalid: kind ${event.kind} is not for this agent`,
    };
  }
  const parsed = parseAction(event, { agentPubkey: ctx.identity.pubkey });
  if (!parsed.ok) {
    // Events that do not tag this agent (or are its own transitions echoed back) are not ours to answer.
    if (parsed.code === 'NotForThisAgent' || event.pubkey === ctx.identity.pubkey) {
      return { status: 'dropped', code: parsed.code, reason: parsed.reason };
    }
    return refuse(ctx, cause, parsed.code, parsed.reason, taskIdOf(event.tags));
  }
  return dispatch(ctx, parsed.action, cause);
}

function dispatch(ctx: AgentContext, action: ParsedAction, cause: Cause): Promise<IntakeOutcome> {
  switch (action.name) {
    // Who may claim, approve, cancel, dispute or give a verdict, and when, is entirely the decider's rule.
    case 'claim':
    case 'approve':
    case 'cancel':
    case 'dispute':
    case 'verdict':
      return applyAction(ctx, action, cause);
    // These carry a payout invoice, checked here before the decider sees it.
    case 'submit':
      return handleSubmit(ctx, action, cause);
    case 'payout_invoice':
      return handlePayoutInvoice(ctx, action, cause);
    default:
      return assertNever(action.name);
  }
}

function assertNever(value: never): never {
  throw new Error(`router: no handler for ${String(value)}`);
}

function taskIdOf(tags: string[][]): string | null {
  const tag = tags.find((candidate) => candidate[0] === 'e' && candidate[3] === 'task');
  return tag?.[1] && /^[0-9a-f]{64}$/.test(tag[1]) ? tag[1] : null;
}
