// Routes a verified, fresh event to the handler of what it asks for. The event is parsed once, here, and each
// handler gets a value narrowed to its own action. An unknown or malformed action gets a typed refusal, never a
// throw inside the intake loop: a handler that fails unexpectedly is logged and counted, and the event is dropped
// WITHOUT being recorded, so a later catch-up tries it again. The switch is exhaustive: a new action that has no
// handler does not compile.

import { isHex32 } from '../domain/hex.ts';
import type { Cause } from '../engine/cause.ts';
import type { AgentContext } from '../engine/context.ts';
import type { IntakeOutcome } from '../engine/outcome.ts';
import { refuse } from '../engine/refuse.ts';
import type { ActionCommand } from '../handlers/action-of.ts';
import { applyAction } from '../handlers/apply-action.ts';
import { handleApprove } from '../handlers/approve.ts';
import { handleCancel } from '../handlers/cancel.ts';
import { handleClaim } from '../handlers/claim.ts';
import { handleDispute } from '../handlers/dispute.ts';
import { handlePayoutInvoice } from '../handlers/payout-invoice.ts';
import { handlePostTask } from '../handlers/post-task.ts';
import { handleSubmit } from '../handlers/submit.ts';
import { handleVerdict } from '../handlers/verdict.ts';
import { ACTION_NAMES, AGENT_ONLY_LABELS, KINDS } from '../protocol/constants.ts';
import { type ParsedAction, parseAction } from '../protocol/parse-action.ts';
import { parseTaskListing } from '../protocol/parse-task-listing.ts';
import { isTransitionState } from '../protocol/parse-transition.ts';
import { readLabel } from '../protocol/read-label.ts';
import type { NostrEvent } from '../protocol/schemas.ts';

export type Screened =
  | { input: true }
  | { input: false; code: 'NotForThisAgent' | 'UnknownAction'; reason: string };

/**
 * Whether a verified event is a person's input to this agent: a listing or a label of kind 1985 that tags it and
 * is not a label only agents publish. Only input may be answered (even with "slow down"); the rest is dropped.
 * The agent's own events are dropped before this, in the intake (OwnEvent).
 */
export function screenInput(event: NostrEvent, agentPubkey: string): Screened {
  if (event.kind !== KINDS.listing && event.kind !== KINDS.label) {
    return {
      input: false,
      code: 'UnknownAction',
      reason: `invalid: kind ${event.kind} is not for this agent`,
    };
  }
  if (!event.tags.some((tag) => tag[0] === 'p' && tag[1] === agentPubkey)) {
    return { input: false, code: 'NotForThisAgent', reason: 'invalid: the event does not tag this agent' };
  }
  if (event.kind === KINDS.label) {
    const label = readLabel(event);
    if (label.ok && (isTransitionState(label.label) || AGENT_ONLY_LABELS.includes(label.label))) {
      // An agent's transition, rejection or chain heads (another escrow's, or ours re-signed by nobody): never
      // answered.
      return {
        input: false,
        code: 'UnknownAction',
        reason: `invalid: "${label.label}" labels are published by the agent only`,
      };
    }
  }
  return { input: true };
}

export async function routeEvent(ctx: AgentContext, cause: Cause): Promise<IntakeOutcome> {
  try {
    return await route(ctx, cause);
  } catch (error) {
    const { event } = cause;
    ctx.metrics.handlerFailures.inc({ kind: String(event.kind) });
    // The event id and kind only: never the event's content or anything of the agent's keys.
    ctx.log.error(
      { err: error, eventId: event.id, kind: event.kind },
      'handler failed; the event is not recorded',
    );
    return {
      status: 'dropped',
      code: 'HandlerFailed',
      reason: 'error: the agent could not handle this event; it will be tried again',
    };
  }
}

async function route(ctx: AgentContext, cause: Cause): Promise<IntakeOutcome> {
  const { event } = cause;
  // The intake drops these before the rate gate; checked again here for callers that route directly.
  if (event.pubkey === ctx.identity.pubkey) {
    return { status: 'dropped', code: 'OwnEvent', reason: "ignored: the agent's own event" };
  }
  const screened = screenInput(event, ctx.identity.pubkey);
  if (!screened.input) return { status: 'dropped', code: screened.code, reason: screened.reason };
  if (event.kind === KINDS.listing) {
    const parsed = parseTaskListing(event, { agentPubkey: ctx.identity.pubkey });
    if (!parsed.ok) {
      if (parsed.code === 'NotForThisAgent')
        return { status: 'dropped', code: parsed.code, reason: parsed.reason };
      return refuse(ctx, cause, parsed.code, parsed.reason, null);
    }
    return handlePostTask(ctx, parsed.listing, cause);
  }
  const parsed = parseAction(event, { agentPubkey: ctx.identity.pubkey });
  if (!parsed.ok) {
    // Events that do not tag this agent are not ours to answer (screenInput caught them already).
    if (parsed.code === 'NotForThisAgent')
      return { status: 'dropped', code: parsed.code, reason: parsed.reason };
    return refuse(ctx, cause, parsed.code, parsed.reason, taskIdOf(event.tags));
  }
  return dispatch(ctx, parsed.action, cause);
}

function dispatch(ctx: AgentContext, action: ParsedAction, cause: Cause): Promise<IntakeOutcome> {
  const { command } = action;
  if (!isActionCommand(command)) throw new Error(`router: "${command.type}" is not an action`);
  switch (command.type) {
    // Who may claim, approve, cancel, dispute or give a verdict, and when, is entirely the decider's rule.
    case 'claim':
      return handleClaim(ctx, { ...action, name: command.type, command }, cause);
    case 'approve':
      return handleApprove(ctx, { ...action, name: command.type, command }, cause);
    case 'cancel':
      return handleCancel(ctx, { ...action, name: command.type, command }, cause);
    case 'dispute':
      return handleDispute(ctx, { ...action, name: command.type, command }, cause);
    case 'verdict':
      return handleVerdict(ctx, { ...action, name: command.type, command }, cause);
    // These carry a payout invoice, checked before the decider sees it.
    case 'submit':
      return handleSubmit(ctx, { ...action, name: command.type, command }, cause);
    case 'payout_invoice':
      return handlePayoutInvoice(ctx, { ...action, name: command.type, command }, cause);
    // A Lightning address: syntax checked by the schema; the agent fetches and checks invoices from it later.
    case 'payout_address':
      return applyAction(ctx, { ...action, command }, cause);
    default:
      return assertNever(command);
  }
}

function isActionCommand(command: ParsedAction['command']): command is ActionCommand {
  return (ACTION_NAMES as readonly string[]).includes(command.type) || command.type === 'payout_address';
}

function assertNever(value: never): never {
  throw new Error(`router: no handler for the action ${String((value as { type?: unknown }).type)}`);
}

function taskIdOf(tags: string[][]): string | null {
  const tag = tags.find((candidate) => candidate[0] === 'e' && candidate[3] === 'task');
  return tag?.[1] && isHex32(tag[1]) ? tag[1] : null;
}
